//! `cold-start`: how soon a server answers its first request after it is started on an existing database,
//! the widget's files included, as a rolling restart or a new node meets it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

pub fn run(bin: &Path, assets: &Path, runs: usize) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let dir = std::env::temp_dir().join(format!("otklik-cold-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = dir.join("cold.db");
    let measured = (|| {
        // The first start creates and migrates the database; the runs measured start on it as it then is.
        first_answer(bin, assets, &database)?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(first_answer(bin, assets, &database)?);
        }
        anyhow::Ok(times)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let mut times = measured?;
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "cold start on an existing database, widget from {}: first answer after {:.1} ms (median of {runs}; min {:.1}, max {:.1})",
        assets.display(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    Ok(ExitCode::SUCCESS)
}

/// Starts the server and times its first `GET /healthz` answer from the moment of starting it.
fn first_answer(bin: &Path, assets: &Path, database: &Path) -> anyhow::Result<Duration> {
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["serve", "--listen", &addr.to_string(), "--database"])
        .arg(database)
        .arg("--assets")
        .arg(assets)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let answered = loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the server exited before answering: {status}");
        }
        if healthy(addr) {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            anyhow::bail!("no answer from the server within 30 s");
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let _ = child.kill();
    let _ = child.wait();
    Ok(answered)
}

fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(100)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: otklik\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200")
}
