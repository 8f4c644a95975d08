//! Private MariaDB and Redis servers for the tests that stop and restart a
//! component (the shared ones must stay up for the other tests).

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::tempdir::TempDir;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not become ready in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn me() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A MariaDB server of its own, on a random loopback port.
pub struct PrivateMariaDb {
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateMariaDb {
    pub fn start() -> Self {
        let dir = TempDir::new("histologe-mariadb");
        let status = Command::new("mariadb-install-db")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .arg(format!("--user={}", me()))
            .arg("--auth-root-authentication-method=socket")
            .arg("--skip-test-db")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db (install mariadb-server: scripts/services.sh start)");
        assert!(status.success(), "mariadb-install-db failed");
        let mut server = Self {
            dir,
            port: free_port(),
            child: None,
        };
        server.resume();
        let sql = "CREATE USER 'histologe'@'127.0.0.1' IDENTIFIED BY 'histologe'; \
                   GRANT ALL PRIVILEGES ON *.* TO 'histologe'@'127.0.0.1'; \
                   CREATE DATABASE histologe CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;";
        let status = Command::new("mariadb")
            .arg(format!("--socket={}", server.socket().display()))
            .arg(format!("-u{}", me()))
            .arg("-e")
            .arg(sql)
            .status()
            .expect("mariadb client");
        assert!(status.success(), "creating the test user failed");
        server
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }

    pub fn admin_url(&self) -> String {
        format!("mysql://histologe:histologe@127.0.0.1:{}", self.port)
    }

    fn answers(&self) -> bool {
        Command::new("mariadb-admin")
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("-u{}", me()))
            .arg("ping")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts the server (again) on the same port and data.
    pub fn resume(&mut self) {
        let bin = which("mariadbd").unwrap_or_else(|| "/usr/sbin/mariadbd".into());
        let child = Command::new(bin)
            .arg("--no-defaults")
            .arg(format!(
                "--datadir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--user={}", me()))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.path().join("error.log").display()
            ))
            .arg("--skip-name-resolve")
            .arg("--innodb-buffer-pool-size=32M")
            .arg("--innodb-flush-log-at-trx-commit=2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        self.child = Some(child);
        wait_until("private MariaDB", || self.answers());
    }

    /// Stops the server cleanly and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Redis server of its own, on a random loopback port.
pub struct PrivateRedis {
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let mut server = Self {
            dir: TempDir::new("histologe-redis"),
            port: free_port(),
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let port = self.port;
        wait_until("private Redis", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn which(name: &str) -> Option<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!path.is_empty()).then_some(path)
}
