//! How fast the outbox sends messages: `N` confirmations queued while the SMTP server is down, then
//! delivered by a server started once it is up (the sender catches up on everything waiting), timed from
//! that start until the sink says the last message has arrived. The SMTP server is aiosmtpd on loopback
//! (`scripts/smtp-sink.py`, installed by `make setup`), which keeps each message as a file.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::StatusCode;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::bench::{Server, connect, post, token};

pub fn run(bin: &Path, messages: usize) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("otklik-mail-bench-{}", std::process::id()));
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox)?;
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(measure(bin, &dir, &inbox, messages));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(bin: &Path, dir: &Path, inbox: &Path, messages: usize) -> anyhow::Result<()> {
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

    let mut sink = Sink::start(port, inbox)?;
    sink.ready().await?;
    let mut server = Server::start_with(bin, dir, &database, &env).await?;
    let started = Instant::now();
    // The sink says "message N" as each one is in place.
    for arrived in 0..messages {
        let said = tokio::time::timeout(Duration::from_secs(600), sink.said.recv()).await.ok().flatten();
        anyhow::ensure!(said.is_some(), "{arrived} of {messages} messages after 10 minutes");
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.stop();
    println!(
        "mail: the outbox sent {messages} messages to aiosmtpd on loopback in {elapsed:.2} s: {:.0} messages/s (one sender, one SMTP connection reused)",
        messages as f64 / elapsed
    );
    Ok(())
}

/// aiosmtpd keeping messages in `inbox`, stopped when dropped.
struct Sink {
    child: tokio::process::Child,
    /// What the sink says, a line each: "ready", then one per message in place.
    said: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Sink {
    fn start(port: u16, inbox: &Path) -> anyhow::Result<Self> {
        let python = Path::new("target/venv/bin/python");
        anyhow::ensure!(python.exists(), "target/venv/bin/python is missing: run `make setup` (it installs aiosmtpd)");
        let mut child = tokio::process::Command::new(python)
            .arg("scripts/smtp-sink.py")
            .arg(port.to_string())
            .arg(inbox)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let (tell, said) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tell.send(line);
            }
        });
        Ok(Self { child, said })
    }

    /// Waits until the sink says it listens.
    async fn ready(&mut self) -> anyhow::Result<()> {
        let said = tokio::time::timeout(Duration::from_secs(20), self.said.recv()).await.ok().flatten();
        anyhow::ensure!(said.as_deref() == Some("ready"), "the SMTP sink did not start");
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
