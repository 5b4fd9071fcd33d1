//! `otklik`: the command-line entry point of the server.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use otklik_server::{App, Settings, accounts};
use tracing_subscriber::EnvFilter;

/// otklik: reactions, comments and typo reports under news articles.
///
/// One binary serves the JSON API (/api/v1), the embeddable widget (/embed.js and /assets/), a demo article (/)
/// and a health check (/healthz). Data lives in SQLite. Logging follows RUST_LOG (default: info).
#[derive(Parser, Debug)]
#[command(name = "otklik", version, propagate_version = true)]
struct Cli {
    /// `text` for people, `json` for one JSON object per line (for a log collector).
    #[arg(long, global = true, env = "OTKLIK_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Checks what `serve` would start with, changing nothing: the configuration (the same flags and
    /// environment), and the database: reachable, brought up to date, taking writes, its key in place.
    /// Exits non-zero saying what is wrong.
    Check(Box<ServeArgs>),
    /// Manage the moderators who sign in to the console at /admin.
    Moderator {
        #[command(subcommand)]
        action: ModeratorAction,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Copy a whole site from a SQLite database into an empty PostgreSQL database; safe while the server runs.
    CopyDb {
        /// The SQLite database: a file path or a `sqlite:` URL.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database: postgres://USER:PASSWORD@HOST/DATABASE (it must exist and be empty).
        #[arg(long)]
        to: String,
    },
    /// Print the API's OpenAPI description (the one served at /api/v1/openapi.json) and exit.
    Openapi,
    /// Add the discussions of another system's export (or of otklik's own) to this site. Nothing is
    /// deleted or overwritten; every comment remembers its source, so running an import again adds only
    /// what is new. Safe while the server runs; prints a report.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Write the whole site to FILE as otklik's JSON lines (gzipped if FILE ends in .gz), consistent while
    /// the server runs; `otklik import otklik FILE` reads it back.
    Export {
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Write a consistent copy of the database to FILE; safe while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand, Debug)]
enum ImportFormat {
    /// A Disqus export (.xml or .xml.gz); --key identifier (default), url or path.
    Disqus(ImportArgs),
    /// A WordPress export (WXR 1.0 to 1.2); --key post-id (default), url or path.
    Wordpress(ImportArgs),
    /// Isso's database file (comments.db); --site gives its paths their address.
    Isso(ImportArgs),
    /// A Remark42 backup (.gz or plain JSON lines); --key path (default) or url.
    Remark42(ImportArgs),
    /// A Commento (version 1) or Comentario (version 3) export (.json or .json.gz).
    Commento(ImportArgs),
    /// otklik's own export (`otklik export`), ids kept when the database has none of them.
    Otklik(ImportArgs),
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// The export file.
    file: PathBuf,
    /// Which of a thread's names becomes its article id (the value of data-otklik-article).
    #[arg(long)]
    key: Option<String>,
    /// A CSV file of `source key,article id` lines (no header): article ids of your own, per thread.
    #[arg(long)]
    map: Option<PathBuf>,
    /// The site's address, e.g. https://news.example.com (Isso keeps only paths).
    #[arg(long)]
    site: Option<String>,
    /// Read and check everything, print the report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    db: DatabaseArg,
}

#[derive(Subcommand, Debug)]
enum ModeratorAction {
    /// Create an account and print its generated password (shown once, stored only as an Argon2 hash).
    Add { name: String },
    /// Delete an account and end its sessions.
    Remove { name: String },
}

#[derive(clap::Args, Debug)]
struct DatabaseArg {
    /// The database: a SQLite file (a path or a `sqlite:` URL) or a PostgreSQL URL
    /// (`postgres://USER:PASSWORD@HOST/DATABASE`). `serve` creates a SQLite file (with its directory) if
    /// missing, and brings either up to date; the other commands open only a database `serve` has prepared.
    #[arg(long, global = true, env = "OTKLIK_DATABASE", default_value = "./data/otklik.db")]
    database: String,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "OTKLIK_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Where Prometheus may scrape /metrics, e.g. 127.0.0.1:9090: an address of its own, never the
    /// public one. Unset: no metrics are kept.
    #[arg(long, env = "OTKLIK_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    db: DatabaseArg,

