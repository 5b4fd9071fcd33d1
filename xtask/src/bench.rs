//! `make bench`: the release server under load from this separate process, over real HTTP on loopback.
//!
//! It starts `otklik serve` on a fresh database, then runs each scenario (reaction writes and reads, comment
//! posts, and first pages of a seeded 10,000-comment thread)
//! for a fixed time with 64 concurrent clients, each on its own keep-alive connection and with its own
//! readers, and reports throughput and latency percentiles. Reaction writes are checked afterwards: the
//! server's totals must equal what the clients' last writes imply, or the benchmark fails.
//!
//! With `--postgres URL` the server runs on a fresh database made on that PostgreSQL server, and with
//! `--nodes N` as N processes sharing it, the clients spread over them (client `c` talks to node `c % N`).
//! With one node, the live scenario follows (`live.rs`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use otklik_api::{ReactionCounts, ReactionKind, ReactionsView, ReaderToken};
use tokio::net::TcpStream;

const CLIENTS: u64 = 64;
/// Readers per client: each write changes one reader's reaction, cycling through them.
const READERS_PER_CLIENT: u64 = 200;
const ARTICLE: &str = "bench-article";
const POSTS_ARTICLE: &str = "bench-posts";
const THREAD_ARTICLE: &str = "bench-thread";
const THREAD_SIZE: u64 = 10_000;

pub fn run(bin: &Path, seconds: u64, postgres: Option<&str>, nodes: usize) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(nodes >= 1 && (nodes == 1 || postgres.is_some()), "several nodes need --postgres");
    let duration = Duration::from_secs(seconds);
    // One thread for the load generator: the machine's other core (and then some) is the server's.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let dir = std::env::temp_dir().join(format!("otklik-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = match postgres {
        None => dir.join("bench.db").to_string_lossy().into_owned(),
        Some(server) => fresh_postgres_database(server)?,
    };
    let result = rt.block_on(async {
        let mut servers = Vec::new();
        for _ in 0..nodes {
            servers.push(Server::start(bin, &dir, &database).await?);
        }
        let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
        let backend = if postgres.is_some() { "PostgreSQL" } else { "SQLite" };
        let outcome = scenarios(&addrs, backend, duration).await;
        for server in &mut servers {
            server.stop();
        }
        // Streams are one node's: with several, the scenarios above say what sharing adds. The live
        // scenario and the floor under its memory each run on a fresh server of their own, so that the
        // memory they report is theirs and not what the scenarios above left in the server's heap.
        if nodes == 1 && outcome.is_ok() {
            for (name, idle) in [("live", false), ("idle", true)] {
                let database = match postgres {
                    None => dir.join(format!("{name}.db")).to_string_lossy().into_owned(),
                    Some(server) => fresh_postgres_database(server)?,
                };
                let mut server = Server::start(bin, &dir, &database).await?;
                let (addr, pid) = (server.addr, server.child.id());
                let measured =
                    if idle { crate::live::idle(addr, pid).await } else { crate::live::run(addr, pid, duration).await };
                server.stop();
                measured?;
            }
        }
        outcome
    });
    let _ = std::fs::remove_dir_all(&dir);
    if nodes == 1 && postgres.is_none() && result.is_ok() {
        metrics_probe();
    }
    result
}

/// What keeping the metrics adds to each request, measured apart from the noise of whole runs: the
/// recording the guard does once a request is answered (its route's count and latency), from two threads
/// at once as the server's two workers would. (The scenarios themselves run with the metrics listener
/// when `OTKLIK_METRICS_LISTEN` is set, e.g. to 127.0.0.1:0, for the whole-run comparison.)
fn metrics_probe() {
    const CALLS: u32 = 2_000_000;
    otklik_server::metrics::switch_on();
    let method = hyper::Method::POST;
    let started = std::time::Instant::now();
    std::thread::scope(|threads| {
        for _ in 0..2 {
            threads.spawn(|| {
                for i in 0..CALLS {
                    let took = Duration::from_micros(u64::from(i % 5_000));
                    otklik_server::metrics::request(&method, Some("/api/v1/articles/{article}/comments"), 201, took);
                }
            });
        }
    });
    let per_call = started.elapsed().as_nanos() as f64 / f64::from(CALLS);
    println!(
        "metrics: {per_call:.0} ns of a core to record a request (two threads recording at once); at 30,000 \
         requests/s that is {:.2}% of the two cores",
        per_call * 30_000.0 / 2e9 * 100.0
    );
}

