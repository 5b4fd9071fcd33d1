//! The live scenario of `make bench`: 10,000 event streams open on one node, spread over 1,000 articles,
//! while comments and reactions are written to those articles at 1,000 a second. It reports how soon each
//! event reaches its streams, the server's memory for the streams and its CPU, and the writes' own
//! latency with the streams open beside the same paced writes without them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use http_body_util::BodyExt as _;
use hyper::StatusCode;

use crate::bench::{connect, get, post, put, token};

const STREAMS: usize = 10_000;
const ARTICLES: usize = 1_000;
/// Writers, each writing `PER_WRITER` times a second: 1,000 writes a second in all.
/// How long the streams take to open, all of them.
const OPENING: Duration = Duration::from_secs(4);
const WRITERS: u64 = 10;
const PER_WRITER: u64 = 100;

fn article(n: usize) -> String {
    format!("live-{n}")
}

pub async fn run(node: SocketAddr, pid: u32, duration: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    // When each article was last written to (microseconds since `started`; 0: never).
    let written: Arc<Vec<AtomicU64>> = Arc::new((0..ARTICLES).map(|_| AtomicU64::new(0)).collect());

    let alone = paced_writes(node, duration, started, written.clone(), 0).await?;
    let rss_before = rss_kb(pid)?;

    // Each stream says once whether it opened; then it reports a latency sample for every event.
    let (opened, mut opening) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    let (samples, mut received) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let mut streams = Vec::with_capacity(STREAMS);
    let opening_starts = tokio::time::Instant::now();
    for s in 0..STREAMS {
        let (opened, samples, written) = (opened.clone(), samples.clone(), written.clone());
        streams.push(tokio::spawn(async move {
            // The streams open over `OPENING`, as the readers of a restarted node come back (each after
            // the 2 to 6 s its stream gave it), not all in one instant.
            tokio::time::sleep_until(opening_starts + OPENING * s as u32 / STREAMS as u32).await;
            let n = s % ARTICLES;
            let path = format!("/api/v1/events?articles={}", article(n));
            let resp = match connect(node).await {
                Ok(mut sender) => sender.send_request(get(&path, None)).await.map_err(anyhow::Error::from),
                Err(err) => Err(err),
            };
            let resp = match resp {
                Ok(resp) if resp.status() == StatusCode::OK => resp,
                Ok(resp) => return drop(opened.send(Err(format!("opening a stream: {}", resp.status())))),
                Err(err) => return drop(opened.send(Err(format!("opening a stream: {err:#}")))),
            };
            let _ = opened.send(Ok(()));
            let mut body = resp.into_body();
            // A stream starts with its article's present state, two events that no write of this run sent.
            let mut present = 2;
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else { continue };
                let events = data.windows(7).filter(|w| w == b"event: ").count();
                let skipped = events.min(present);
                present -= skipped;
                let events = events - skipped;
                let at = written[n].load(Ordering::Relaxed);
                if at > 0 {
                    let now = started.elapsed().as_micros() as u64;
                    for _ in 0..events {
                        let _ = samples.send(now.saturating_sub(at));
                    }
                }
            }
        }));
    }
    for _ in 0..STREAMS {
        opening.recv().await.expect("every stream says whether it opened").map_err(anyhow::Error::msg)?;
    }
    let rss_streams = rss_kb(pid)?;
    let cpu_before = cpu_ticks(pid)?;
    let with_streams = paced_writes(node, duration, started, written.clone(), 1).await?;
    let cpu = (cpu_ticks(pid)? - cpu_before) as f64 / 100.0 / duration.as_secs_f64();
    // Every write changes its article, and each article has the same number of streams: each write's
    // event reaches that many. The last ones are still on their way (10 s at most: a guard).
    let expected = with_streams.latency.len() as usize * (STREAMS / ARTICLES);
    let mut delivery = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let guard = tokio::time::Instant::now() + Duration::from_secs(10);
    while (delivery.len() as usize) < expected {
        match tokio::time::timeout_at(guard, received.recv()).await {
            Ok(Some(sample)) => delivery.record(sample.max(1))?,
            _ => break,
        }
    }
    for stream in &streams {
        stream.abort();
    }
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "\nlive: {STREAMS} streams over {ARTICLES} articles, {} writes/s (half reactions, half comments), {}s",
        WRITERS * PER_WRITER,
        duration.as_secs()
    );
    println!(
        "  events delivered     {:>9} of {expected}   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   (from the write's sending)",
        delivery.len(),
        ms(&delivery, 0.5),
        ms(&delivery, 0.99),
        delivery.max() as f64 / 1000.0
    );
    for (name, paced) in [("writes, no streams", &alone), ("writes, streams open", &with_streams)] {
        let (h, errors) = (&paced.latency, paced.errors);
        println!(
            "  {name:<20} {:>9}   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {errors}",
            h.len(),
            ms(h, 0.5),
            ms(h, 0.99)
        );
    }
    println!(
        "  server RSS {:.1} MB before the streams, {:.1} MB with them ({:.1} MB for the streams, {:.1} KB each); CPU {:.0}% of a core while writing",
        rss_before as f64 / 1024.0,
        rss_streams as f64 / 1024.0,
        rss_streams.saturating_sub(rss_before) as f64 / 1024.0,
        rss_streams.saturating_sub(rss_before) as f64 / STREAMS as f64,
        cpu * 100.0
    );
    Ok(())
}

