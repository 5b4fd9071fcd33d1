//! The server's sense of the current time, which tests can move ahead instead of waiting.
//!
//! The product's rules read it (how old a compose token is, whether a ban has run out, when IP hashes are
//! past their retention); rows carry the store's own timestamps, in the same unit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix seconds: the system's, plus however far a test has moved this clock on.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    ahead: Option<Arc<AtomicI64>>,
    /// Told when a test moves the clock, so that tasks waiting for a time wake up to look again.
    moved: Option<Arc<tokio::sync::watch::Sender<()>>>,
}

/// A task's view of the moves of a clock: [`Moves::next`] resolves when the clock has moved since the task
/// last looked, including while it was busy elsewhere (a wake-up sent only to those already waiting would
/// be lost then).
pub struct Moves(Option<tokio::sync::watch::Receiver<()>>);

impl Moves {
    /// Resolves when a test has moved the clock on since the last call (or since [`Clock::moves`]); never
    /// for the system's clock.
    pub async fn next(&mut self) {
        if let Some(moves) = &mut self.0
            && moves.changed().await.is_ok()
        {
            return;
        }
        std::future::pending().await
    }
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    /// The system's time until [`Clock::advance`] moves it on; clones share the setting.
    pub fn adjustable() -> Self {
        Self { ahead: Some(Arc::new(AtomicI64::new(0))), moved: Some(Arc::new(tokio::sync::watch::Sender::new(()))) }
    }

    /// Moves an [`adjustable`](Clock::adjustable) clock `secs` ahead (a system clock ignores this).
    pub fn advance(&self, secs: i64) {
        if let Some(ahead) = &self.ahead {
            ahead.fetch_add(secs, Ordering::Relaxed);
        }
        if let Some(moved) = &self.moved {
            moved.send_replace(());
        }
    }

    /// The moves of this clock from now on, for a task that waits for a time.
    pub fn moves(&self) -> Moves {
        Moves(self.moved.as_ref().map(|moved| moved.subscribe()))
    }

    pub fn now(&self) -> i64 {
        crate::unix_now() + self.ahead.as_ref().map_or(0, |a| a.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn an_adjustable_clock_moves_ahead_for_every_clone() {
        let clock = Clock::adjustable();
        let shared = clock.clone();
        let before = clock.now();
        shared.advance(3_600);
        assert!(clock.now() >= before + 3_600);
        let system = Clock::system();
        system.advance(3_600);
        assert!(system.now() < before + 3_600);
    }
}
