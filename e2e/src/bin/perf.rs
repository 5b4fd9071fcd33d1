//! `make perf`: how soon the widget is usable on a phone, measured in Chromium on a publisher-like page.
//!
//! A publisher's article page on its own origin embeds the widget under a long article, with 50 comments
//! on the thread. Chromium emulates a phone (412 px, touch) with the throttling Lighthouse's mobile runs use
//! (4× slower CPU, 562.5 ms added to every request, 1.47 Mbit/s down, 675 kbit/s up). Each run is a fresh
//! browser (cold caches); the page records, from navigation start: when the reaction buttons become
//! clickable, when the comment form can be typed in, long tasks, layout shifts, and every resource with its
//! size; as soon as the reactions work the reader scrolls to the widget, and it records when the thread
//! shows (and the form, which comes with it). The medians of the
//! runs are printed. This measures; it passes or fails nothing (`make test` does not run it).

use std::time::Duration;

use otklik_e2e::{Browser, Server, Site};
use serde_json::{Value, json};

const ARTICLE: &str = "perf-article";
const COMMENTS: u64 = 50;

/// Recorded in the page before any of its scripts run: the shadow roots the widget attaches are watched
/// for the moments that matter to a reader.
const PROBE: &str = r#"
(() => {
  const perf = window.__otklikPerf = { reactions: null, form: null, thread: null, scrolled: null,
                                       longtasks: [], shifts: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) perf.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) perf.shifts.push([e.startTime, e.value]);
  }).observe({ type: 'layout-shift', buffered: true });
  const check = (root) => {
    const now = performance.now();
    if (perf.reactions === null && root.querySelector('button.otk-reaction:not([disabled])')) perf.reactions = now;
    if (perf.form === null && root.querySelector('textarea:not([disabled])')) perf.form = now;
    if (perf.thread === null && perf.scrolled !== null && root.querySelectorAll('.otk-comment').length >= 20) {
      perf.thread = now;
    }
  };
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    new MutationObserver(() => check(root)).observe(root, { childList: true, subtree: true, attributes: true });
    return root;
  };
})();
"#;

/// What one run measured, in milliseconds from navigation start and bytes.
#[derive(Debug, Default, Clone)]
struct Run {
    reactions: f64,
    form: f64,
    /// Negative when the form was there before the scroll.
    form_after_scroll: f64,
    thread_after_scroll: f64,
    longest_task: f64,
    long_task_total: f64,
    cls: f64,
    requests_before_scroll: usize,
    preflights_before_scroll: usize,
    bytes_before_scroll: f64,
    requests_total: usize,
    bytes_total: f64,
    /// Each long task as (start, duration), start in ms after the scroll (negative: before it).
    tasks: Vec<(f64, f64)>,
    /// What was requested before the scroll, in order.
    urls_before_scroll: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args().skip_while(|a| a != "--runs").nth(1).map_or(Ok(3), |n| n.parse())?;
    let mut site = Site::bind().await?;
    let origin = site.origin.clone();
    let server = Server::start_with(|settings| settings.allowed_origins = vec![origin]).await?;
    seed(&server).await?;
    site.serve(vec![("/news/ferry", page(&server), None)]);

    let mut results = Vec::new();
    for n in 1..=runs {
        let run = measure(&site.url("/news/ferry")).await?;
        eprintln!("run {n}: {run:?}");
        eprintln!("  long tasks (start in ms after the scroll, duration): {:?}", run.tasks);
        eprintln!("  requested before the scroll: {}", run.urls_before_scroll.join(" "));
        results.push(run);
    }
    report(&results);
    Ok(())
}

/// A publisher's article: a header, several screens of text, then the widget, as news sites place it. Its
/// icon is inline: without one Chromium asks the publisher for /favicon.ico, a request that is not the
/// widget's.
fn page(server: &Server) -> String {
    let paragraph = "<p>Паром «Ока» вернулся на линию после ремонта: новые двигатели, тёплый салон на сорок мест \
                     и площадка для велосипедов. Рейс через реку займёт двенадцать минут, в часы пик паром будет \
                     отходить каждые полчаса, а первый рейс — в шесть утра.</p>";
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Паром снова ходит</title>\
         <link rel=\"icon\" href=\"data:,\">\
         <style>body{{margin:0;font:18px/1.6 Georgia,serif}}header{{padding:12px 16px;border-bottom:3px solid #b3261e}}\
         article{{padding:0 16px;max-width:720px;margin:auto}}</style></head>\
         <body><header>Вестник</header><article><h1>Паром снова ходит</h1>{}\
         <div data-otklik-article=\"{ARTICLE}\"></div></article>\
         <script src=\"{}\" async></script></body></html>",
        paragraph.repeat(12),
        server.url("/embed.js")
    )
}

