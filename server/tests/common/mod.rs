//! Test harness: the real app on an ephemeral port with a fresh database, and a reqwest client.
//!
//! The database is a SQLite file in the test's directory, or, when `OTKLIK_TEST_POSTGRES` names a
//! PostgreSQL server (`scripts/with-postgres.sh` starts a throwaway one), a new database on it.

#![allow(dead_code)]

pub mod console;
pub mod node;
pub mod site;
pub mod smtp;
pub mod sse;
pub mod webhook;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        Self::serve(dir, App::open(&settings).await.expect("app opens")).await
    }

    /// Serves an app opened (and set up) by the test.
    pub async fn serve(dir: TempDir, app: App) -> Self {
        // The server's warnings and errors go to the test's captured output, shown when the test fails.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        let assets = app.assets();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = stopped.await;
        }));
        // The widget's files are compressed once the server answers; tests meet it after that moment.
        assets.until_compressed().await;
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

/// Whether this run's tests use PostgreSQL (`OTKLIK_TEST_POSTGRES`) rather than SQLite.
pub fn on_postgres() -> bool {
    std::env::var_os("OTKLIK_TEST_POSTGRES").is_some_and(|v| !v.is_empty())
}

/// The database of a test directory: its SQLite file, or on PostgreSQL a database made for it on first
/// use and named in the directory, so that a server reopened on the directory finds the same data.
pub fn database_in(dir: &Path) -> String {
    let Some(server) = std::env::var("OTKLIK_TEST_POSTGRES").ok().filter(|v| !v.is_empty()) else {
        return dir.join("otklik.db").to_string_lossy().into_owned();
    };
    let named = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&named) {
        return url;
    }
    let name = format!("t_{:016x}", u64::from_le_bytes(rand_bytes()));
    // Called from inside the tests' runtime, which cannot be blocked on: a thread of its own does the work.
    let created = std::thread::spawn({
        let (server, name) = (server.clone(), name.clone());
        move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&server).await?;
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
                conn.close().await?;
                anyhow::Ok(())
            })
        }
    })
    .join()
    .expect("the thread creating a database");
    created.expect("creating a test database on PostgreSQL");
    let url = match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("OTKLIK_TEST_POSTGRES is not a URL: {server}"),
    };
    std::fs::write(&named, &url).expect("naming the test database");
    url
}

fn rand_bytes() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
}

/// The test server's database, for the few tests that set up a state no request can make.
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    pub async fn of(s: &TestServer) -> Self {
        let database = database_in(s.dir.path());
        if on_postgres() {
            Self::Postgres(sqlx::PgPool::connect(&database).await.unwrap())
        } else {
            Self::Sqlite(sqlx::SqlitePool::connect(&format!("sqlite:{database}")).await.unwrap())
        }
    }

    /// Runs one statement written with `$1`, `$2`… parameters (SQLite reads them as `?1`, `?2`…).
    pub async fn execute(&self, sql: &str, params: &[i64]) {
        match self {
            Self::Sqlite(pool) => {
                let sql = sql.replace('$', "?");
                let mut query = sqlx::query(&sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(pool).await.unwrap();
            }
            Self::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(pool).await.unwrap();
            }
        }
    }

    /// The rows of a query without parameters, as `T` (columns of types both backends share).
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        match self {
            Self::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
            Self::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Waits for a condition on state another task or process changes, failing after `within` (a guard, not
/// a wait: the condition is asked again as soon as a short breath allows).
pub async fn until<F: std::future::Future<Output = bool>>(what: &str, within: Duration, mut done: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn settings_in(dir: &Path) -> Settings {
    Settings {
        database: database_in(dir),
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
