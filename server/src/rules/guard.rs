//! Who may write now: bans in force and rate limits, checked before any write a reader sends.

use std::time::Duration;

use crate::rules::Rules;
use crate::rules::net::ClientIp;
use crate::rules::rate_limit::LimitKind;
use crate::rules::reader::ReaderHash;

/// Why a reader's write is not taken now.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The reader or their address is banned until then (unix seconds).
    Banned { until: i64 },
    /// A limit is exhausted; it allows another write after this long.
    RateLimited { retry_after: Duration },
}

/// Refuses a write from a banned reader or address.
pub fn not_banned(rules: &Rules, reader: &ReaderHash, client: &ClientIp) -> Result<(), Refusal> {
    match rules.bans.check(&reader.0, client, &rules.reader_key, rules.clock.now()) {
        None => Ok(()),
        Some(until) => Err(Refusal::Banned { until }),
    }
}

/// Counts one write against each limit; the first that is exhausted refuses it.
pub async fn limited(rules: &Rules, checks: &[(LimitKind, &[u8; 16])]) -> Result<(), Refusal> {
    for (kind, key) in checks {
        rules.limits.check(*kind, key).await.map_err(|retry_after| {
            crate::metrics::refused(kind.name());
            Refusal::RateLimited { retry_after }
        })?;
    }
    Ok(())
}
