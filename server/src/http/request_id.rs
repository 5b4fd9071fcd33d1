//! Request ids: each request gets one, sent back as `X-Request-Id`, carried by its log lines and by the
//! body of a server error, so that a reader's screenshot or an integrator's report leads to the log line.
//!
//! The id is made here, never taken from the request: a client could otherwise write what it likes into
//! the logs, or make two requests look like one.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id: 16 hex digits.
#[derive(Clone, Copy, Debug)]
pub struct RequestId([u8; 16]);

/// Where this process's ids start, at random: ids of two runs (or two nodes) do not repeat each other.
static START: LazyLock<u64> = LazyLock::new(|| {
    let mut bytes = [0u8; 8];
    // Without randomness (which does not happen on the systems otklik runs on) ids still differ in a run.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
});
static COUNT: AtomicU64 = AtomicU64::new(0);

impl RequestId {
    /// The next id: a count from a random start, mixed (splitmix64's finaliser, a bijection) so that ids
    /// are all different within a run without a system call for each, and do not read as a sequence.
    pub fn fresh() -> Self {
        let mut x = START.wrapping_add(COUNT.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        let mut hex = [0u8; 16];
        for (i, digit) in hex.iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[((x >> (60 - 4 * i)) & 0xf) as usize];
        }
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }

    /// Runs `handling` as the request this id names (see [`current`]).
    pub async fn scope<F: Future>(self, handling: F) -> F::Output {
        CURRENT.scope(self, handling).await
    }
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.as_str().to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| RequestId::fresh().as_str().to_owned()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
