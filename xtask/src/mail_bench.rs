//! How fast the outbox sends messages: `N` confirmations queued while the SMTP server is down, then
//! delivered by a server started once it is up (the sender catches up on everything waiting), timed from
//! that start until the sink says the last message has arrived. The SMTP server is aiosmtpd on loopback
//! (`scripts/smtp-sink.py`, installed by `make setup`), which keeps each message as a file and says so.

use std::path::Path;
use std::time::Instant;

use http_body_util::BodyExt as _;
use hyper::StatusCode;

use crate::bench::{Server, connect, post, token};

// The notification tests' SMTP sink, the same file rather than a copy.
#[allow(dead_code)]
#[path = "../../server/tests/common/smtp.rs"]
mod smtp;

pub fn run(bin: &Path, messages: usize) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("otklik-mail-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result =
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(measure(bin, &dir, messages));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(bin: &Path, dir: &Path, messages: usize) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let env = [("OTKLIK_SMTP_URL", smtp.as_str()), ("OTKLIK_MAIL_FROM", "bench <bench@otklik.example>")];
    let database = dir.join("mail.db").to_string_lossy().into_owned();

    // Queued while nobody listens: each first attempt fails and waits for a retry.
    let mut server = Server::start_with(bin, dir, &database, &env).await?;
    let started = Instant::now();
    let mut sender = connect(server.addr).await?;
    for n in 0..messages {
        let body = format!(r#"{{"text":"Comment {n}","notify_email":"reader{n}@bench.example"}}"#);
        let resp = sender.send_request(post("/api/v1/articles/mail-bench/comments", &token(7, n as u64), body)).await?;
        let status = resp.status();
        let _ = resp.into_body().collect().await?;
        anyhow::ensure!(status == StatusCode::CREATED, "posting comment {n}: {status}");
    }
    println!("mail: {messages} comments with an address posted in {:.1} s", started.elapsed().as_secs_f64());
    server.stop();

    let sink = smtp::Sink::start_on(port).await;
    let mut server = Server::start_with(bin, dir, &database, &env).await?;
    let started = Instant::now();
    // The sink says "message N" as each one is in place.
    anyhow::ensure!(sink.arrived(messages).await, "fewer than {messages} messages arrived");
    let elapsed = started.elapsed().as_secs_f64();
    server.stop();
    println!(
        "mail: the outbox sent {messages} messages to aiosmtpd on loopback in {elapsed:.2} s: {:.0} messages/s (one sender, one SMTP connection reused)",
        messages as f64 / elapsed
    );
    Ok(())
}