/// A new database on the PostgreSQL server `url` names (with `psql`, which comes with the server).
fn fresh_postgres_database(url: &str) -> anyhow::Result<String> {
    let name = format!("otklik_bench_{}", std::process::id());
    let made = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q"])
        .args(["-c", &format!("DROP DATABASE IF EXISTS {name}"), "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .context("running psql")?;
    anyhow::ensure!(made.success(), "creating the bench database with psql failed");
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

async fn scenarios(nodes: &[SocketAddr], backend: &str, duration: Duration) -> anyhow::Result<ExitCode> {
    let addr = nodes[0];
    let servers = nodes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let count = nodes.len();
    println!(
        "otklik bench on {backend}, {count} node(s): {CLIENTS} concurrent clients, {}s per scenario, server at {servers}\n",
        duration.as_secs()
    );
    println!(
        "{:<28} {:>10} {:>10} {:>9} {:>9} {:>9} {:>7}",
        "scenario", "requests", "per sec", "p50 ms", "p99 ms", "max ms", "errors"
    );

    let writes = load(nodes, duration, |client, i| {
        let reader = token(client, i % READERS_PER_CLIENT);
        let kind = kind_for(client, i);
        let body = format!(r#"{{"kind":"{kind}"}}"#);
        put(&format!("/api/v1/articles/{ARTICLE}/reactions/mine"), &reader, body)
    })
    .await?;
    writes.print("reaction writes (PUT)");

    // Each client's readers ended on the kind of their last write: the server must agree exactly.
    let mut expected = ReactionCounts::default();
    for (client, sent) in writes.sent_per_client.iter().enumerate() {
        for r in 0..READERS_PER_CLIENT.min(*sent) {
            let last = (r..*sent).step_by(READERS_PER_CLIENT as usize).last().expect("r < sent");
            expected.add(kind_for(client as u64, last), 1);
        }
    }
    let actual: ReactionsView = get_json(addr, &format!("/api/v1/articles/{ARTICLE}/reactions")).await?;
    let mut exact = actual.counts == expected && writes.errors == 0;
    // Every node answers the same totals.
    for node in &nodes[1..] {
        let theirs: ReactionsView = get_json(*node, &format!("/api/v1/articles/{ARTICLE}/reactions")).await?;
        exact &= theirs.counts == actual.counts;
    }

    let reads = load(nodes, duration, |client, i| {
        let reader = token(client, i % READERS_PER_CLIENT);
        get(&format!("/api/v1/articles/{ARTICLE}/reactions"), Some(&reader))
    })
    .await?;
    reads.print("reaction reads (GET)");

    let posts = load(nodes, duration, |client, i| {
        let body = format!(r#"{{"text":"Benchmark comment {i} from client {client}","author":"Bench {client}"}}"#);
        post(&format!("/api/v1/articles/{POSTS_ARTICLE}/comments"), &token(client, 0), body)
    })
    .await?;
    posts.print("comment posts (POST)");

    seed_thread(addr).await?;
    let thread = load(nodes, duration, |client, i| {
        let reader = token(client, i % READERS_PER_CLIENT);
        get(&format!("/api/v1/articles/{THREAD_ARTICLE}/comments"), Some(&reader))
    })
    .await?;
    thread.print("first page of 10k thread");

    println!(
        "\nexactness: server totals {:?}\n           expected     {:?} -> {}",
        actual.counts,
        expected,
        if exact { "exact" } else { "MISMATCH" }
    );
    Ok(if exact { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The kind a client's `i`-th write sets; it differs from that reader's previous write, so every write is a change.
fn kind_for(client: u64, i: u64) -> ReactionKind {
    ReactionKind::ALL[((client + i / READERS_PER_CLIENT) % 5) as usize]
}

pub(crate) fn token(client: u64, reader: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&client.to_le_bytes());
    bytes[8..].copy_from_slice(&reader.to_le_bytes());
    ReaderToken::from_bytes(bytes).encode()
}

pub(crate) fn put(path: &str, reader: &str, body: String) -> Request<Full<Bytes>> {
    Request::put(path)
        .header("host", "bench")
        .header("content-type", "application/json")
        .header("x-otklik-reader", reader)
        .body(Full::new(Bytes::from(body)))
        .expect("valid request")
}

pub(crate) fn post(path: &str, reader: &str, body: String) -> Request<Full<Bytes>> {
    let mut req = put(path, reader, body);
    *req.method_mut() = hyper::Method::POST;
    req
}

/// Writes a 10,000-comment thread: every fourth comment a top-level one, the rest replies under the
/// latest top-level comment of the same client, so the first page carries full reply previews.
async fn seed_thread(addr: SocketAddr) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let share = THREAD_SIZE / CLIENTS + u64::from(client < THREAD_SIZE % CLIENTS);
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut root: Option<i64> = None;
            for i in 0..share {
                let parent = match (i % 4, root) {
                    (0, _) | (_, None) => String::new(),
                    (_, Some(id)) => format!(r#","parent":{id}"#),
                };
                let body = format!(r#"{{"text":"Seeded comment {i} of client {client}","author":"Seed"{parent}}}"#);
                sender.ready().await?;
                let path = format!("/api/v1/articles/{THREAD_ARTICLE}/comments");
                let resp = sender.send_request(post(&path, &token(client, 1), body)).await?;
                anyhow::ensure!(resp.status() == StatusCode::CREATED, "seeding: {}", resp.status());
                let created: serde_json::Value = serde_json::from_slice(&resp.into_body().collect().await?.to_bytes())?;
                if i % 4 == 0 {
                    root = created["id"].as_i64();
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let page: serde_json::Value = get_json(addr, &format!("/api/v1/articles/{THREAD_ARTICLE}/comments")).await?;
    anyhow::ensure!(page["total"] == THREAD_SIZE, "the seeded thread has {} comments", page["total"]);
    println!("{:<28} {THREAD_SIZE:>10} comments seeded in {:.1}s", "", started.elapsed().as_secs_f64());
    Ok(())
}

pub(crate) fn get(path: &str, reader: Option<&str>) -> Request<Full<Bytes>> {
    let mut req = Request::get(path).header("host", "bench");
    if let Some(r) = reader {
        req = req.header("x-otklik-reader", r);
    }
    req.body(Full::new(Bytes::new())).expect("valid request")
}

struct Outcome {
    latency: Histogram<u64>,
    elapsed: Duration,
    errors: u64,
    sent_per_client: Vec<u64>,
}

impl Outcome {
    fn print(&self, name: &str) {
        let n = self.latency.len();
        let ms = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{name:<28} {n:>10} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            n as f64 / self.elapsed.as_secs_f64(),
            ms(0.5),
            ms(0.99),
            self.latency.max() as f64 / 1000.0,
            self.errors
        );
    }
}

/// Runs `CLIENTS` connections spread over the nodes, each sending `make(client, i)` back to back until `duration` has passed.
async fn load(
    nodes: &[SocketAddr],
    duration: Duration,
    make: impl Fn(u64, u64) -> Request<Full<Bytes>> + Copy + Send + 'static,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let addr = nodes[client as usize % nodes.len()];
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await?;
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut i, mut errors) = (0u64, 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                sender.ready().await?;
                let resp = sender.send_request(make(client, i)).await?;
                let ok = resp.status().is_success();
                resp.into_body().collect().await?;
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
                errors += u64::from(!ok);
                i += 1;
            }
            anyhow::Ok((hist, errors, i))
        }));
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut errors, mut sent_per_client) = (0, Vec::new());
    for task in tasks {
        let (hist, e, sent) = task.await??;
        latency.add(hist)?;
        errors += e;
        sent_per_client.push(sent);
    }
    Ok(Outcome { latency, elapsed: start.elapsed(), errors, sent_per_client })
}

pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn get_json<T: serde::de::DeserializeOwned>(addr: SocketAddr, path: &str) -> anyhow::Result<T> {
    let mut sender = connect(addr).await?;
    let resp = sender.send_request(get(path, None)).await?;
    anyhow::ensure!(resp.status() == StatusCode::OK, "GET {path}: {}", resp.status());
    let body = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

/// The server under test, as a child process on a free loopback port.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    async fn start(bin: &Path, dir: &Path, database: &str) -> anyhow::Result<Self> {
        Self::start_with(bin, dir, database, &[]).await
    }

    /// A server with further environment settings (`OTKLIK_...`).
    pub(crate) async fn start_with(
        bin: &Path,
        dir: &Path,
        database: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = Command::new(bin)
            .args(["serve", "--listen", &addr.to_string()])
            .args(["--database", database])
            .arg("--assets")
            .arg(dir.join("no-assets"))
            .env("RUST_LOG", "error")
            // The load generator is one address writing as thousands of readers: exactly what the rate
            // limits exist to stop. The bench measures the server's capacity, so they are off here.
            .env("OTKLIK_RATE_LIMITS", "off")
            // A load generator posts the moment it can, as no person does.
            .env("OTKLIK_MIN_COMPOSE_SECS", "0")
            // The live scenario holds 10,000 streams open from this one address.
            .env("OTKLIK_MAX_CONNECTIONS", "16000")
            .env("OTKLIK_MAX_CONNECTIONS_PER_IP", "16000")
            .env("OTKLIK_MAX_STREAMS", "12000")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (build it with `make server`)", bin.display()))?;
        let server = Self { child, addr };
        for _ in 0..100 {
            if let Ok(mut s) = connect(addr).await
                && s.send_request(get("/healthz", None)).await.is_ok_and(|r| r.status() == StatusCode::OK)
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not become healthy at {addr}")
    }

    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