/// The thread the reader scrolls to: 50 comments, as a discussed article has.
async fn seed(server: &Server) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = server.url(&format!("/api/v1/articles/{ARTICLE}/comments"));
    for n in 0..COMMENTS {
        let mut token = [0x42; 16];
        token[..8].copy_from_slice(&n.to_le_bytes());
        let reader = otklik_api::ReaderToken::from_bytes(token).encode();
        let body = json!({ "text": format!("Комментарий номер {n}: рейсы стали чаще, и это заметно."), "author": format!("Читатель {n}") });
        let resp = client.post(&url).header("X-Otklik-Reader", reader).json(&body).send().await?;
        anyhow::ensure!(resp.status().is_success(), "seeding comment {n}: {}", resp.status());
    }
    Ok(())
}

async fn measure(url: &str) -> anyhow::Result<Run> {
    let browser = Browser::phone_throttled(412).await?;
    let run = async {
        browser.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": PROBE })).await?;
        // `OTKLIK_PERF_PROFILE=load`: where the main thread's time goes until the reactions work; `=thread`:
        // from the scroll until the thread shows.
        let profile = std::env::var("OTKLIK_PERF_PROFILE").unwrap_or_default();
        if !profile.is_empty() {
            browser.cdp("Profiler.enable", json!({})).await?;
            browser.cdp("Profiler.setSamplingInterval", json!({ "interval": 200 })).await?;
        }
        if profile == "load" {
            browser.cdp("Profiler.start", json!({})).await?;
        }
        browser.client.goto(url).await?;
        browser
            .until_within("the reactions", Duration::from_secs(60), || async {
                let v = probe(&browser).await?;
                Ok((!v["reactions"].is_null()).then_some(()))
            })
            .await?;
        let network_before = browser.network_log().await?;
        if profile == "load" {
            print_profile(&browser.cdp("Profiler.stop", json!({})).await?["profile"]);
        } else if profile == "thread" {
            browser.cdp("Profiler.start", json!({})).await?;
        }
        let scrolled: f64 = browser
            .client
            .execute(
                "const p = window.__otklikPerf; p.scrolled = performance.now();
                 document.querySelector('[data-otklik-article]').scrollIntoView(); return p.scrolled;",
                vec![],
            )
            .await?
            .as_f64()
            .unwrap_or_default();
        let done = browser
            .until_within("the thread and the form", Duration::from_secs(60), || async {
                let v = probe(&browser).await?;
                Ok((!v["thread"].is_null() && !v["form"].is_null()).then_some(v))
            })
            .await?;
        if profile == "thread" {
            print_profile(&browser.cdp("Profiler.stop", json!({})).await?["profile"]);
        }
        let resources = browser
            .client
            .execute("return performance.getEntriesByType('resource').map(e => [e.startTime, e.transferSize]);", vec![])
            .await?;
        let resources: Vec<(f64, f64)> = serde_json::from_value(resources)?;
        let network_after = browser.network_log().await?;
        let before: Vec<_> = resources.iter().filter(|(start, _)| *start < scrolled).collect();
        let tasks: Vec<(f64, f64)> = serde_json::from_value(done["longtasks"].clone())?;
        let shifts: Vec<(f64, f64)> = serde_json::from_value(done["shifts"].clone())?;
        anyhow::Ok(Run {
            reactions: done["reactions"].as_f64().unwrap_or_default(),
            form: done["form"].as_f64().unwrap_or_default(),
            form_after_scroll: done["form"].as_f64().unwrap_or_default() - scrolled,
            thread_after_scroll: done["thread"].as_f64().unwrap_or_default() - scrolled,
            longest_task: tasks.iter().map(|t| t.1).fold(0.0, f64::max),
            long_task_total: tasks.iter().map(|t| t.1).sum(),
            // `+ 0.0`: an empty sum is -0.0.
            cls: shifts.iter().map(|s| s.1).sum::<f64>() + 0.0,
            requests_before_scroll: sent(&network_before),
            preflights_before_scroll: sent_with(&network_before, "OPTIONS"),
            bytes_before_scroll: before.iter().map(|r| r.1).sum(),
            requests_total: sent(&network_before) + sent(&network_after),
            bytes_total: resources.iter().map(|r| r.1).sum(),
            tasks: tasks.iter().map(|t| ((t.0 - scrolled).round(), t.1)).collect(),
            urls_before_scroll: urls(&network_before),
        })
    }
    .await;
    browser.stop().await;
    run
}

