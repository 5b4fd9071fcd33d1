//! A real `otklik serve` process for the tests of several nodes and of faults: spawned on a database,
//! waited for, spoken to over HTTP, killed when dropped.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use otklik_api::{Comment, CommentId, CommentPage, ReactionCounts, ReactionKind, ReactionsView};
use reqwest::StatusCode;
use serde_json::json;

pub const EDITOR_TOKEN: &str = "editor-token-for-node-tests";

/// A real `otklik serve` process on the shared database.
pub struct Node {
    pub child: Child,
    pub base: String,
    pub client: reqwest::Client,
    /// Told when the node logs that it is serving (dropped unsent if it exits first).
    serving: Option<tokio::sync::oneshot::Receiver<()>>,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts a node on `database` with these extra `serve` flags, without waiting for it.
    pub fn spawn(database: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_otklik"))
            .current_dir(dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database])
            .args(["--assets", "no-assets", "--rate-limits", "off", "--min-compose-secs", "0"])
            .args(["--admin-token", EDITOR_TOKEN])
            .args(extra)
            .env_remove("OTKLIK_DATABASE")
            .env_remove("OTKLIK_SECRET")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            // What it says when it fails to start (read then: a node that serves says little here).
            .stderr(Stdio::piped())
            .spawn()
            .expect("the otklik binary starts");
        let mut child = child;
        let log = child.stdout.take().expect("the node's log");
        let (told, serving) = tokio::sync::oneshot::channel();
        // Reads the log to its end (a full pipe would stop the node), saying when the node is serving.
        std::thread::spawn(move || {
            let mut told = Some(told);
            for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
                if line.contains("otklik is serving")
                    && let Some(told) = told.take()
                {
                    let _ = told.send(());
                }
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        Self { child, base, client: reqwest::Client::new(), serving: Some(serving), _dir: dir }
    }

    /// Waits until the node says it is serving (30 s at most: a guard, not a wait).
    pub async fn ready(mut self) -> Self {
        let serving = self.serving.take().expect("a node is readied once");
        match tokio::time::timeout(Duration::from_secs(30), serving).await {
            Ok(Ok(())) => self,
            Ok(Err(_)) => {
                let mut said = String::new();
                if let Some(mut stderr) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
                }
                panic!("node {} exited before serving: {:?}\n{said}", self.base, self.child.wait())
            }
            Err(_) => panic!("node {} did not come up within 30 s", self.base),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn react(&self, article: &str, who: &str, kind: Option<ReactionKind>) -> ReactionsView {
        let url = self.url(&format!("/api/v1/articles/{article}/reactions/mine"));
        let request = match kind {
            Some(kind) => self.client.put(url).json(&json!({ "kind": kind })),
            None => self.client.delete(url),
        };
        let resp = request.header("X-Otklik-Reader", who).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    pub async fn counts(&self, article: &str) -> ReactionCounts {
        let url = self.url(&format!("/api/v1/articles/{article}/reactions"));
        self.client.get(url).send().await.unwrap().json::<ReactionsView>().await.unwrap().counts
    }

    pub async fn try_post(&self, article: &str, who: &str, text: &str) -> reqwest::Response {
        self.try_reply(article, who, text, None).await
    }

    /// A new comment, answering `parent` if there is one.
    pub async fn try_reply(
        &self,
        article: &str,
        who: &str,
        text: &str,
        parent: Option<CommentId>,
    ) -> reqwest::Response {
        let url = self.url(&format!("/api/v1/articles/{article}/comments"));
        let body = json!({ "text": text, "parent": parent });
        self.client.post(url).header("X-Otklik-Reader", who).json(&body).send().await.unwrap()
    }

    pub async fn post(&self, article: &str, who: &str, text: &str) -> Comment {
        self.reply(article, who, text, None).await
    }

    pub async fn reply(&self, article: &str, who: &str, text: &str, parent: Option<CommentId>) -> Comment {
        let resp = self.try_reply(article, who, text, parent).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    pub async fn page(&self, article: &str, who: &str) -> CommentPage {
        let url = self.url(&format!("/api/v1/articles/{article}/comments"));
        self.client.get(url).header("X-Otklik-Reader", who).send().await.unwrap().json().await.unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
