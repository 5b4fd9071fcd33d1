//! The otklik server as a library: open the store, assemble the rules and the HTTP edge, serve. `main.rs`
//! is the CLI over it, and the integration tests drive the same code on port 0.
//!
//! Three layers, each in its place, depending one way: `http` (the edge) → `rules` (the product) →
//! `store` (SQLite). See ARCHITECTURE.md.

pub mod clock;
mod hex;
pub mod http;
pub mod metrics;
pub mod rules;
pub mod store;
pub mod transfer;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;

pub use http::api::DEMO_ARTICLE;
pub use http::assets::{self, Assets};
pub use http::error::AppError;
pub use rules::reader::{ReaderHash, ReaderKey};
pub use rules::{accounts, keys, rate_limit};
pub use store::{DynStore, Store};

use http::{admin, client_ip, listener};
use rules::{bans, mail, outbox, webhook};

/// Everything the server needs to start, however it was given (CLI flags, environment, tests).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// A SQLite file (a path or a `sqlite:` URL) or a PostgreSQL URL (`postgres://`, `postgresql://`).
    pub database: String,
    /// Most connections to PostgreSQL this node keeps (default [`store::POOL_DEFAULT`]).
    pub database_pool: Option<u32>,
    /// The trunk output directory holding the widget bundle; empty = the copy compiled into the binary
    /// (`--features embed-assets`).
    pub assets: PathBuf,
    /// Key material for hashing reader tokens and addresses (at least [`keys::SECRET_MIN`] bytes); when
    /// absent, generated once and kept in a key file beside the database (never in it).
    pub secret: Option<String>,
    /// Origins (scheme://host:port) whose pages may call the API from the browser; empty = same origin only.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<String>,
    /// Bearer token of the editors' API (`/api/v1/admin`); without it the admin routes do not exist.
    pub admin_token: Option<String>,
    /// Where to POST event notifications (new typo reports); none are queued without it.
    pub webhook_url: Option<String>,
    /// Key for the `X-Otklik-Signature` HMAC of each webhook body.
    pub webhook_secret: Option<String>,
    /// The SMTP server reply notifications go through (`smtp://user:pass@host:587`, `smtps://host`);
    /// unset, none are offered.
    pub smtp_url: Option<String>,
    /// The sender of notifications (`otklik <comments@example.org>`); needed with `smtp_url`.
    pub mail_from: Option<String>,
    /// The address readers reach this server by, for the links in messages (default: the address it
    /// listens on, unless that is every interface).
    pub public_url: Option<String>,
    /// Rate limits: `off`, `KIND=off` or `KIND=N/PERIOD` entries (see `rate_limit`).
    pub rate_limits: Vec<String>,
    /// Most connections held open at once (default [`DEFAULT_MAX_CONNECTIONS`]); more wait to be accepted.
    pub max_connections: Option<usize>,
    /// Most live-update streams held open at once (default: half of the connections).
    pub max_streams: Option<usize>,
    /// Most connections one address (an IPv6 client: its /64) may hold open (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_IP`]); trusted proxies are exempt.
    pub max_connections_per_ip: Option<usize>,
    /// How long a connection may take to send a request's headers (default [`DEFAULT_HEADER_TIMEOUT`]).
    pub header_timeout: Option<Duration>,
    /// How long a connection may wait between requests (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Option<Duration>,
    /// How long a read may take before it is answered 503 (default [`DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Option<Duration>,
    /// Whether new comments appear at once (`post`, the default) or after approval (`pre`), for articles
    /// without a setting of their own.
    pub moderation: otklik_api::ModerationMode,
    /// Days to keep the IP hashes of comments and typo reports (default [`DEFAULT_IP_RETENTION_DAYS`]).
    pub ip_retention_days: Option<u32>,
    /// Words or phrases that hold a comment for moderation (matched case-insensitively).
    pub stop_words: Vec<String>,
    /// Seconds a comment's form must have been loaded before it is sent (default
    /// [`DEFAULT_MIN_COMPOSE_SECS`]; 0 switches the guard off, as tests and benchmarks do).
    pub min_compose_secs: Option<u32>,
    /// The time the product's rules go by: the system's, or one a test moves ahead (see `clock`).
    pub clock: clock::Clock,
}

/// Faster than anyone reads a thread and types a comment; slower than a script.
pub const DEFAULT_MIN_COMPOSE_SECS: u32 = 3;

