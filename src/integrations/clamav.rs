//! A client of ClamAV's daemon, clamd, over its socket (TCP or unix).
//!
//! Two commands of clamd's protocol are used, in their NUL-terminated form
//! (`z` prefix), one per connection:
//! - `zPING\0` → `PONG\0`: is the daemon there (readiness, tests);
//! - `zINSTREAM\0`, then the file as chunks each preceded by its length
//!   (4 bytes, big-endian) and a zero-length chunk to end →
//!   `stream: OK\0` or `stream: <signature> FOUND\0` (or `... ERROR\0`).
//!
//! The whole exchange is bounded by a timeout: a daemon that hangs is
//! treated like one that is down, and the worker retries later.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Size of the INSTREAM chunks sent to clamd (well under its
/// `StreamMaxLength`, which bounds the whole file, not a chunk).
const CHUNK: usize = 64 * 1024;
/// Longest answer clamd gives (a signature name is short).
const MAX_REPLY: usize = 4096;

/// Where clamd listens, a setting: defined with the configuration, which
/// sits below the integrations.
pub use crate::config::ClamdAddress;

/// What clamd said of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The name of the signature that matched.
    Infected(String),
}

/// Why there is no verdict: all of them mean "try again later".
#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    #[error("clamd injoignable ({address}) : {source}")]
    Unreachable {
        address: String,
        source: std::io::Error,
    },
    #[error("clamd n'a pas répondu en {0:?}")]
    Timeout(Duration),
    #[error("réponse inattendue de clamd : {0}")]
    Protocol(String),
    /// clamd answered with an error (size limit, read error, ...).
    #[error("erreur de clamd : {0}")]
    Scan(String),
}

/// A clamd at one address, with a timeout per command.
#[derive(Debug, Clone)]
pub struct Clamd {
    pub address: ClamdAddress,
    pub timeout: Duration,
}

impl Clamd {
    pub fn new(address: ClamdAddress, timeout: Duration) -> Self {
        Self { address, timeout }
    }

    /// True when clamd answers `PONG`.
    pub async fn ping(&self) -> Result<(), ClamdError> {
        let reply = self.exchange(Command::Ping).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ClamdError::Protocol(reply))
        }
    }

    /// Scans a file's content with INSTREAM.
    pub async fn scan(&self, content: &[u8]) -> Result<Verdict, ClamdError> {
        let reply = self.exchange(Command::Instream(content)).await?;
        parse_reply(&reply)
    }

    /// Connects, runs one command, returns clamd's answer without its NUL;
    /// all within the timeout.
    async fn exchange(&self, command: Command<'_>) -> Result<String, ClamdError> {
        let unreachable = |source| ClamdError::Unreachable {
            address: self.address.to_string(),
            source,
        };
        let work = async {
            match &self.address {
                ClamdAddress::Tcp(host_port) => {
                    let stream = tokio::net::TcpStream::connect(host_port.as_str())
                        .await
                        .map_err(unreachable)?;
                    run(stream, command).await.map_err(unreachable)
                }
                ClamdAddress::Unix(path) => {
                    let stream = tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(unreachable)?;
                    run(stream, command).await.map_err(unreachable)
                }
            }
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ClamdError::Timeout(self.timeout))?
    }
}

/// The commands this client sends.
enum Command<'a> {
    Ping,
    Instream(&'a [u8]),
}

async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    command: Command<'_>,
) -> std::io::Result<String> {
    let content = match command {
        Command::Ping => {
            stream.write_all(b"zPING\0").await?;
            return read_reply(&mut stream).await;
        }
        Command::Instream(content) => content,
    };
    stream.write_all(b"zINSTREAM\0").await?;
    for chunk in content.chunks(CHUNK) {
        // A chunk is at most CHUNK bytes, so its length fits in u32.
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        stream.write_all(&len.to_be_bytes()).await?;
        if let Err(e) = stream.write_all(chunk).await {
            // clamd closes the connection when the stream exceeds its
            // StreamMaxLength, after saying so: read that answer if any.
            return match read_reply(&mut stream).await {
                Ok(reply) if !reply.is_empty() => Ok(reply),
                _ => Err(e),
            };
        }
    }
    stream.write_all(&0u32.to_be_bytes()).await?;
    stream.flush().await?;
    read_reply(&mut stream).await
}

/// Reads up to the terminating NUL (or the end of the connection).
async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<String> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(end) = reply.iter().position(|b| *b == 0) {
            reply.truncate(end);
            break;
        }
        if reply.len() > MAX_REPLY {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&reply).trim().to_owned())
}

