//! Headless Chromium for the browser tests, driven over WebDriver: each test starts Debian's
//! `chromedriver` on a free loopback port, opens sessions with JavaScript on or off at a given
//! viewport width, and stops chromedriver and its browsers when the driver is dropped.
//!
//! Chromium and ChromeDriver are found at `CHROMIUM` / `CHROMEDRIVER`, else on `PATH` (Debian:
//! `apt-get install chromium chromium-driver`). When they are missing the tests fail with a
//! message saying so: they never pass silently without a browser.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use super::process::free_port;

/// A running chromedriver, stopped with every browser it started when dropped.
pub struct Driver {
    child: Child,
    url: String,
    profiles: tempfile::TempDir,
    chromium: PathBuf,
    sessions: usize,
}

/// How a browser session looks at the pages.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub javascript: bool,
    /// Viewport width in CSS pixels; narrow widths emulate a phone.
    pub width: u32,
}

impl Options {
    pub const DESKTOP: Options = Options {
        javascript: true,
        width: 1280,
    };
    pub const DESKTOP_NO_JS: Options = Options {
        javascript: false,
        width: 1280,
    };
    pub const PHONE: Options = Options {
        javascript: true,
        width: 375,
    };
}

fn find_program(variable: &str, name: &str) -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os(variable) {
        Some(path) => vec![PathBuf::from(path)],
        None => std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .collect()
            })
            .unwrap_or_default(),
    };
    candidates
        .into_iter()
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the browser tests need Chromium and ChromeDriver, and `{name}` was not found \
                 (set {variable} or put it on PATH; on Debian: `apt-get install chromium \
                 chromium-driver`). `scripts/test rust` runs every other test."
            )
        })
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        let chromium = find_program("CHROMIUM", "chromium");
        let chromedriver = find_program("CHROMEDRIVER", "chromedriver");
        let port = free_port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the driver also ends the browsers it started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().expect("temp dir for browser profiles"),
            chromium,
            sessions: 0,
        }
    }

    /// A new browser with a fresh profile.
    pub async fn session(&mut self, options: Options) -> Browser {
        self.sessions += 1;
        let profile = self
            .profiles
            .path()
            .join(format!("profile-{}", self.sessions));
        let mut chrome = json!({
            "binary": self.chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--lang=en-US",
                format!("--window-size={},900", options.width.max(500)),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "intl.accept_languages": "en-US",
                // 2 = blocked: the same setting as a person switching JavaScript off.
                "profile.managed_default_content_settings.javascript":
                    if options.javascript { 1 } else { 2 },
            },
        });
        if options.width < 500 {
            // Desktop windows cannot be narrower than 500 px; phones are emulated.
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": {"width": options.width, "height": 812, "pixelRatio": 1, "mobile": true}
            });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session");
        Browser { client, options }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    pub client: Client,
    pub options: Options,
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding {css}: {e}"))
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// The value of a form field as the browser holds it.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// The path and query of the current page.
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Clicks and waits for the page it leads to.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Types into a text field, replacing what was there.
    pub async fn type_text(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("typing");
    }

    /// Types a `YYYY-MM-DD` date into a date field the way a person does with the keyboard:
    /// month, day and year digits in the en-US field order the session uses.
    pub async fn type_date(&self, css: &str, date: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field
            .send_keys(&date_keys(date))
            .await
            .expect("typing a date");
    }

    /// Runs a script in the page (WebDriver's execute, which the page's CSP does not restrict
    /// and which works with the page's JavaScript switched off).
    pub async fn script(&self, body: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(body, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{body}"))
    }

    /// Saves a PNG of the whole page (beyond the viewport) to `path`.
    pub async fn full_page_screenshot(&self, path: &Path) {
        let answer = self
            .client
            .issue_cmd(Cdp {
                cmd: "Page.captureScreenshot",
                params: json!({"format": "png", "captureBeyondViewport": true}),
            })
            .await
            .expect("screenshot");
        let data = answer["data"].as_str().expect("PNG data");
        let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    pub async fn close(self) {
        self.client.close().await.expect("session closed");
    }
}

/// The keys that type `YYYY-MM-DD` into an en-US date field: `MMDDYYYY`.
fn date_keys(date: &str) -> String {
    let (year, rest) = date.split_at(4);
    format!("{}{}{year}", &rest[1..3], &rest[4..6])
}

/// A Chrome DevTools command through chromedriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, url_parse::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// `url::ParseError`, reached through reqwest, which re-exports the `url` crate's types.
mod url_parse {
    pub type ParseError = <reqwest::Url as std::str::FromStr>::Err;
}

/// Where the test run leaves its screenshots: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target directory")
        .join("screenshots")
}