    /// Most connections this node keeps to PostgreSQL (ignored for SQLite).
    #[arg(long, env = "OTKLIK_DATABASE_POOL", default_value_t = otklik_server::store::POOL_DEFAULT)]
    database_pool: u32,

    /// Directory of the built widget (trunk's output). Default: the copy compiled into this binary if it has
    /// one (`make release`), else ./dist.
    #[arg(long, env = "OTKLIK_ASSETS")]
    assets: Option<PathBuf>,

    /// Secret (32 characters or more) for hashing reader tokens and addresses. When unset, one is
    /// generated once and kept in a key file beside the database (DATABASE.key), never in the database.
    #[arg(long, env = "OTKLIK_SECRET", hide_env_values = true)]
    secret: Option<String>,

    /// Comma-separated origins (e.g. https://news.example.com) whose pages may call the API.
    /// Unset: only pages served by this server may.
    #[arg(long, env = "OTKLIK_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,

    /// Comma-separated reverse proxies (addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8). Requests from
    /// them are attributed to the right-most untrusted address in X-Forwarded-For.
    #[arg(long, env = "OTKLIK_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<String>,

    /// Bearer token for the editors' API (/api/v1/admin/...). Unset: the admin routes answer 404.
    #[arg(long, env = "OTKLIK_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// URL that receives a JSON POST for each event (e.g. {"event": "typo.created", ...}). Unset: no webhooks.
    #[arg(long, env = "OTKLIK_WEBHOOK_URL")]
    webhook_url: Option<String>,

    /// Key for signing webhook bodies: X-Otklik-Signature: sha256=<hex HMAC-SHA256 of the body>.
    #[arg(long, env = "OTKLIK_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,

    /// SMTP server for reply notifications: smtp://user:pass@host:587 (STARTTLS whenever offered, and
    /// required unless the server is on this machine) or smtps://user:pass@host:465. Unset: no
    /// notifications, and the comment form offers none.
    #[arg(long, env = "OTKLIK_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,

    /// Sender of notifications, e.g. "Comments <comments@example.org>".
    #[arg(long, env = "OTKLIK_MAIL_FROM")]
    mail_from: Option<String>,

    /// The address readers reach this server by (https://comments.example.org), for links in messages.
    /// Default: the listening address, unless that is every interface.
    #[arg(long, env = "OTKLIK_PUBLIC_URL")]
    public_url: Option<String>,

    /// Comma-separated rate limits: `off` for none, or KIND=N/PERIOD or KIND=off, e.g.
    /// typos.reader=5/5m,typos.ip=20/5m (the defaults).
    #[arg(long, env = "OTKLIK_RATE_LIMITS", value_delimiter = ',')]
    rate_limits: Vec<String>,

    /// Most connections held open at once; more wait in the kernel's backlog.
    #[arg(long, env = "OTKLIK_MAX_CONNECTIONS", default_value_t = otklik_server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,

    /// Most live-update streams (`/api/v1/events`) held open at once; a reader past it has no live
    /// updates. Default: half of --max-connections.
    #[arg(long, env = "OTKLIK_MAX_STREAMS")]
    max_streams: Option<usize>,

    /// Most connections one address may hold open (an IPv6 client counts by its /64); trusted proxies
    /// are exempt. Past it, the address's new connections are closed at once.
    #[arg(long, env = "OTKLIK_MAX_CONNECTIONS_PER_IP", default_value_t = otklik_server::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    max_connections_per_ip: usize,

    /// `post`: new comments appear at once; `pre`: only after a moderator approves them. Articles can
    /// override it in the console.
    #[arg(long, env = "OTKLIK_MODERATION", default_value = "post", value_parser = ["post", "pre"])]
    moderation: String,

    /// Days to keep the (hashed) IP addresses of comments and typo reports.
    #[arg(long, env = "OTKLIK_IP_RETENTION_DAYS", default_value_t = otklik_server::DEFAULT_IP_RETENTION_DAYS)]
    ip_retention_days: u32,