/// How long IP hashes are kept unless configured: long enough to act on abuse, short enough to forget.
pub const DEFAULT_IP_RETENTION_DAYS: u32 = 90;

/// Connections held open at once unless configured: far above what one 2-core machine serves well, far
/// below the default file-descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;

/// Per address, far above the six connections a browser opens to one host: room for an office or a
/// mobile carrier's NAT, while one machine cannot hold the slots of everyone else.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// A request's headers arrive in one packet from any real client; a connection that trickles them (or
/// sends nothing at all) is holding a slot, not asking for a page.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longer than the 60 s a reverse proxy such as nginx keeps an idle upstream connection, so the proxy,
/// not otklik, closes it first and never sends a request into a closing connection.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// No read may hold a worker longer than this; writes are answered with their outcome instead (see
/// `http::guard`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Argon2 checks of console passwords running at once (each takes 19 MiB and tens of milliseconds of a
/// core); further sign-ins wait for a turn.
const PASSWORD_CHECKS: usize = 2;

/// What every handler can reach: the rules (and through them the store), and the edge's own settings.
/// Cheap to clone: everything inside is shared. It derefs to [`rules::Rules`], so a handler passes
/// `&state` to a rule.
#[derive(Clone)]
pub struct AppState {
    pub rules: rules::Rules,
    pub allowed_origins: Arc<[axum::http::HeaderValue]>,
    pub trusted_proxies: Arc<[client_ip::IpNet]>,
    pub assets: Arc<Assets>,
    pub admin_token: Option<admin::AdminToken>,
    pub request_timeout: Duration,
    /// Turns for Argon2 password checks: bounds the memory and CPU that sign-in attempts can take.
    pub password_checks: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for AppState {
    type Target = rules::Rules;

    fn deref(&self) -> &rules::Rules {
        &self.rules
    }
}

/// The settings that are parsed from text, as `serve` and `check` read them.
struct Configured {
    allowed_origins: Arc<[axum::http::HeaderValue]>,
    trusted_proxies: Arc<[client_ip::IpNet]>,
    limits: rate_limit::LimitSettings,
    webhook: Option<webhook::Webhook>,
}

impl Configured {
    fn parse(settings: &Settings) -> anyhow::Result<Self> {
        let allowed_origins = settings
            .allowed_origins
            .iter()
            .map(|o| axum::http::HeaderValue::from_str(o.trim_end_matches('/')))
            .collect::<Result<Arc<[_]>, _>>()
            .context("OTKLIK_ALLOWED_ORIGINS holds a value that is not a valid origin")?;
        let trusted_proxies = settings
            .trusted_proxies
            .iter()
            .map(|p| p.parse::<client_ip::IpNet>().map_err(|e| anyhow::anyhow!("OTKLIK_TRUSTED_PROXIES: {e}")))
            .collect::<Result<Arc<[_]>, _>>()?;
        let limits = rate_limit::LimitSettings::parse(&settings.rate_limits)
            .map_err(|e| anyhow::anyhow!("OTKLIK_RATE_LIMITS: {e}"))?;
        let webhook = match settings.webhook_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Some(webhook::Webhook::new(url, settings.webhook_secret.as_deref())?),
            None => None,
        };
        Ok(Self { allowed_origins, trusted_proxies, limits, webhook })
    }
}

/// An opened server: the database is migrated and the assets are loaded (they are compressed once it serves).
pub struct App {
    state: AppState,
    connections: listener::ConnectionLimits,
    ip_retention_days: u32,
    /// Where Prometheus scrapes `/metrics` (see [`App::with_metrics`]).
    metrics: Option<TcpListener>,
}

