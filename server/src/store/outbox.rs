//! The store's outbox of webhook deliveries.

use async_trait::async_trait;

/// Webhook deliveries waiting to be made (written with the change they announce).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims webhook deliveries due by `due` (unix seconds) with ids above `after`, oldest first: until
    /// `now + lease` seconds, or until their attempt is recorded, no other node is given them (a node that
    /// dies with a claim leaves it to another once the lease ends). A single node has nothing to share.
    async fn outbox_claim(&self, due: i64, after: i64, limit: usize, lease: i64) -> anyhow::Result<Vec<OutboxItem>>;

    /// Gives back a claimed delivery whose attempt was cut short (its sender stopped): due again at once.
    async fn outbox_release(&self, id: i64) -> anyhow::Result<()>;

    /// When the next webhook delivery falls due, if any waits.
    async fn outbox_next(&self) -> anyhow::Result<Option<i64>>;

    /// When (unix seconds) the oldest delivery still to be made was queued, if any waits.
    async fn outbox_oldest(&self) -> anyhow::Result<Option<i64>>;

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
