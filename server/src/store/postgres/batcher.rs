//! A node's batcher for one kind of write: whatever writes of that kind wait go in one transaction, applied
//! set-based, so that one commit (one WAL flush, one turn at each hot row's lock) carries many.
//!
//! Reactions and comment posts, most of a site's writes, go through one each. A batch that fails for any
//! reason but an outage is applied again one write at a time, so one write's fault is its own.

use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};

use super::in_tx;
use crate::store::BoxFuture;

/// Most writes applied in one transaction.
const MAX_BATCH: usize = 512;

/// Applies a batch of writes at `now` (seconds) in the caller's transaction, answering each, in order.
pub(super) type Apply<W, A> = for<'c> fn(&'c mut PgConnection, &'c [W], i64) -> BoxFuture<'c, anyhow::Result<Vec<A>>>;

enum Msg<W, A> {
    Write(W, oneshot::Sender<anyhow::Result<A>>),
    Close(oneshot::Sender<()>),
}

pub(super) struct Batcher<W, A> {
    queue: mpsc::Sender<Msg<W, A>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<W: Send + Sync + 'static, A: Send + 'static> Batcher<W, A> {
    /// Starts the batcher's task; `what` names its writes in logs and errors.
    pub(super) fn start(pool: PgPool, what: &'static str, apply: Apply<W, A>) -> Self {
        let (queue, receiver) = mpsc::channel(8192);
        let task = tokio::spawn(run(pool, what, apply, receiver));
        Self { queue, task: tokio::sync::Mutex::new(Some(task)) }
    }

    /// Queues a write and waits until its batch has committed (or failed).
    pub(super) async fn write(&self, write: W) -> anyhow::Result<A> {
        crate::store::ask(&self.queue, |reply| Msg::Write(write, reply)).await
    }

    /// Stores what was already queued, then stops.
    pub(super) async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.queue.send(Msg::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn run<W: Send + Sync, A: Send>(
    pool: PgPool,
    what: &'static str,
    apply: Apply<W, A>,
    mut queue: mpsc::Receiver<Msg<W, A>>,
) {
    let mut msgs = Vec::with_capacity(MAX_BATCH);
    let mut closers = Vec::new();
    // Writes gather in the queue while a batch is applied: the next batch is what waited meanwhile. One
    // batch at a time: two would take turns at the same hot rows (an article's counts), each half as big.
    while queue.recv_many(&mut msgs, MAX_BATCH).await > 0 {
        let (mut writes, mut replies) = (Vec::with_capacity(msgs.len()), Vec::with_capacity(msgs.len()));
        for msg in msgs.drain(..) {
            match msg {
                Msg::Write(write, reply) => {
                    writes.push(write);
                    replies.push(reply);
                }
                Msg::Close(done) => {
                    queue.close();
                    closers.push(done);
                }
            }
        }
        if writes.is_empty() {
            continue;
        }
        let (writes_in_batch, started) = (writes.len(), std::time::Instant::now());
        answer(&pool, what, apply, writes, replies).await;
        crate::metrics::batch(what, writes_in_batch, started.elapsed(), queue.len());
    }
    for done in closers {
        let _ = done.send(());
    }
}

/// Commits one batch and answers each of its writes.
async fn answer<W, A>(
    pool: &PgPool,
    what: &'static str,
    apply: Apply<W, A>,
    writes: Vec<W>,
    replies: Vec<oneshot::Sender<anyhow::Result<A>>>,
) {
    let now = crate::unix_now();
    match commit(pool, apply, &writes, now).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(Ok(answer));
            }
        }
        Err(err) if writes.len() > 1 && !crate::store::unavailable(&err) => {
            tracing::warn!(error = %format!("{err:#}"), writes = writes.len(), "{what} batch failed; applying its writes one by one");
            for (write, reply) in writes.iter().zip(replies) {
                let answer = commit(pool, apply, std::slice::from_ref(write), now).await;
                let _ = reply.send(
                    answer
                        .map_err(|err| failed(what, &err))
                        .and_then(|mut a| a.pop().ok_or_else(|| anyhow::anyhow!("the {what} batch answered nothing"))),
                );
            }
        }
        Err(err) => {
            for reply in replies {
                let _ = reply.send(Err(failed(what, &err)));
            }
        }
    }
}

/// Applies `writes` in a transaction of their own (again if it lost a race with another node's).
async fn commit<W, A>(pool: &PgPool, apply: Apply<W, A>, writes: &[W], now: i64) -> anyhow::Result<Vec<A>> {
    let answers = in_tx!(pool, conn => apply(conn, writes, now))?;
    anyhow::ensure!(answers.len() == writes.len(), "a batch answered {} of {} writes", answers.len(), writes.len());
    Ok(answers)
}

/// Logs a failed write and gives its request an error of the same kind: an outage is a 503, not a 500.
fn failed(what: &str, err: &anyhow::Error) -> anyhow::Error {
    if crate::store::unavailable(err) {
        tracing::warn!(error = %format!("{err:#}"), "{what} not stored: the database is unavailable");
        anyhow::Error::new(crate::store::Unavailable)
    } else {
        tracing::error!(error = %format!("{err:#}"), "{what} not stored");
        anyhow::anyhow!("storing the {what} failed")
    }
}
