//! Prometheus metrics: counted in atomics where things happen, written out as text when the metrics
//! listener (`OTKLIK_METRICS_LISTEN`) is scraped.
//!
//! Off unless that listener is configured: then every `record` is one relaxed load and a branch. On, a
//! request costs a read lock and a few atomic adds (`make bench` measures it; docs/benchmarks.md). The
//! counters are the process's, as in every Prometheus client: one server per process.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};
use std::time::Duration;

static ON: AtomicBool = AtomicBool::new(false);

/// Starts counting (the metrics listener is being served).
pub fn switch_on() {
    ON.store(true, Relaxed);
}

pub fn on() -> bool {
    ON.load(Relaxed)
}

/// Upper bounds of the latency buckets, in microseconds: 1 ms to 2.5 s.
const LATENCY_US: [u64; 11] =
    [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000];
/// Upper bounds of the batch-size buckets, in writes.
const BATCH: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// A Prometheus histogram over fixed bounds.
struct Histogram<const N: usize> {
    bounds: &'static [u64; N],
    /// Per bucket (not cumulative; summed when written), and one more for above the last bound.
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    const fn new(bounds: &'static [u64; N]) -> Self {
        Self { bounds, buckets: [const { AtomicU64::new(0) }; 12], count: AtomicU64::new(0), sum: AtomicU64::new(0) }
    }

