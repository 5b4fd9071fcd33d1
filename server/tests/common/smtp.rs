//! A real SMTP server on loopback for the notification tests: aiosmtpd (from PyPI, installed by `make
//! setup` into target/venv) running `scripts/smtp-sink.py`, which keeps every accepted message as a file.
//! The end-to-end test and `xtask mail-bench` include this file too.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running sink; stopped when dropped.
pub struct Sink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    /// The lines the sink prints as things happen ("ready", "message N"), read on a thread of their own.
    said: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<String>>,
    /// How many "message N" lines have been read.
    arrived: std::sync::atomic::AtomicUsize,
}

/// How long a test waits for the sink to start or a message to arrive before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// A message the sink accepted: its headers (names lower-cased) and its text and HTML parts, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The text/html part, decoded.
    pub html: String,
    pub raw: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The subject, decoded from its RFC 2047 words.
    pub fn subject(&self) -> String {
        decode_words(self.header("subject").unwrap_or_default())
    }

    /// The first link in the text that goes to `path` on some server.
    pub fn link(&self, path: &str) -> Option<String> {
        self.text.split_whitespace().find(|w| w.starts_with("http") && w.contains(path)).map(str::to_owned)
    }
}

/// A free loopback port (closed again at once: the sink, or nothing, takes it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port()
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python");
    assert!(venv.exists(), "{} is missing: run `make setup` (it installs aiosmtpd)", venv.display());
    venv
}

impl Sink {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts the sink on `port` and waits until it says it listens.
    pub async fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/smtp-sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP sink");
        let (tell, said) = tokio::sync::mpsc::unbounded_channel();
        let out = BufReader::new(child.stdout.take().expect("the sink's output"));
        std::thread::spawn(move || out.lines().map_while(Result::ok).try_for_each(|line| tell.send(line)));
        let sink = Self { port, dir, child, said: tokio::sync::Mutex::new(said), arrived: Default::default() };
        assert_eq!(sink.next_line().await.as_deref(), Some("ready"), "the SMTP sink did not start on port {port}");
        sink
    }

    /// The sink's next line, or `None` when it has said nothing for [`PATIENCE`] (or stopped).
    async fn next_line(&self) -> Option<String> {
        tokio::time::timeout(PATIENCE, self.said.lock().await.recv()).await.ok().flatten()
    }

    /// `OTKLIK_SMTP_URL` for this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the sink's directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|f| parse(&std::fs::read_to_string(f).expect("a message"))).collect()
    }

    /// The recipients refused so far (see the script).
    pub fn refused(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("refused.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until `count` messages in all have arrived (the sink says so of each); false when it falls
    /// silent for [`PATIENCE`] first.
    pub async fn arrived(&self, count: usize) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        while self.arrived.load(Relaxed) < count {
            match self.next_line().await {
                Some(line) if line.starts_with("message ") => {
                    self.arrived.fetch_add(1, Relaxed);
                }
                Some(_) => {}
                None => return false,
            }
        }
        true
    }

    /// Waits until at least `count` messages have arrived, and answers them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        assert!(self.arrived(count).await, "{count} messages expected, {} arrived", self.messages().len());
        self.messages()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Splits a message into headers and its text/plain part (quoted-printable or base64 decoded).
fn parse(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let headers = unfold(head);
    let to = headers.iter().find(|(n, _)| n == "x-envelope-to").map(|(_, v)| v.clone()).unwrap_or_default();
    // A single-part message is its own text part.
    let text =
        part(body, "text/plain").or_else(|| part(&format!("{head}\n\n{body}"), "text/plain")).unwrap_or_default();
    let html = part(body, "text/html").unwrap_or_default();
    Mail { to, headers, text, html, raw: raw.clone() }
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    headers
}

/// The part of a multipart body of content type `kind`.
fn part(body: &str, kind: &str) -> Option<String> {
    for part in body.split("\n--") {
        let (head, content) = part.split_once("\n\n")?;
        let headers = unfold(head.trim_start_matches(|c: char| c != '\n').trim_start());
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_ascii_lowercase());
        if !header("content-type").is_some_and(|t| t.starts_with(kind)) {
            continue;
        }
        let content = content.trim_end();
        return Some(match header("content-transfer-encoding").as_deref() {
            Some("quoted-printable") => quoted_printable(content),
            Some("base64") => {
                use base64::Engine as _;
                let joined: String = content.split_whitespace().collect();
                String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(joined).ok()?).into_owned()
            }
            _ => content.to_owned(),
        });
    }
    None
}

fn quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.replace("=\n", "").into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(Ok(byte)) = bytes.get(i + 1..i + 3).map(|h| u8::from_str_radix(&String::from_utf8_lossy(h), 16))
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) decoded.
fn decode_words(value: &str) -> String {
    use base64::Engine as _;
    let (mut out, mut last_encoded) = (String::new(), false);
    for word in value.split_whitespace() {
        let decoded = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?=")).and_then(|w| {
            let mut parts = w.splitn(3, '?');
            let (_, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
            match encoding.to_ascii_lowercase().as_str() {
                "b" => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
                "q" => Some(quoted_printable(&text.replace('_', " "))),
                _ => None,
            }
        });
        // White space between two encoded words is folding, not text; anywhere else it is text.
        let folding = decoded.is_some() && last_encoded;
        if !out.is_empty() && !folding {
            out.push(' ');
        }
        last_encoded = decoded.is_some();
        out.push_str(decoded.as_deref().unwrap_or(word));
    }
    out
}
