//! A Server-Sent Events reader for tests: a stream read and parsed as a browser's `EventSource` does.

use std::time::Duration;

use reqwest::StatusCode;

/// One event as received.
#[derive(Debug)]
pub struct Received {
    pub id: Option<String>,
    pub name: String,
    pub data: String,
}

/// An open stream, parsed as the SSE format says (comments and `retry:` lines skipped).
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Opens the stream at `url` (its status and headers checked), resuming after `last_id` if given.
    pub async fn open(client: &reqwest::Client, url: &str, last_id: Option<&str>) -> Self {
        let mut req = client.get(url);
        if let Some(id) = last_id {
            req = req.header("Last-Event-ID", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        Self { response, buffer: String::new() }
    }

    /// The next event (5 s at most: a guard, not a wait).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let (mut id, mut name, mut data) = (None, String::from("message"), String::new());
                    for line in block.lines() {
                        match line.split_once(':').map(|(k, v)| (k, v.strip_prefix(' ').unwrap_or(v))) {
                            Some(("id", v)) => id = Some(v.to_owned()),
                            Some(("event", v)) => name = v.to_owned(),
                            Some(("data", v)) => data.push_str(v),
                            _ => {}
                        }
                    }
                    if !data.is_empty() {
                        return Received { id, name, data };
                    }
                    continue;
                }
                let chunk = self.response.chunk().await.unwrap().expect("the stream stays open");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("an event within 5 s")
    }

    /// The present state a stream starts with: a `reactions` and a `comments` event for each of its
    /// `articles`.
    pub async fn present(&mut self, articles: usize) -> Vec<Received> {
        let mut events = Vec::new();
        for _ in 0..articles * 2 {
            let event = self.next().await;
            assert!(["reactions", "comments"].contains(&event.name.as_str()), "{event:?}");
            events.push(event);
        }
        events
    }

    /// The next event, which must be `name`, parsed.
    pub async fn expect<T: serde::de::DeserializeOwned>(&mut self, name: &str) -> (Option<String>, T) {
        let event = self.next().await;
        assert_eq!(event.name, name, "{event:?}");
        (event.id, serde_json::from_str(&event.data).unwrap())
    }
}
