//! Harness for end-to-end tests: the real server (in-process, real TCP, fresh SQLite file) serving the
//! built widget from `dist/`, and a headless Chromium driven through ChromeDriver over WebDriver.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use otklik_server::{App, Settings};

/// The editors' token of every end-to-end server.
pub const ADMIN_TOKEN: &str = "e2e-editor-token";
use tempfile::TempDir;
use tokio::sync::oneshot;

/// The otklik server under test.
pub struct Server {
    pub addr: SocketAddr,
    database: String,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl Server {
    /// Starts the server on port 0 with a fresh database and the widget built by `make widget`.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// As [`Server::start`], with `tweak` adjusting the settings (allowed origins, ...).
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist");
        anyhow::ensure!(
            std::fs::read_dir(&dist)
                .is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().to_string_lossy().ends_with("_bg.wasm")))),
            "no widget build in {}: run `make widget` (make test does) first",
            dist.display()
        );
        let dir = tempfile::tempdir()?;
        let settings = Settings {
            database: dir.path().join("e2e.db").to_string_lossy().into_owned(),
            assets: dist,
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            // Fixtures seed threads from one address; the limits have their own server and widget tests.
            rate_limits: vec!["off".into()],
            // Tests type faster than people; the comments test switches the minimum on and waits.
            min_compose_secs: Some(0),
            ..Settings::default()
        };
        let mut settings = settings;
        tweak(&mut settings);
        let app = App::open(&settings).await?;
        let assets = app.assets();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        // Pages load the widget as a warm server sends it: compressed, as it is a moment after a start.
        assets.until_compressed().await;
        Ok(Self { addr, database: settings.database, _dir: dir, _stop: stop })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's database, for what the command-line tools do beside it.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Creates a moderator account as `otklik moderator add` does (a second connection to the live
    /// database), answering the generated password.
    pub async fn add_moderator(&self, name: &str) -> anyhow::Result<String> {
        let store = otklik_server::store::open_existing(&self.database).await?;
        let password = otklik_server::accounts::generate_password()?;
        let added = store.add_moderator(name, &otklik_server::accounts::hash_password(&password)?).await;
        store.close().await;
        anyhow::ensure!(added?, "moderator {name} exists already");
        Ok(password)
    }

    /// A GET of the editors' API with the admin token, decoded as JSON.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = reqwest::Client::new().get(self.url(path)).bearer_auth(ADMIN_TOKEN).send().await?;
        anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
        Ok(response.json().await?)
    }
}

/// A publisher's site on its own origin (another port): serves the given pages, each with an optional
/// Content-Security-Policy header.
pub struct Site {
    pub origin: String,
    listener: Option<tokio::net::TcpListener>,
}