impl App {
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let store = store::open(&settings.database, settings.database_pool.unwrap_or(store::POOL_DEFAULT)).await?;
        let secret = keys::server_secret(settings.secret.as_deref(), &settings.database, &store)
            .await
            .context("loading the server secret")?;
        let assets_dir = settings.assets.clone();
        let assets = if assets_dir.as_os_str().is_empty() {
            Assets::embedded()?
        } else {
            tokio::task::spawn_blocking(move || Assets::load(&assets_dir)).await??
        };
        let Configured { allowed_origins, trusted_proxies, limits, webhook } = Configured::parse(settings)?;
        let mail = mail_settings(settings, &secret)?;
        let reader_key = Arc::new(ReaderKey::new(&secret));
        let admin_token = settings.admin_token.as_deref().filter(|t| !t.is_empty()).map(admin::AdminToken::new);
        let limits = Arc::new(rate_limit::RateLimiter::for_store(limits, &store));
        let bans = Arc::new(bans::BanList::default());
        bans.reload(&store).await.context("loading bans")?;
        let stop_words =
            settings.stop_words.iter().map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
        let max_connections = settings.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let live =
            rules::live::Live::new(store.clone(), settings.max_streams.unwrap_or(max_connections / 2), unix_now_ms());
        let connections = listener::ConnectionLimits {
            max: max_connections,
            per_address: settings.max_connections_per_ip.unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_IP),
            header_timeout: settings.header_timeout.unwrap_or(DEFAULT_HEADER_TIMEOUT),
            idle_timeout: settings.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            exempt: trusted_proxies.clone(),
        };
        Ok(Self {
            connections,
            metrics: None,
            ip_retention_days: settings.ip_retention_days.unwrap_or(DEFAULT_IP_RETENTION_DAYS),
            state: AppState {
                rules: rules::Rules {
                    store,
                    reader_key,
                    limits,
                    outbox: Arc::new(outbox::Outbox::new(webhook, mail)),
                    moderation: settings.moderation,
                    bans,
                    stop_words,
                    min_compose_secs: i64::from(settings.min_compose_secs.unwrap_or(DEFAULT_MIN_COMPOSE_SECS)),
                    clock: settings.clock.clone(),
                    live,
                },
                allowed_origins,
                trusted_proxies,
                assets: Arc::new(assets),
                admin_token,
                request_timeout: settings.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
                password_checks: Arc::new(tokio::sync::Semaphore::new(PASSWORD_CHECKS)),
            },
        })
    }

    /// What `otklik check` does: reads the configuration as `serve` would, and opens the database as it is
    /// (reachable, brought up to date by `serve`, taking writes, with the server's key where it belongs),
    /// changing nothing. Answers a line for each thing found right; the first thing wrong is the error.
    pub async fn check(settings: &Settings) -> anyhow::Result<Vec<String>> {
        Configured::parse(settings)?;
        // The key only seals and signs: any key shows whether the settings are right.
        let mail = mail_settings(settings, b"settings check")?;
        let mut found = vec!["configuration: valid".to_owned()];
        if mail.is_some() {
            found.push("mail: reply notifications on (the SMTP server is not contacted by this check)".to_owned());
        }
        let store = store::open_existing(&settings.database).await?;
        let checked = async {
            store.ping().await.context("the database does not take writes")?;
            keys::kept(settings.secret.as_deref(), &settings.database, &store).await
        }
        .await;
        store.close().await;
        let key = checked?;
        let database = store::Location::redact(&settings.database);
        found.push(format!("database: {database} answers, is up to date and takes writes"));
        found.push(format!("key: {key}"));
        Ok(found)
    }

    /// Serves `/metrics` on `listener` too (and starts counting): an address of its own, never the public
    /// listener's, so that only the operator's network reaches it.
    pub fn with_metrics(mut self, listener: TcpListener) -> Self {
        metrics::switch_on();
        self.metrics = Some(listener);
        self
    }

    pub fn router(&self) -> Router {
        http::router(self.state.clone())
    }

    pub fn store(&self) -> &DynStore {
        &self.state.store
    }

    /// The widget's files this server serves (compressed once it serves: see [`Assets::compress`]).
    pub fn assets(&self) -> Arc<Assets> {
        self.state.assets.clone()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish and flushes the store.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // The peer address feeds the client IP (see `client_ip`).
        if let Some(mail) = &self.state.outbox.mail {
            mail.listening_on(listener.local_addr()?)?;
        }
        let listener = listener::CappedListener::new(listener, self.connections.clone());
        let service = self.router().into_make_service_with_connect_info::<listener::Peer>();
        let deliveries = self.state.outbox.active().then(|| {
            tokio::spawn(outbox::run(self.state.store.clone(), self.state.outbox.clone(), self.state.clock.clone()))
        });
        let digests = self.state.outbox.mail.is_some().then(|| tokio::spawn(queue_digests(self.state.rules.clone())));
        let purge =
            tokio::spawn(forget_old(self.state.store.clone(), self.state.clock.clone(), self.ip_retention_days));
        let live = tokio::spawn(rules::live::run(self.state.rules.live.clone(), self.state.store.changes()));
        // After the listener is up, not before: a restarted node answers at once, sending the widget's files
        // uncompressed for the moment this takes.
        let assets = self.state.assets.clone();
        tokio::task::spawn_blocking(move || assets.compress());
        // Where no other node writes, nothing kept here changes behind this node's back.
        let coherent = self
            .state
            .store
            .shared()
            .then(|| tokio::spawn(follow(self.state.rules.clone(), self.state.store.changes())));
        let scrapes = self.metrics.take().map(|listener| {
            let router = http::metrics::router(self.state.clone());
            tokio::spawn(async move { axum::serve(listener, router).await })
        });
        let served = axum::serve(listener, service).with_graceful_shutdown(shutdown).await.context("serving HTTP");
        if let Some(task) = scrapes {
            task.abort();
        }
        purge.abort();
        live.abort();
        if let Some(task) = digests {
            task.abort();
        }
        if let Some(task) = coherent {
            task.abort();
        }
        // An interrupted delivery is simply made again after the restart (at least once).
        if let Some(task) = deliveries {
            task.abort();
            let _ = task.await;
            self.state.outbox.release(&self.state.store).await;
        }
        self.state.store.close().await;
        served?;
        Ok(())
    }
}