/// Where the main thread's time went in a profile (`OTKLIK_PERF_PROFILE`): self time by function, the 25
/// largest.
fn print_profile(profile: &Value) {
    let empty = Vec::new();
    let names: std::collections::HashMap<i64, String> = profile["nodes"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|n| {
            let frame = &n["callFrame"];
            let url = frame["url"].as_str().unwrap_or("");
            let name =
                format!("{} {}", frame["functionName"].as_str().unwrap_or(""), url.rsplit('/').next().unwrap_or(""));
            (n["id"].as_i64().unwrap_or_default(), name)
        })
        .collect();
    // Each sample's time is the delta to the next sample.
    let samples = profile["samples"].as_array().unwrap_or(&empty);
    let deltas = profile["timeDeltas"].as_array().unwrap_or(&empty);
    let mut by_name = std::collections::HashMap::<&str, f64>::new();
    for (sample, delta) in samples.iter().zip(deltas.iter().skip(1)) {
        let name = sample.as_i64().and_then(|id| names.get(&id)).map_or("", String::as_str);
        *by_name.entry(name).or_default() += delta.as_f64().unwrap_or_default() / 1000.0;
    }
    let mut top: Vec<_> = by_name.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, ms) in top.iter().take(25) {
        eprintln!("{ms:>9.1} ms  {name}");
    }
}

/// Requests the page sent over HTTP (the browser's own pages left out), CORS preflights included.
fn sent(events: &[Value]) -> usize {
    sent_with(events, "")
}

/// The addresses of the requests [`sent`] counts, without their query.
fn urls(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .filter(|u| u.starts_with("http"))
        .map(|u| u.split('?').next().unwrap_or(u).to_owned())
        .collect()
}

/// As [`sent`], only those of `method` (all with "").
fn sent_with(events: &[Value], method: &str) -> usize {
    events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .map(|e| &e["params"]["request"])
        .filter(|r| r["url"].as_str().is_some_and(|u| u.starts_with("http")))
        .filter(|r| method.is_empty() || r["method"] == method)
        .count()
}

async fn probe(browser: &Browser) -> anyhow::Result<Value> {
    Ok(browser.client.execute("return window.__otklikPerf || {};", vec![]).await?)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn report(runs: &[Run]) {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    println!(
        "\notklik perf: phone (412 px, touch), 4x CPU, +562.5 ms per request, 1.47 Mbit/s; median of {}",
        runs.len()
    );
    println!(
        "(requests: everything the page sent, itself and CORS preflights included; KB: its resources' transfer sizes)"
    );
    println!("{:<44} {:>10}", "reactions clickable (ms from navigation)", format!("{:.0}", m(|r| r.reactions)));
    println!("{:<44} {:>10}", "comment form usable (ms from navigation)", format!("{:.0}", m(|r| r.form)));
    println!(
        "{:<44} {:>10}",
        "comment form usable (ms after the scroll)",
        format!("{:.0}", m(|r| r.form_after_scroll))
    );
    println!("{:<44} {:>10}", "thread shown (ms after the scroll)", format!("{:.0}", m(|r| r.thread_after_scroll)));
    println!("{:<44} {:>10}", "longest task (ms)", format!("{:.0}", m(|r| r.longest_task)));
    println!("{:<44} {:>10}", "long tasks, total (ms)", format!("{:.0}", m(|r| r.long_task_total)));
    println!("{:<44} {:>10}", "cumulative layout shift", format!("{:.3}", m(|r| r.cls)));
    println!("{:<44} {:>10}", "requests before the scroll", format!("{:.0}", m(|r| r.requests_before_scroll as f64)));
    println!("{:<44} {:>10}", "of them CORS preflights", format!("{:.0}", m(|r| r.preflights_before_scroll as f64)));
    println!(
        "{:<44} {:>10}",
        "KB transferred before the scroll (resources)",
        format!("{:.1}", m(|r| r.bytes_before_scroll) / 1000.0)
    );
    println!("{:<44} {:>10}", "requests in all", format!("{:.0}", m(|r| r.requests_total as f64)));
    println!("{:<44} {:>10}", "KB transferred in all (resources)", format!("{:.1}", m(|r| r.bytes_total) / 1000.0));
}
