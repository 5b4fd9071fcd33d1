//! A webhook receiver on loopback for the tests of deliveries: a real HTTP server that records what it is
//! sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};

/// A webhook receiver on loopback: records each delivery; answers 503 while `down`, and never while
/// `hanging` (the sender's own timeout ends the attempt, or its death).
#[derive(Clone, Default)]
pub struct Receiver {
    pub deliveries: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    pub attempts: Arc<Mutex<u32>>,
    pub down: Arc<Mutex<bool>>,
    pub hanging: Arc<Mutex<bool>>,
    /// Woken at every attempt, so that tests wait for deliveries rather than poll for them.
    attempted: Arc<tokio::sync::Notify>,
}

impl Receiver {
    pub async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| async move {
                *me.attempts.lock().unwrap() += 1;
                let hanging = *me.hanging.lock().unwrap();
                if hanging {
                    me.attempted.notify_waiters();
                    std::future::pending::<()>().await;
                }
                let status = if *me.down.lock().unwrap() {
                    AxumStatus::SERVICE_UNAVAILABLE
                } else {
                    me.deliveries.lock().unwrap().push((headers, body));
                    AxumStatus::NO_CONTENT
                };
                me.attempted.notify_waiters();
                status
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    pub fn delivered(&self) -> Vec<(HeaderMap, String)> {
        self.deliveries.lock().unwrap().clone()
    }

    pub async fn until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        self.until_within(what, Duration::from_secs(5), done).await;
    }

    /// As [`Receiver::until`], guarded by `within` instead of 5 s.
    pub async fn until_within(&self, what: &str, within: Duration, done: impl Fn(&Self) -> bool) {
        let waited = tokio::time::timeout(within, async {
            loop {
                // Registered before the check, so an attempt between the two still wakes this wait.
                let attempted = self.attempted.notified();
                tokio::pin!(attempted);
                attempted.as_mut().enable();
                if done(self) {
                    return;
                }
                attempted.await;
            }
        })
        .await;
        assert!(waited.is_ok(), "webhook receiver: {what} did not happen within {within:?}");
    }
}
