//! The metrics listener: Prometheus text on an address of its own, whose series move with the traffic.

mod common;

use std::time::Duration;

use common::{TestServer, reader, settings_in};
use otklik_server::App;
use reqwest::StatusCode;
use serde_json::json;

/// The value of the series `name{labels}` (exactly as written), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

struct Scraper {
    client: reqwest::Client,
    url: String,
}

impl Scraper {
    async fn text(&self) -> String {
        let resp = self.client.get(&self.url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        resp.text().await.unwrap()
    }

    async fn get(&self, series: &str) -> f64 {
        value(&self.text().await, series).unwrap_or(0.0)
    }
}

#[tokio::test]
async fn the_series_move_with_the_traffic_and_stay_off_the_public_listener() {
    let hook = common::webhook::Receiver::default();
    let hook_url = hook.start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.webhook_url = Some(hook_url);
    settings.rate_limits = vec!["off".into(), "reactions.reader=1/1h".into()];
    let scrapes = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scraper =
        Scraper { client: reqwest::Client::new(), url: format!("http://{}/metrics", scrapes.local_addr().unwrap()) };
    let app = App::open(&settings).await.unwrap().with_metrics(scrapes);
    let s = TestServer::serve(dir, app).await;

    let before = scraper.text().await;
    assert!(before.contains("otklik_build_info{version=\""), "{before}");
    let reactions =
        r#"otklik_http_requests_total{method="PUT",route="/api/v1/articles/{article}/reactions/mine",status="200"}"#;
    let limited =
        r#"otklik_http_requests_total{method="PUT",route="/api/v1/articles/{article}/reactions/mine",status="429"}"#;
    let thread_reads =
        r#"otklik_http_request_duration_seconds_count{method="GET",route="/api/v1/articles/{article}/comments"}"#;
    let (hits, misses) =
        (r#"otklik_page_cache_requests_total{result="hit"}"#, r#"otklik_page_cache_requests_total{result="miss"}"#);
    let refusals = r#"otklik_rate_limit_refusals_total{limit="reactions.reader"}"#;
    let batches = r#"otklik_writer_batch_size_count{writer="#;
    let counted = |text: &str, series: &str| value(text, series).unwrap_or(0.0);
    let batches_in = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with(batches))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };

    // A reaction, then one over the reader's limit.
    for expected in [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
        let resp = s
            .client
            .put(s.mine("m"))
            .header("X-Otklik-Reader", reader(1))
            .json(&json!({"kind": "like"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected);
    }
    // A comment (a webhook delivery), and its thread read twice: a miss, then a hit.
    let posted = s
        .client
        .post(s.url("/api/v1/articles/m/comments"))
        .header("X-Otklik-Reader", reader(2))
        .json(&json!({"text": "counted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    for _ in 0..2 {
        let resp = s.client.get(s.url("/api/v1/articles/m/comments")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }
    // A route that does not exist, and the metrics asked of the public listener: not there.
    let resp = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    hook.until("the comment's delivery", |h| !h.delivered().is_empty()).await;
    common::until("the delivery counted", Duration::from_secs(10), || async {
        scraper.get(r#"otklik_webhook_deliveries_total{result="delivered"}"#).await >= 1.0
    })
    .await;
    // A live stream held open while scraped.
    let stream = s.client.get(s.url("/api/v1/events?articles=m")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let after = scraper.text().await;
    assert_eq!(counted(&after, reactions) - counted(&before, reactions), 1.0, "{after}");
    assert_eq!(counted(&after, limited) - counted(&before, limited), 1.0, "{after}");
    assert_eq!(counted(&after, refusals) - counted(&before, refusals), 1.0, "{after}");
    assert_eq!(counted(&after, thread_reads) - counted(&before, thread_reads), 2.0, "{after}");
    assert!(counted(&after, hits) > counted(&before, hits), "{after}");
    assert!(counted(&after, misses) > counted(&before, misses), "{after}");
    assert!(batches_in(&after) >= batches_in(&before) + 2.0, "the reaction's and the comment's batches: {after}");
    assert!(
        counted(&after, r#"otklik_http_requests_total{method="GET",route="unmatched",status="404"}"#) >= 1.0,
        "{after}"
    );
    assert_eq!(counted(&after, "otklik_live_streams"), 1.0, "{after}");
    assert!(counted(&after, "otklik_open_connections") >= 1.0, "{after}");
    assert_eq!(value(&after, "otklik_webhook_backlog_age_seconds"), Some(0.0), "nothing waits: {after}");
    assert!(after.lines().any(|l| l.starts_with("otklik_db_pool_connections{")), "{after}");
    // Every histogram ends with its +Inf bucket equal to its count.
    let inf = r#"otklik_http_request_duration_seconds_bucket{method="GET",route="/api/v1/articles/{article}/comments",le="+Inf"}"#;
    assert_eq!(value(&after, inf), value(&after, thread_reads));
    drop(stream);
}

/// The dashboard in deploy/ asks only for series the server writes, so none of its panels stays empty.
#[tokio::test]
async fn the_grafana_dashboard_reads_series_the_server_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    // A webhook, so that its backlog is written too (nothing is sent: no comment is posted).
    settings.webhook_url = Some("http://127.0.0.1:9/unused".into());
    let scrapes = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let scraper =
        Scraper { client: reqwest::Client::new(), url: format!("http://{}/metrics", scrapes.local_addr().unwrap()) };
    let app = App::open(&settings).await.unwrap().with_metrics(scrapes);
    let _s = TestServer::serve(dir, app).await;
    let text = scraper.text().await;
    let written: std::collections::BTreeSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()).collect();

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana-otklik.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names =
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("otklik_"));
            for name in names {
                let family =
                    ["_bucket", "_sum", "_count"].iter().fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
                assert!(written.contains(family), "{}: {name} is not written", panel["title"]);
            }
        }
    }
}
