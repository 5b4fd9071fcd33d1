//! Test harness: the real app on an ephemeral port with a fresh SQLite file, and a reqwest client.

#![allow(dead_code)]

pub mod console;
pub mod webhook;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use otklik_server::{App, Settings};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The editors' bearer token tests configure (`settings.admin_token`) and [`TestServer::admin`] sends.
pub const EDITOR_TOKEN: &str = "editor-token-for-tests";

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a fresh database; `tweak` may adjust the settings (assets, origins, ...).
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = settings_in(dir.path());
        tweak(&mut settings);
        Self::start_in(dir, settings).await
    }

    pub async fn start_in(dir: TempDir, settings: Settings) -> Self {
        let app = App::open(&settings).await.expect("app opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        Self { addr, client: reqwest::Client::new(), dir, stop: Some(stop), task: Some(task) }
    }

    /// Shuts the server down gracefully and hands back its directory, so it can be reopened.
    pub async fn stop(mut self) -> TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.expect("server task").expect("server stops cleanly");
        tempfile::tempdir().map(|spare| std::mem::replace(&mut self.dir, spare)).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A call to the editors' API at `/api/v1/admin{path}` with [`EDITOR_TOKEN`] and an optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: impl std::fmt::Display,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(&format!("/api/v1/admin{path}"))).bearer_auth(EDITOR_TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    pub fn reactions(&self, article: &str) -> String {
        self.url(&format!("/api/v1/articles/{article}/reactions"))
    }

    pub fn mine(&self, article: &str) -> String {
        self.url(&format!("/api/v1/articles/{article}/reactions/mine"))
    }
}

pub fn settings_in(dir: &Path) -> Settings {
    Settings {
        database: dir.join("otklik.db").to_string_lossy().into_owned(),
        assets: PathBuf::from(dir).join("no-assets"),
        // One address writing as many readers is what most tests do; tests of the limits set their own.
        rate_limits: vec!["off".into()],
        // Likewise the minimum compose time: its own test switches it on.
        min_compose_secs: Some(0),
        ..Settings::default()
    }
}

/// A reader token, distinct per `n`, in the canonical base64url form.
pub fn reader(n: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[8] = 0x5a;
    otklik_api::ReaderToken::from_bytes(bytes).encode()
}
