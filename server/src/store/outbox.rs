//! The store's outbox of webhook deliveries.

use async_trait::async_trait;

/// Webhook deliveries waiting to be made (written with the change they announce).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Webhook deliveries due at `now` (unix seconds) with ids above `after`, oldest first.
    async fn outbox_due(&self, now: i64, after: i64, limit: usize) -> anyhow::Result<Vec<OutboxItem>>;

    /// When the next webhook delivery falls due, if any waits.
    async fn outbox_next(&self) -> anyhow::Result<Option<i64>>;

    /// Records a delivery attempt: `None` = delivered (the row goes), else when to try again.
    async fn outbox_attempted(&self, id: i64, retry_at: Option<i64>) -> anyhow::Result<()>;
}

/// A webhook delivery waiting in the outbox.
#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub event: String,
    /// The JSON body to POST.
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// The webhook event announcing `comment` on `article` (`comment.created`, or `comment.pending` for one
/// awaiting moderation, so a receiver can call the moderators), and its body.
pub fn comment_event(
    article: &str,
    url: Option<String>,
    title: Option<String>,
    comment: &otklik_api::Comment,
) -> (&'static str, serde_json::Value) {
    // The reader-specific fields mean nothing to a receiver.
    let comment = otklik_api::Comment { mine: false, editable_until: None, ..comment.clone() };
    let event = if comment.pending { "comment.pending" } else { "comment.created" };
    let body = serde_json::json!({
        "event": event,
        "comment": comment,
        "article": { "id": article, "url": url, "title": title },
    });
    (event, body)
}

/// The body of the `typo.created` event announcing `report`.
pub fn typo_event(report: &otklik_api::TypoReport) -> serde_json::Value {
    serde_json::json!({
        "event": "typo.created",
        "typo": report,
        "article": { "id": report.article, "url": report.page.url, "title": report.page.title },
    })
}