/// The reply notifications' sender, when `OTKLIK_SMTP_URL` is set (then `OTKLIK_MAIL_FROM` must be too).
fn mail_settings(settings: &Settings, secret: &[u8]) -> anyhow::Result<Option<mail::Mail>> {
    let Some(url) = settings.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    let from = settings.mail_from.as_deref().filter(|f| !f.trim().is_empty());
    let from = from.context("OTKLIK_SMTP_URL is set: OTKLIK_MAIL_FROM must name the sender of messages")?;
    Ok(Some(mail::Mail::new(url, from, settings.public_url.as_deref(), secret)?))
}

/// Keeps what this node holds in memory in step with changes other nodes make to the database.
async fn follow(rules: rules::Rules, mut changes: tokio::sync::broadcast::Receiver<store::Change>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            // Fell behind: some changes went unheard.
            Err(RecvError::Lagged(_)) => store::Change::Everything,
            Err(RecvError::Closed) => return,
        };
        if matches!(change, store::Change::Bans | store::Change::Everything)
            && let Err(err) = rules.bans.reload(&rules.store).await
        {
            tracing::warn!(error = %format!("{err:#}"), "reloading bans another node changed");
        }
        if let store::Change::Outbox | store::Change::Everything = change {
            rules.outbox.wake();
        }
    }
}

/// Queues the moderators' daily digests that are due: at start-up, hourly, and when a test moves the clock.
async fn queue_digests(rules: rules::Rules) {
    let mut moves = rules.clock.moves();
    loop {
        match rules.store.queue_digests(rules.clock.now()).await {
            Ok(0) => {}
            Ok(queued) => {
                tracing::info!(queued, "moderators' digests queued");
                rules.outbox.wake();
            }
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "queueing the moderators' digests"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3_600)) => {}
            () = moves.next() => {}
        }
    }
}

/// Forgets IP hashes older than the retention period, and e-mail addresses left unconfirmed for
/// [`store::UNCONFIRMED_KEPT_SECS`]: at start-up, then hourly and whenever the clock is moved.
async fn forget_old(store: DynStore, clock: clock::Clock, days: u32) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3_600));
    let mut moves = clock.moves();
    loop {
        tokio::select! {
            _ = hourly.tick() => {}
            () = moves.next() => {}
        }
        let before = clock.now() - i64::from(days) * 86_400;
        match store.purge_ip_hashes(before).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, days, "forgot IP hashes past the retention period"),
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "purging old IP hashes failed"),
        }
        match store.mail_forget_unconfirmed(clock.now() - store::UNCONFIRMED_KEPT_SECS).await {
            Ok(0) => {}
            Ok(addresses) => tracing::info!(addresses, "forgot e-mail addresses never confirmed"),
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "forgetting unconfirmed addresses failed"),
        }
    }
}

/// A unix time as `YYYY-MM-DD HH:MM UTC`, without a date library.
pub(crate) fn utc(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3_600, rest % 3_600 / 60)
}

/// The (year, month, day) of a count of days since 1970-01-01 (proleptic Gregorian; civil-from-days,
/// counting eras of 400 years from 0000-03-01).
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Seconds since the Unix epoch: the time unit of every stored timestamp.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Milliseconds since the Unix epoch (ids of live events; nodes share the clock through NTP).
pub(crate) fn unix_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(super::utc(1_795_660_200), "2026-11-26 02:30 UTC");
    }
}