    /// Comma-separated words or phrases that hold a comment for moderation (case-insensitive).
    #[arg(long, env = "OTKLIK_STOP_WORDS", value_delimiter = ',')]
    stop_words: Vec<String>,

    /// Seconds a comment form must have been loaded before the comment is accepted; 0 = no minimum.
    #[arg(long, env = "OTKLIK_MIN_COMPOSE_SECS", default_value_t = otklik_server::DEFAULT_MIN_COMPOSE_SECS)]
    min_compose_secs: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    match cli.log_format.as_str() {
        // One object per line, the request's span (id, method, path, route) in each.
        "json" => logs.json().with_current_span(true).with_span_list(false).init(),
        _ => logs.init(),
    }
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Check(args) => {
            for line in App::check(&settings(*args).0).await? {
                println!("ok  {line}");
            }
            Ok(())
        }
        Command::Moderator { action, db } => moderator(action, &db.database).await,
        Command::Backup { file, db } => backup(&file, &db.database).await,
        Command::Import { format } => import(format).await,
        Command::Export { file, db } => export(&file, &db.database).await,
        Command::CopyDb { from, to } => copy_db(&from, &to).await,
        Command::Openapi => {
            println!("{}", otklik_server::http::api::doc::description());
            Ok(())
        }
    }
}

async fn moderator(action: ModeratorAction, database: &str) -> anyhow::Result<()> {
    let store = otklik_server::store::open_existing(database).await?;
    let result = match action {
        ModeratorAction::Add { name } => {
            let name = name.trim().to_owned();
            let max = otklik_api::limits::MODERATOR_NAME_MAX;
            anyhow::ensure!(
                !name.is_empty() && name.chars().count() <= max && !name.chars().any(char::is_control),
                "a moderator name is 1 to {max} printable characters"
            );
            let password = accounts::generate_password()?;
            let hash = tokio::task::spawn_blocking({
                let password = password.clone();
                move || accounts::hash_password(&password)
            })
            .await??;
            if store.add_moderator(&name, &hash).await? {
                // The one place the password exists outside the moderator's head: standard output, once.
                println!("{password}");
                eprintln!("moderator {name:?} added; the password above is shown only now");
                Ok(())
            } else {
                Err(anyhow::anyhow!("a moderator named {name:?} already exists"))
            }
        }
        ModeratorAction::Remove { name } => {
            if store.remove_moderator(name.trim()).await? {
                eprintln!("moderator {name:?} removed and signed out");
                Ok(())
            } else {
                Err(anyhow::anyhow!("there is no moderator named {name:?}"))
            }
        }
    };
    store.close().await;
    result
}

async fn copy_db(from: &str, to: &str) -> anyhow::Result<()> {
    // The hashing key lives beside a SQLite database; PostgreSQL nodes share theirs through the database.
    let secret = match otklik_server::store::database_file(from)? {
        Some(file) => otklik_server::keys::read_key(&otklik_server::keys::key_file(&file))?,
        None => None,
    };
    let had_key = secret.is_some();
    let copied = otklik_server::store::copy::copy(from, to, secret).await?;
    let summary: Vec<String> = copied.iter().map(|(table, n)| format!("{table} {n}")).collect();
    println!(
        "copied {} to {}: {}",
        otklik_server::store::Location::redact(from),
        otklik_server::store::Location::redact(to),
        summary.join(", ")
    );
    if !had_key {
        println!("the source has no key file: give every node the OTKLIK_SECRET the source's server used");
    }
    Ok(())
}

async fn backup(file: &std::path::Path, database: &str) -> anyhow::Result<()> {
    let store = otklik_server::store::open_existing(database).await?;
    let result = store.backup(file).await;
    store.close().await;
    let counts = result.with_context(|| format!("backing up to {}", file.display()))?;
    let summary: Vec<String> = counts.iter().map(|(table, n)| format!("{table} {n}")).collect();
    println!(
        "backed up {} to {}: {}",
        otklik_server::store::Location::redact(database),
        file.display(),
        summary.join(", ")
    );
    Ok(())
}

