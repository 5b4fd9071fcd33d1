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
