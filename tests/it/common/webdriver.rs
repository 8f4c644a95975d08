//! A small WebDriver client for browser tests: Debian's chromium driven by
//! chromedriver (both installed by `scripts/test.sh`). The protocol is plain
//! JSON over HTTP, so a few calls through reqwest are all we need.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub struct Browser {
    driver: DriverProcess,
    endpoint: String,
    session: String,
    http: reqwest::Client,
    profile: super::tempdir::TempDir,
}

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver and a headless Chromium session (phone-sized when
    /// `mobile`).
    pub async fn start(width: u32, height: u32) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Owned from here on: whatever panics below, the driver and its
        // browser are killed when this goes out of scope.
        let driver = DriverProcess(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "chromedriver is missing: scripts/test.sh installs chromium and chromium-driver",
                ),
        );
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = http.get(format!("{endpoint}/status")).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = super::tempdir::TempDir::new("histologe-chromium");
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("/usr/bin/chromium");
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-quic",
                        format!("--window-size={width},{height}"),
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}
        });
        let response: Value = http
            .post(format!("{endpoint}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {response}"))
            .to_owned();
        Self {
            driver,
            endpoint,
            session,
            http,
            profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.endpoint, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("json");
        if let Some(error) = response["value"].get("error") {
            panic!(
                "WebDriver error on {path}: {error} {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (polling, 10 s at most) until the page's URL ends with
    /// `suffix`, e.g. after a click that submits a form; returns the URL.
    pub async fn wait_for_url(&self, suffix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.current_url().await;
            if url.ends_with(suffix) || Instant::now() > deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (polling, 10 s at most) until the page's URL contains
    /// `needle` (a query parameter after a GET form); returns the URL.
    pub async fn wait_for_url_containing(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.current_url().await;
            if url.contains(needle) || Instant::now() > deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (polling, 10 s at most) until the element's text contains
    /// `needle`; returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The page may be reloading: a missing or stale element is
            // retried, not an error.
            let text = self.try_text_of(css).await.unwrap_or_default();
            if text.to_lowercase().contains(&needle.to_lowercase()) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element matching a CSS selector; panics if there is none.
    pub async fn find(&self, css: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_owned()
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The element's text, or `None` when it is missing or stale.
    pub async fn try_text_of(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.endpoint, self.session);
        let found: Value = self
            .http
            .post(url)
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let element = found["value"][ELEMENT_KEY].as_str()?.to_owned();
        let url = format!(
            "{}/session/{}/element/{element}/text",
            self.endpoint, self.session
        );
        let text: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
        text["value"].as_str().map(str::to_owned)
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        use base64_decode::decode;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = decode(data.as_str().expect("base64 screenshot"));
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the WebDriver session, then the driver and its browser.
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.endpoint, self.session))
            .send()
            .await;
        // `DriverProcess::drop` kills what is left.
    }

    /// The chromedriver process and every process it started (Chromium and
    /// its helpers), for the test that checks nothing outlives a browser.
    pub fn processes(&self) -> Vec<u32> {
        let root = self.driver.0.id();
        let mut all = vec![root];
        all.extend(descendants(root));
        all
    }
}

/// The chromedriver child process. Killing chromedriver alone would leave
/// its Chromium processes running (orphans hold hundreds of MB), so `Drop`,
/// which also runs while a failing test unwinds, kills the whole tree:
/// descendants first, found through `/proc` while they are still children.
struct DriverProcess(Child);

impl Drop for DriverProcess {
    fn drop(&mut self) {
        for pid in descendants(self.0.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The processes below `root`, read from `/proc/<pid>/stat` (parent id).
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    // "pid (name) state ppid ...": the name may hold spaces.
                    let after = &stat[stat.rfind(')')? + 2..];
                    let ppid = after.split(' ').nth(1)?.parse().ok()?;
                    Some((pid, ppid))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, _) in parents.iter().filter(|(_, ppid)| *ppid == parent) {
            found.push(*pid);
            frontier.push(*pid);
        }
    }
    found
}

/// Whether the process still runs (a zombie waiting to be reaped does not).
pub fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat[stat.rfind(')')? + 2..].to_owned();
            after.chars().next()
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

mod base64_decode {
    //! Standard base64 decoding (screenshots), without another dependency.
    pub fn decode(input: &str) -> Vec<u8> {
        let mut table = [255u8; 256];
        for (i, c) in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            .iter()
            .enumerate()
        {
            table[*c as usize] = i as u8;
        }
        let mut out = Vec::with_capacity(input.len() * 3 / 4);
        let mut buffer = 0u32;
        let mut bits = 0;
        for byte in input.bytes() {
            let value = table[byte as usize];
            if value == 255 {
                continue;
            }
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
            }
        }
        out
    }
}