async fn import(format: ImportFormat) -> anyhow::Result<()> {
    use otklik_server::transfer::{Format, ImportOptions};
    let (format, args) = match format {
        ImportFormat::Disqus(args) => (Format::Disqus, args),
        ImportFormat::Wordpress(args) => (Format::Wordpress, args),
        ImportFormat::Isso(args) => (Format::Isso, args),
        ImportFormat::Remark42(args) => (Format::Remark42, args),
        ImportFormat::Commento(args) => (Format::Commento, args),
        ImportFormat::Otklik(args) => (Format::Otklik, args),
    };
    anyhow::ensure!(
        args.site.is_none() || format == Format::Isso,
        "--site is for Isso's database, which keeps only paths"
    );
    let options = ImportOptions { key: args.key, map: args.map, site: args.site, dry_run: args.dry_run };
    let import = otklik_server::transfer::check(format, &args.file, options)?;
    // An import may start a site: the database is created (and brought up to date) as `serve` would.
    let store = otklik_server::store::open(&args.db.database, 4).await?;
    let result = otklik_server::transfer::run(store.clone(), import).await;
    store.close().await;
    let report = result?;
    println!("{}", report.text());
    if let Some(file) = args.report {
        std::fs::write(&file, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing the report to {}", file.display()))?;
    }
    Ok(())
}

async fn export(file: &std::path::Path, database: &str) -> anyhow::Result<()> {
    let store = otklik_server::store::open_existing(database).await?;
    let result = otklik_server::transfer::export::run(store.clone(), file).await;
    store.close().await;
    let n = result?;
    println!(
        "exported {} to {}: {} articles, {} comments, {} reaction counts, {} typo reports, {} bans, {} moderators",
        otklik_server::store::Location::redact(database),
        file.display(),
        n.articles,
        n.comments,
        n.reactions,
        n.typos,
        n.bans,
        n.moderators
    );
    Ok(())
}

/// The settings `serve` and `check` take from the command line and the environment, and the address.
fn settings(args: ServeArgs) -> (Settings, SocketAddr) {
    let settings = Settings {
        database: args.db.database,
        database_pool: Some(args.database_pool),
        assets: args.assets.unwrap_or_else(|| {
            if otklik_server::assets::EMBEDDED_BUILD { PathBuf::new() } else { PathBuf::from("./dist") }
        }),
        secret: args.secret,
        allowed_origins: args.allowed_origins.into_iter().filter(|o| !o.trim().is_empty()).collect(),
        trusted_proxies: args.trusted_proxies.into_iter().filter(|p| !p.trim().is_empty()).collect(),
        admin_token: args.admin_token,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        smtp_url: args.smtp_url,
        mail_from: args.mail_from,
        public_url: args.public_url,
        rate_limits: args.rate_limits,
        max_connections: Some(args.max_connections),
        max_connections_per_ip: Some(args.max_connections_per_ip),
        max_streams: args.max_streams,
        moderation: otklik_api::ModerationMode::parse(&args.moderation).unwrap_or_default(),
        ip_retention_days: Some(args.ip_retention_days),
        stop_words: args.stop_words,
        min_compose_secs: Some(args.min_compose_secs),
        ..Settings::default()
    };
    (settings, args.listen)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let metrics = args.metrics_listen;
    let (settings, listen) = settings(args);
    let mut app = App::open(&settings).await?;
    if let Some(at) = metrics {
        anyhow::ensure!(at != listen, "OTKLIK_METRICS_LISTEN must differ from OTKLIK_LISTEN: metrics stay private");
        let scrapes =
            tokio::net::TcpListener::bind(at).await.with_context(|| format!("listening for metrics on {at}"))?;
        tracing::info!(address = %scrapes.local_addr()?, "metrics at /metrics");
        app = app.with_metrics(scrapes);
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, database = %otklik_server::store::Location::redact(&settings.database), "otklik is serving");
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