/// `stream: OK`, `stream: Eicar-Signature FOUND`, `... ERROR`.
pub fn parse_reply(reply: &str) -> Result<Verdict, ClamdError> {
    let body = reply.strip_prefix("stream:").unwrap_or(reply).trim();
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(signature) = body.strip_suffix(" FOUND") {
        Ok(Verdict::Infected(signature.trim().to_owned()))
    } else if body.ends_with("ERROR") {
        Err(ClamdError::Scan(body.to_owned()))
    } else {
        Err(ClamdError::Protocol(reply.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_tcp_or_unix() {
        assert_eq!(
            "tcp://127.0.0.1:3310".parse::<ClamdAddress>(),
            Ok(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            "tcp://clamav.internal:3310/".parse::<ClamdAddress>(),
            Ok(ClamdAddress::Tcp("clamav.internal:3310".into()))
        );
        assert_eq!(
            "unix:///run/clamav/clamd.ctl".parse::<ClamdAddress>(),
            Ok(ClamdAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert!("127.0.0.1:3310".parse::<ClamdAddress>().is_err());
        assert!("tcp://127.0.0.1".parse::<ClamdAddress>().is_err());
        assert!("unix://relative.sock".parse::<ClamdAddress>().is_err());
        assert_eq!(
            ClamdAddress::Tcp("127.0.0.1:3311".into()).to_string(),
            "tcp://127.0.0.1:3311"
        );
    }

    #[test]
    fn replies_become_verdicts() {
        assert_eq!(parse_reply("stream: OK").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_reply("stream: Histologe.Test.EICAR.UNOFFICIAL FOUND").unwrap(),
            Verdict::Infected("Histologe.Test.EICAR.UNOFFICIAL".into())
        );
        assert!(matches!(
            parse_reply("INSTREAM size limit exceeded. ERROR"),
            Err(ClamdError::Scan(_))
        ));
        assert!(matches!(parse_reply(""), Err(ClamdError::Protocol(_))));
    }

    /// A fake clamd on a unix socket that checks the INSTREAM framing.
    #[tokio::test]
    async fn instream_sends_the_file_in_framed_chunks_over_a_unix_socket() {
        let dir = std::env::temp_dir().join(format!("clamd-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clamd.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut command = [0u8; 10];
            socket.read_exact(&mut command).await.unwrap();
            assert_eq!(&command, b"zINSTREAM\0");
            let (mut chunks, mut received) = (0, Vec::new());
            loop {
                let mut len = [0u8; 4];
                socket.read_exact(&mut len).await.unwrap();
                let len = u32::from_be_bytes(len) as usize;
                if len == 0 {
                    break;
                }
                assert!(len <= CHUNK);
                let mut chunk = vec![0u8; len];
                socket.read_exact(&mut chunk).await.unwrap();
                received.extend(chunk);
                chunks += 1;
            }
            socket
                .write_all(b"stream: Fake.Signature FOUND\0")
                .await
                .unwrap();
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut command = [0u8; 6];
            socket.read_exact(&mut command).await.unwrap();
            assert_eq!(&command, b"zPING\0");
            socket.write_all(b"PONG\0").await.unwrap();
            (chunks, received)
        });
        let clamd = Clamd::new(ClamdAddress::Unix(path), Duration::from_secs(5));
        let content: Vec<u8> = (0..150 * 1024).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            clamd.scan(&content).await.unwrap(),
            Verdict::Infected("Fake.Signature".into())
        );
        clamd.ping().await.unwrap();
        let (chunks, received) = server.await.unwrap();
        assert_eq!(chunks, 3, "150 KiB in 64 KiB chunks");
        assert_eq!(received, content);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_not_clean() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let clamd = Clamd::new(
            ClamdAddress::Tcp(format!("127.0.0.1:{port}")),
            Duration::from_secs(2),
        );
        assert!(matches!(
            clamd.scan(b"hello").await,
            Err(ClamdError::Unreachable { .. })
        ));
    }

    #[tokio::test]
    async fn a_silent_daemon_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            // Accepts and never answers.
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        let clamd = Clamd::new(
            ClamdAddress::Tcp(address.to_string()),
            Duration::from_millis(200),
        );
        assert!(matches!(clamd.ping().await, Err(ClamdError::Timeout(_))));
        server.abort();
    }
}