/// What the server's HTTP stack alone costs for as many connections as the live scenario holds streams:
/// keep-alive connections that made one request each and wait for the next. hyper keeps an 8 KB read
/// buffer and an 8 KB header buffer for every connection, so this is the floor under a stream's memory.
pub async fn idle(node: SocketAddr, pid: u32) -> anyhow::Result<()> {
    let before = rss_kb(pid)?;
    let mut held = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        let mut sender = connect(node).await?;
        let resp = sender.send_request(get("/healthz", None)).await?;
        anyhow::ensure!(resp.status() == StatusCode::OK, "GET /healthz: {}", resp.status());
        resp.into_body().collect().await?;
        held.push(sender);
    }
    let grown = rss_kb(pid)?.saturating_sub(before);
    println!(
        "  idle keep-alive connections on a fresh server: {:.1} MB for {STREAMS} ({:.1} KB each), the floor under the streams",
        grown as f64 / 1024.0,
        grown as f64 / STREAMS as f64
    );
    Ok(())
}

struct Paced {
    latency: Histogram<u64>,
    errors: u64,
}

/// `WRITERS` connections each writing `PER_WRITER` times a second for `duration`: a reaction or a comment
/// to one of the articles in turn, noting in `written` when it was sent. Each `round` has readers of its
/// own, so that no reaction repeats one already set (which changes nothing and sends no event).
async fn paced_writes(
    node: SocketAddr,
    duration: Duration,
    started: Instant,
    written: Arc<Vec<AtomicU64>>,
    round: u64,
) -> anyhow::Result<Paced> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let written = written.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(node).await?;
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors = 0;
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PER_WRITER));
            let mut i = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let n = ((w * 7_919 + i * 31) % ARTICLES as u64) as usize;
                let path = format!("/api/v1/articles/{}", article(n));
                let reader = token(1_000 + round * WRITERS + w, i);
                let req = if i.is_multiple_of(2) {
                    let kind = otklik_api::ReactionKind::ALL[(i / 2 % 5) as usize];
                    put(&format!("{path}/reactions/mine"), &reader, format!(r#"{{"kind":"{kind}"}}"#))
                } else {
                    post(
                        &format!("{path}/comments"),
                        &reader,
                        format!(r#"{{"text":"Live comment {i} from writer {w}"}}"#),
                    )
                };
                written[n].store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                let t = Instant::now();
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                errors += u64::from(!resp.status().is_success());
                resp.into_body().collect().await?;
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
                i += 1;
            }
            anyhow::Ok((hist, errors))
        }));
    }
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for task in tasks {
        let (hist, e) = task.await??;
        latency.add(hist)?;
        errors += e;
    }
    Ok(Paced { latency, errors })
}

/// The process's resident memory, in KB.
fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// The process's CPU time so far (user and system), in clock ticks (100 a second on Linux).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th in all.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields.get(11).unwrap_or(&"0").parse::<u64>()? + fields.get(12).unwrap_or(&"0").parse::<u64>()?)
}