    fn observe(&self, value: u64) {
        let bucket = self.bounds.iter().position(|&bound| value <= bound).unwrap_or(N);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` with `labels` (`k="v",` pairs or nothing);
    /// `scale` turns the recorded unit into the exported one (microseconds into seconds).
    fn write(&self, out: &mut String, name: &str, labels: &str, scale: f64) {
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{}\"}} {cumulative}", *bound as f64 / scale);
        }
        cumulative += self.buckets[N].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
        let labels = labels.trim_end_matches(',');
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum.load(Relaxed) as f64 / scale);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count.load(Relaxed));
    }
}

/// The methods counted apart; any other is counted as `OTHER`.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"];

/// One route's requests, per method (made when first used).
struct Route([OnceLock<Box<Requests>>; 6]);

/// A count per status code, and the time taken.
struct Requests {
    statuses: [AtomicU64; 500],
    latency: Histogram<11>,
}

impl Route {
    fn new() -> Self {
        Self([const { OnceLock::new() }; 6])
    }

    fn requests(&self, method: usize) -> &Requests {
        self.0[method].get_or_init(|| {
            Box::new(Requests { statuses: [const { AtomicU64::new(0) }; 500], latency: Histogram::new(&LATENCY_US) })
        })
    }

    fn each(&self) -> impl Iterator<Item = (&'static str, &Requests)> {
        METHODS.iter().zip(&self.0).filter_map(|(method, r)| Some((*method, &**r.get()?)))
    }
}

/// A writer's batches: how many writes each carried and how long its commit took; how many wait.
struct Writer {
    size: Histogram<10>,
    commit: Histogram<11>,
    queued: AtomicU64,
}

#[derive(Default)]
struct Registry {
    /// By route template (`unmatched` for requests no route matched).
    routes: RwLock<HashMap<String, Arc<Route>>>,
    writers: RwLock<BTreeMap<&'static str, Arc<Writer>>>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    page_hits: AtomicU64,
    page_misses: AtomicU64,
    webhooks_delivered: AtomicU64,
    webhooks_failed: AtomicU64,
    mail_sent: AtomicU64,
    mail_failed: AtomicU64,
    connections: AtomicI64,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

/// An answered request: its method, route template (`None` when no route matched), status and time taken.
pub fn request(method: &axum::http::Method, route: Option<&str>, status: u16, took: Duration) {
    if !on() {
        return;
    }
    let route = route.unwrap_or("unmatched");
    let known = REGISTRY.routes.read().expect("metrics lock").get(route).cloned();
    let stats = known.unwrap_or_else(|| {
        REGISTRY
            .routes
            .write()
            .expect("metrics lock")
            .entry(route.to_owned())
            .or_insert_with(|| Arc::new(Route::new()))
            .clone()
    });
    let method = METHODS.iter().position(|m| *m == method.as_str()).unwrap_or(METHODS.len() - 1);
    let requests = stats.requests(method);
    if let Some(count) = usize::from(status).checked_sub(100).and_then(|i| requests.statuses.get(i)) {
        count.fetch_add(1, Relaxed);
    }
    requests.latency.observe(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
}

fn writer(name: &'static str) -> Arc<Writer> {
    if let Some(writer) = REGISTRY.writers.read().expect("metrics lock").get(name) {
        return writer.clone();
    }
    let fresh = || {
        Arc::new(Writer {
            size: Histogram::new(&BATCH),
            commit: Histogram::new(&LATENCY_US),
            queued: AtomicU64::new(0),
        })
    };
    REGISTRY.writers.write().expect("metrics lock").entry(name).or_insert_with(fresh).clone()
}

/// A batch committed (or failed) by the writer `name`: its writes, its commit's time, and how many
/// writes were left waiting behind it.
pub fn batch(name: &'static str, writes: usize, took: Duration, queued: usize) {
    if !on() {
        return;
    }
    let writer = writer(name);
    writer.size.observe(writes as u64);
    writer.commit.observe(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
    writer.queued.store(queued as u64, Relaxed);
}

/// A first page of a thread was read: from the page cache, or not.
pub fn page_cache(hit: bool) {
    if on() {
        let counter = if hit { &REGISTRY.page_hits } else { &REGISTRY.page_misses };
        counter.fetch_add(1, Relaxed);
    }
}

/// A write refused by the rate limit `kind` (its `OTKLIK_RATE_LIMITS` name).
pub fn refused(kind: &'static str) {
    if on() {
        *REGISTRY.refusals.lock().expect("metrics lock").entry(kind).or_default() += 1;
    }
}

/// A webhook delivery attempt's outcome.
pub fn webhook(delivered: bool) {
    if on() {
        let counter = if delivered { &REGISTRY.webhooks_delivered } else { &REGISTRY.webhooks_failed };
        counter.fetch_add(1, Relaxed);
    }
}

/// An e-mail delivery attempt's outcome (sent, or found unneeded, counts as done).
pub fn mail(sent: bool) {
    if on() {
        let counter = if sent { &REGISTRY.mail_sent } else { &REGISTRY.mail_failed };
        counter.fetch_add(1, Relaxed);
    }
}

/// Counts an open connection for as long as it lives (counted whether or not metrics are on, so that
/// switching them on mid-way cannot make the gauge negative).
pub struct OpenConnection(());

impl OpenConnection {
    pub fn opened() -> Self {
        REGISTRY.connections.fetch_add(1, Relaxed);
        Self(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        REGISTRY.connections.fetch_sub(1, Relaxed);
    }
}

/// What is read when scraped rather than counted: the database pools, the live streams, the webhook
/// backlog.
#[derive(Debug, Default)]
pub struct Sampled {
    /// Per pool: its name, connections open, and of those idle.
    pub pools: Vec<(&'static str, u32, usize)>,
    pub streams: usize,
    /// Seconds the oldest undelivered webhook has waited (0 when none waits; `None` with no webhook).
    pub webhook_backlog_secs: Option<i64>,
}

/// Everything, in the Prometheus text format (version 0.0.4).
pub fn render(sampled: &Sampled) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let r = &*REGISTRY;
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(&mut out, "otklik_build_info", "gauge", "The running build.");
    let _ = writeln!(out, "otklik_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));

    let routes: Vec<(String, Arc<Route>)> = {
        let routes = r.routes.read().expect("metrics lock");
        let mut routes: Vec<_> = routes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        routes
    };
    head(&mut out, "otklik_http_requests_total", "counter", "Requests answered, by method, route template and status.");
    for (route, stats) in &routes {
        for (method, requests) in stats.each() {
            for (i, count) in requests.statuses.iter().enumerate() {
                let count = count.load(Relaxed);
                if count > 0 {
                    let (route, status) = (escape(route), i + 100);
                    let _ = writeln!(
                        out,
                        "otklik_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
                    );
                }
            }
        }
    }
    head(
        &mut out,
        "otklik_http_request_duration_seconds",
        "histogram",
        "Time to answer, by method and route template.",
    );
    for (route, stats) in &routes {
        for (method, requests) in stats.each() {
            let labels = format!("method=\"{method}\",route=\"{}\",", escape(route));
            requests.latency.write(&mut out, "otklik_http_request_duration_seconds", &labels, 1e6);
        }
    }

    let writers: Vec<_> = r.writers.read().expect("metrics lock").iter().map(|(k, v)| (*k, v.clone())).collect();
    head(&mut out, "otklik_writer_batch_size", "histogram", "Writes per committed batch, by writer.");
    for (name, w) in &writers {
        w.size.write(&mut out, "otklik_writer_batch_size", &format!("writer=\"{name}\","), 1.0);
    }
    head(&mut out, "otklik_writer_commit_seconds", "histogram", "Time to apply and commit a batch, by writer.");
    for (name, w) in &writers {
        w.commit.write(&mut out, "otklik_writer_commit_seconds", &format!("writer=\"{name}\","), 1e6);
    }
    head(&mut out, "otklik_writer_queue_depth", "gauge", "Writes waiting when the last batch was taken, by writer.");
    for (name, w) in &writers {
        let _ = writeln!(out, "otklik_writer_queue_depth{{writer=\"{name}\"}} {}", w.queued.load(Relaxed));
    }

    head(
        &mut out,
        "otklik_page_cache_requests_total",
        "counter",
        "First pages of threads read, by whether the cache had them.",
    );
    let _ = writeln!(out, "otklik_page_cache_requests_total{{result=\"hit\"}} {}", r.page_hits.load(Relaxed));
    let _ = writeln!(out, "otklik_page_cache_requests_total{{result=\"miss\"}} {}", r.page_misses.load(Relaxed));

    head(&mut out, "otklik_rate_limit_refusals_total", "counter", "Writes refused by a rate limit, by limit.");
    for (kind, count) in r.refusals.lock().expect("metrics lock").iter() {
        let _ = writeln!(out, "otklik_rate_limit_refusals_total{{limit=\"{kind}\"}} {count}");
    }

    head(&mut out, "otklik_webhook_deliveries_total", "counter", "Webhook delivery attempts, by outcome.");
    let _ =
        writeln!(out, "otklik_webhook_deliveries_total{{result=\"delivered\"}} {}", r.webhooks_delivered.load(Relaxed));
    let _ = writeln!(out, "otklik_webhook_deliveries_total{{result=\"failed\"}} {}", r.webhooks_failed.load(Relaxed));
    head(&mut out, "otklik_mail_deliveries_total", "counter", "E-mail delivery attempts, by outcome.");
    let _ = writeln!(out, "otklik_mail_deliveries_total{{result=\"sent\"}} {}", r.mail_sent.load(Relaxed));
    let _ = writeln!(out, "otklik_mail_deliveries_total{{result=\"failed\"}} {}", r.mail_failed.load(Relaxed));
    if let Some(age) = sampled.webhook_backlog_secs {
        head(
            &mut out,
            "otklik_webhook_backlog_age_seconds",
            "gauge",
            "How long the oldest undelivered webhook has waited.",
        );
        let _ = writeln!(out, "otklik_webhook_backlog_age_seconds {age}");
    }

    head(&mut out, "otklik_open_connections", "gauge", "HTTP connections open on the public listener.");
    let _ = writeln!(out, "otklik_open_connections {}", r.connections.load(Relaxed).max(0));
    head(&mut out, "otklik_live_streams", "gauge", "Live-update streams open.");
    let _ = writeln!(out, "otklik_live_streams {}", sampled.streams);
    head(&mut out, "otklik_db_pool_connections", "gauge", "Database connections, by pool and state.");
    for (pool, open, idle) in &sampled.pools {
        let busy = (*open as usize).saturating_sub(*idle);
        let _ = writeln!(out, "otklik_db_pool_connections{{pool=\"{pool}\",state=\"busy\"}} {busy}");
        let _ = writeln!(out, "otklik_db_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}");
    }
    out
}

/// A label value as the text format wants it (route templates hold no quotes, but a path might).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_writes_cumulative_buckets_sum_and_count() {
        static BOUNDS: [u64; 3] = [1, 10, 100];
        let h = Histogram::new(&BOUNDS);
        for v in [0, 1, 5, 50, 500] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "a=\"b\",", 1.0);
        assert_eq!(
            out,
            "x_bucket{a=\"b\",le=\"1\"} 2\nx_bucket{a=\"b\",le=\"10\"} 3\nx_bucket{a=\"b\",le=\"100\"} 4\n\
             x_bucket{a=\"b\",le=\"+Inf\"} 5\nx_sum{a=\"b\"} 556\nx_count{a=\"b\"} 5\n"
        );
    }
}
