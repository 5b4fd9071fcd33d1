//! Request ids and logs: every answer names its request (`X-Request-Id`), a server error's body carries the
//! same id, and with `OTKLIK_LOG_FORMAT=json` each request leaves one JSON line with that id, its route
//! template, status and latency, and nothing of the reader's token.

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TestServer, reader};
use otklik_api::{ErrorBody, ErrorCode};
use reqwest::StatusCode;

fn id_of(resp: &reqwest::Response) -> String {
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    id
}

#[tokio::test]
async fn every_answer_names_its_request_and_a_server_error_carries_the_same_id() {
    let s = TestServer::start().await;
    let first = s.client.get(s.reactions("ids")).header("X-Request-Id", "chosen-by-the-client").send().await.unwrap();
    let second = s.client.get(s.reactions("ids")).send().await.unwrap();
    let (a, b) = (id_of(&first), id_of(&second));
    assert_ne!(a, b);
    assert_ne!(a, "chosen-by-the-client", "the server makes the id; a client cannot choose what its logs say");
    let client_error = s.client.get(s.url("/api/v1/articles/bad%20id/reactions")).send().await.unwrap();
    id_of(&client_error);
    assert!(client_error.json::<ErrorBody>().await.unwrap().error.request_id.is_none(), "only server errors");

    // Every read times out at once on this server: a 503, a server error.
    let slow = TestServer::start_with(|settings| settings.request_timeout = Some(Duration::ZERO)).await;
    let failed = slow.client.get(slow.reactions("ids")).send().await.unwrap();
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let id = id_of(&failed);
    let body: ErrorBody = failed.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::Unavailable);
    assert_eq!(body.error.request_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn json_logs_give_each_request_a_line_with_its_id_route_status_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_otklik"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database"])
        .arg(common::database_in(dir.path()))
        .arg("--assets")
        .arg(dir.path().join("no-assets"))
        .env("OTKLIK_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Each line the server writes, as it writes it: the test waits for the lines it needs, not for a time.
    let (sent, mut written) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stdout = server.stdout.take().unwrap();
    std::thread::spawn(move || {
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).try_for_each(|l| sent.send(l)).ok();
    });
    let mut lines = Vec::new();
    // The next line that `wanted` accepts (every line read is kept); a guard bounds the wait, not a timer.
    let mut next_line = async |wanted: &dyn Fn(&serde_json::Value) -> bool| {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let line = written.recv().await.expect("the server is still writing its log");
                let parsed = serde_json::from_str::<serde_json::Value>(&line).ok();
                lines.push(line);
                if let Some(value) = parsed.filter(|v| wanted(v)) {
                    return value;
                }
            }
        })
        .await
        .expect("the line within 20 s")
    };
    // It is listening once it says so.
    next_line(&|l| l["fields"]["message"] == "otklik is serving").await;

    let client = reqwest::Client::new();
    let token = reader(7);
    let url = format!("http://127.0.0.1:{port}/api/v1/articles/logged/reactions/mine");
    let resp = client.put(url).header("X-Otklik-Reader", &token).json(&serde_json::json!({"kind": "like"})).send();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let id = id_of(&resp);
    let logged = next_line(&|l| l["span"]["id"] == id.as_str() && l["fields"]["status"].is_number()).await;
    let _ = server.kill();
    let _ = server.wait();

    assert_eq!(logged["span"]["route"], "/api/v1/articles/{article}/reactions/mine");
    assert_eq!(logged["span"]["method"], "PUT");
    assert_eq!(logged["fields"]["status"], 200);
    assert!(logged["fields"]["latency_us"].as_u64().is_some(), "{logged}");
    assert!(lines.iter().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "one JSON object a line");
    assert!(lines.iter().all(|l| !l.contains(&token)), "the reader's token is never logged");
}