impl Site {
    /// Takes a port first, so that the otklik server can be told the origin before the pages exist.
    pub async fn bind() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        Ok(Self { origin, listener: Some(listener) })
    }

    /// Serves `pages` (path, HTML, CSP) until the test ends.
    pub fn serve(&mut self, pages: Vec<(&'static str, String, Option<String>)>) {
        let mut router = axum::Router::new();
        for (path, html, csp) in pages {
            router = router.route(
                path,
                axum::routing::get(move || async move {
                    let mut headers = axum::http::HeaderMap::new();
                    headers.insert("content-type", axum::http::HeaderValue::from_static("text/html; charset=utf-8"));
                    if let Some(csp) = csp.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
                        headers.insert("content-security-policy", csp);
                    }
                    (headers, html)
                }),
            );
        }
        let listener = self.listener.take().expect("serve once");
        tokio::spawn(async move { axum::serve(listener, router).await });
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

/// ChromeDriver (from `$CHROMEDRIVER`, default `/usr/bin/chromedriver`) and a headless Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_as(serde_json::json!({})).await
    }

    /// A phone: a viewport `width` CSS pixels wide with touch input (`pointer: coarse`), as Chromium's device
    /// emulation gives it.
    pub async fn phone(width: u32) -> anyhow::Result<Self> {
        Self::start_as(Self::phone_options(width)).await
    }

    fn phone_options(width: u32) -> serde_json::Value {
        let metrics = serde_json::json!({ "width": width, "height": 780, "pixelRatio": 2.0, "touch": true });
        serde_json::json!({ "mobileEmulation": { "deviceMetrics": metrics } })
    }

    /// A phone on a slow network with a slow processor, as Lighthouse's mobile runs throttle: 4× CPU
    /// slowdown, 562.5 ms added to each request, 1.47 Mbit/s down and 675 kbit/s up.
    /// Its DevTools network events are kept, for [`Browser::network_log`].
    pub async fn phone_throttled(width: u32) -> anyhow::Result<Self> {
        let mut options = Self::phone_options(width);
        options["perfLoggingPrefs"] = serde_json::json!({ "enableNetwork": true, "enablePage": false });
        let browser = Self::start_logging(options).await?;
        browser.cdp("Network.enable", serde_json::json!({})).await?;
        let network = serde_json::json!({
            "offline": false,
            "latency": 562.5,
            "downloadThroughput": 1_474.56 * 1024.0 / 8.0,
            "uploadThroughput": 675.0 * 1024.0 / 8.0,
        });
        browser.cdp("Network.emulateNetworkConditions", network).await?;
        browser.cdp("Emulation.setCPUThrottlingRate", serde_json::json!({ "rate": 4 })).await?;
        Ok(browser)
    }

    /// Sends a Chrome DevTools Protocol command to the page, through ChromeDriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let command = Cdp(serde_json::json!({ "cmd": cmd, "params": params }));
        self.client.issue_cmd(command).await.with_context(|| format!("CDP {cmd}"))
    }

    /// The DevTools events logged since the last call (`Network.requestWillBeSent` and the like), as
    /// `{"method", "params"}` objects.
    pub async fn network_log(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let entries = self.client.issue_cmd(PerformanceLog).await.context("reading the performance log")?;
        let entries: Vec<serde_json::Value> = serde_json::from_value(entries)?;
        Ok(entries
            .iter()
            .filter_map(|e| e["message"].as_str())
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(m).ok())
            .map(|m| m["message"].clone())
            .collect())
    }

    /// A desktop browser whose DevTools network events are kept, for [`Browser::network_log`].
    pub async fn with_network_log() -> anyhow::Result<Self> {
        Self::start_logging(serde_json::json!({ "perfLoggingPrefs": { "enableNetwork": true, "enablePage": false } }))
            .await
    }

    async fn start_logging(options: serde_json::Value) -> anyhow::Result<Self> {
        Self::start_with_caps(options, serde_json::json!({ "goog:loggingPrefs": { "performance": "ALL" } })).await
    }

    /// Starts a browser whose `goog:chromeOptions` also hold `options`.
    async fn start_as(options: serde_json::Value) -> anyhow::Result<Self> {
        Self::start_with_caps(options, serde_json::json!({})).await
    }

    /// As [`Browser::start_as`], with `extra` capabilities beside the Chrome options.
    async fn start_with_caps(options: serde_json::Value, extra: serde_json::Value) -> anyhow::Result<Self> {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let profile = tempfile::tempdir()?;
        // Chromium's lock sockets go to $TMPDIR; inside the profile they go when it does, even after a kill.
        let mut driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .env("TMPDIR", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {driver_bin} (install chromium-driver, or set CHROMEDRIVER)"))?;
        let mut chrome = serde_json::json!({
            "binary": std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if let (Some(chrome), serde_json::Value::Object(extra)) = (chrome.as_object_mut(), options) {
            chrome.extend(extra);
        }
        let mut caps = serde_json::json!({ "browserName": "chrome", "goog:chromeOptions": chrome });
        if let (Some(caps), serde_json::Value::Object(extra)) = (caps.as_object_mut(), extra) {
            caps.extend(extra);
        }
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("built as an object"),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => {
                    let _ = driver.kill();
                    return Err(anyhow::anyhow!("could not start a browser session: {e}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self { client, driver, _profile: profile })
    }

    /// Ends the session and the driver.
    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// The element matching `css` inside the widget's shadow root in `[data-otklik-article]` host `host_css`.
    pub async fn in_widget(&self, host_css: &str, css: &str) -> anyhow::Result<Element> {
        let host = self.client.find(Locator::Css(host_css)).await?;
        Ok(host.shadow_root().await?.find(Locator::Css(css)).await?)
    }

    /// The texts of the comments shown by the widget in host `host_css`, in order.
    pub async fn comment_texts(&self, host_css: &str) -> anyhow::Result<Vec<String>> {
        let root = self.client.find(Locator::Css(host_css)).await?.shadow_root().await?;
        let mut out = Vec::new();
        for item in root.find_all(Locator::Css(".otk-comment .otk-text")).await? {
            out.push(item.text().await?);
        }
        Ok(out)
    }

    /// Presses Ctrl+Enter as a person would: real key events through WebDriver, sent to whatever has focus.
    pub async fn ctrl_enter(&self) -> anyhow::Result<()> {
        use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let (ctrl, enter): (char, char) = (Key::Control.into(), Key::Enter.into());
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: ctrl })
            .then(KeyAction::Down { value: enter })
            .then(KeyAction::Up { value: enter })
            .then(KeyAction::Up { value: ctrl });
        self.client.perform_actions(keys).await?;
        Ok(())
    }

    /// Selects the first occurrence of `word` in the page's `<article>`, as a reader's drag would.
    pub async fn select_in_article(&self, word: &str) -> anyhow::Result<()> {
        let found = self
            .client
            .execute(
                concat!(
                    "const root = document.querySelector('article'); const word = arguments[0];\n",
                    include_str!("../../tests/select-word.js")
                ),
                vec![serde_json::Value::from(word)],
            )
            .await?;
        anyhow::ensure!(found == serde_json::Value::Bool(true), "`{word}` is not in the article");
        Ok(())
    }

    /// Polls `check` until it yields `Some`, or fails after 10 s saying what was awaited.
    pub async fn until<T, F, Fut>(&self, what: &str, check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        self.until_within(what, Duration::from_secs(10), check).await
    }

    /// As [`Browser::until`], waiting up to `limit` (throttled pages take longer).
    pub async fn until_within<T, F, Fut>(&self, what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = Instant::now() + limit;
        let mut last_err = None;
        loop {
            match check().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last_err = Some(e),
            }
            if Instant::now() > deadline {
                return Err(anyhow::anyhow!("timed out waiting for {what} (last error: {last_err:?})"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Runs `test` against a fresh server and browser, always ending the browser session afterwards.
pub async fn with_server_and_browser(
    test: impl AsyncFnOnce(&Server, &Browser) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    with_configured_server_and_browser(|_| {}, test).await
}

/// As [`with_server_and_browser`], with `tweak` adjusting the server's settings.
pub async fn with_configured_server_and_browser(
    tweak: impl FnOnce(&mut Settings),
    test: impl AsyncFnOnce(&Server, &Browser) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let server = Server::start_with(tweak).await?;
    let browser = Browser::start().await?;
    let result = test(&server, &browser).await;
    browser.stop().await;
    result
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// ChromeDriver's endpoint for DevTools commands (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// ChromeDriver's log endpoint, for the performance log (`POST /session/{id}/se/log`).
#[derive(Debug)]
struct PerformanceLog;

impl fantoccini::wd::WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"performance"}"#.to_owned()))
    }
}
