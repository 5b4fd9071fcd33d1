//! Per-reader and per-IP rate limits on writes: a token bucket per key, kept in memory.
//!
//! Each limit is "N per period": a burst of N is allowed, then one more every period/N. The buckets are
//! stored as a single instant each (the generic cell rate algorithm), so a million keys cost a few tens of
//! megabytes at most, and idle keys are swept out as a shard grows.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a limit counts. Each kind has its own buckets and setting name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitKind {
    CommentReader,
    CommentIp,
    LikeReader,
    LikeIp,
    ReactionReader,
    ReactionIp,
    /// Reaction writes from one address on one article: what one machine minting reader tokens could
    /// add to an article's counts.
    ReactionArticleIp,
    TypoReader,
    TypoIp,
    FlagReader,
    FlagIp,
    /// Console sign-in attempts from one address, and against one account name.
    SignInIp,
    SignInName,
    /// Confirmation messages to one e-mail address, and asked for from one client address.
    ConfirmAddress,
    ConfirmIp,
}

impl LimitKind {
    pub const ALL: [Self; 15] = [
        Self::CommentReader,
        Self::CommentIp,
        Self::LikeReader,
        Self::LikeIp,
        Self::ReactionReader,
        Self::ReactionIp,
        Self::ReactionArticleIp,
        Self::TypoReader,
        Self::TypoIp,
        Self::FlagReader,
        Self::FlagIp,
        Self::SignInIp,
        Self::SignInName,
        Self::ConfirmAddress,
        Self::ConfirmIp,
    ];

    /// The name used in `OTKLIK_RATE_LIMITS`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CommentReader => "comments.reader",
            Self::CommentIp => "comments.ip",
            Self::LikeReader => "likes.reader",
            Self::LikeIp => "likes.ip",
            Self::ReactionReader => "reactions.reader",
            Self::ReactionIp => "reactions.ip",
            Self::ReactionArticleIp => "reactions.article_ip",
            Self::TypoReader => "typos.reader",
            Self::TypoIp => "typos.ip",
            Self::FlagReader => "flags.reader",
            Self::FlagIp => "flags.ip",
            Self::SignInIp => "signin.ip",
            Self::SignInName => "signin.name",
            Self::ConfirmAddress => "confirmations.address",
            Self::ConfirmIp => "confirmations.ip",
        }
    }

    /// Per reader: well above what a person does, far below what a script does. Per address: room for an
    /// office or a mobile carrier's NAT behind one IP.
    const fn default_rate(self) -> Rate {
        const MINUTE: Duration = Duration::from_secs(60);
        let (count, period) = match self {
            Self::CommentReader => (5, MINUTE),
            Self::CommentIp => (30, MINUTE),
            Self::LikeReader => (60, MINUTE),
            Self::LikeIp => (300, MINUTE),
            Self::ReactionReader => (30, MINUTE),
            Self::ReactionIp => (600, MINUTE),
            Self::ReactionArticleIp => (300, Duration::from_secs(3_600)),
            Self::TypoReader => (5, Duration::from_secs(300)),
            Self::TypoIp => (20, Duration::from_secs(300)),
            Self::FlagReader => (20, Duration::from_secs(3_600)),
            Self::FlagIp => (100, Duration::from_secs(3_600)),
            // Enough for a moderator who mistypes; a guesser gets ten tries per quarter hour.
            Self::SignInIp => (10, Duration::from_secs(900)),
            Self::SignInName => (10, Duration::from_secs(900)),
            // A person gives their address again now and then; a script mails a stranger over and over.
            Self::ConfirmAddress => (3, Duration::from_secs(86_400)),
            Self::ConfirmIp => (10, Duration::from_secs(3_600)),
        };
        Rate { count, period }
    }
}

/// The bucket key of a (client IP, article) pair.
pub fn pair_key(ip: &[u8; 16], article: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new().chain_update(ip).chain_update(article.as_bytes()).finalize();
    digest[..16].try_into().expect("a SHA-256 digest has 32 bytes")
}

/// `count` events per `period`, written `5/5m` (units s, m, h, d).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{raw}` is not a rate like 5/5m (count per period in s, m, h or d)");
        let (count, period) = raw.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        let period = period.trim();
        let (number, unit) = period.split_at(period.find(|c: char| !c.is_ascii_digit()).unwrap_or(period.len()));
        let number: u64 = if number.is_empty() { 1 } else { number.parse().map_err(|_| bad())? };
        let unit = match unit {
            "s" | "" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let seconds = number.checked_mul(unit).filter(|s| *s > 0).ok_or_else(bad)?;
        Ok(Self { count, period: Duration::from_secs(seconds) })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.count, self.period.as_secs())
    }
}

/// The configured limits: each kind at its default rate unless set otherwise or switched off. Indexed by
/// the kind itself (declaration order, as in `LimitKind::ALL`): looked up on every write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings([Option<Rate>; LimitKind::ALL.len()]);

impl Default for LimitSettings {
    fn default() -> Self {
        Self(LimitKind::ALL.map(|k| Some(k.default_rate())))
    }
}

impl LimitSettings {
    /// Parses `OTKLIK_RATE_LIMITS` entries: `off` (every limit off), `KIND=off` or `KIND=N/PERIOD`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut settings = Self::default();
        for entry in entries.iter().map(|e| e.as_ref().trim()).filter(|e| !e.is_empty()) {
            if entry == "off" {
                settings.0 = [None; LimitKind::ALL.len()];
                continue;
            }
            let (name, value) = entry.split_once('=').ok_or_else(|| format!("`{entry}` is not KIND=RATE"))?;
            let kind = LimitKind::ALL.into_iter().find(|k| k.name() == name.trim()).ok_or_else(|| {
                let known: Vec<_> = LimitKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown limit `{}` (known: {})", name.trim(), known.join(", "))
            })?;
            let rate = if value.trim() == "off" { None } else { Some(value.parse()?) };
            settings.0[kind as usize] = rate;
        }
        Ok(settings)
    }

    pub fn rate(&self, kind: LimitKind) -> Option<Rate> {
        self.0[kind as usize]
    }
}

/// Buckets are spread over shards so that concurrent writers rarely wait on the same lock.
const SHARDS: usize = 16;
/// A shard this large is swept of keys whose buckets are full again.
const SWEEP_AT: usize = 16_384;

/// Each key's "theoretical arrival time": when its bucket will be full again.
type Buckets = HashMap<(LimitKind, [u8; 16]), Instant>;

pub struct RateLimiter {
    settings: LimitSettings,
    /// Where several nodes count together (PostgreSQL); without it, this process's memory.
    shared: Option<crate::store::DynStore>,
    shards: Vec<Mutex<Buckets>>,
    /// Refused reaction writes per article since start-up, for the editors (vote stuffing shows here).
    refusals: Mutex<HashMap<String, u64>>,
}

/// Articles whose refusals are kept; beyond it only those already counted go on counting.
const REFUSAL_ARTICLES: usize = 10_000;

impl RateLimiter {
    pub fn new(settings: LimitSettings) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        Self { settings, shared: None, shards, refusals: Mutex::new(HashMap::new()) }
    }

    /// A limiter counting in `store`'s shared buckets when it has them (several nodes), else in memory.
    pub fn for_store(settings: LimitSettings, store: &crate::store::DynStore) -> Self {
        let shared = store.shared_limits().is_some().then(|| store.clone());
        Self { shared, ..Self::new(settings) }
    }

    /// Counts a refused reaction write on `article`.
    pub fn count_refusal(&self, article: &str) {
        let mut refusals = self.refusals.lock().expect("refusal counter lock");
        if let Some(n) = refusals.get_mut(article) {
            *n += 1;
        } else if refusals.len() < REFUSAL_ARTICLES {
            refusals.insert(article.to_owned(), 1);
        }
    }

    /// Refused reaction writes per article since start-up.
    pub fn refusals(&self) -> std::collections::BTreeMap<String, u64> {
        self.refusals.lock().expect("refusal counter lock").iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Counts one event for `key` (a reader or IP hash). `Err(wait)` when over the limit: the event is
    /// not counted, and `wait` is how long until one would be allowed.
    pub async fn check(&self, kind: LimitKind, key: &[u8; 16]) -> Result<(), Duration> {
        let Some(rate) = self.settings.rate(kind) else {
            return Ok(());
        };
        let interval = rate.period / rate.count;
        let tolerance = rate.period - interval;
        let Some(shared) = self.shared.as_ref().and_then(|store| store.shared_limits()) else {
            return self.check_here(kind, key, interval, tolerance);
        };
        let mut bucket = [0u8; 17];
        bucket[0] = kind as u8;
        bucket[1..].copy_from_slice(key);
        match shared.take(&bucket, interval, tolerance).await {
            Ok(taken) => taken,
            // The write this guards needs the same database and will report the failure itself; a limit
            // that cannot be counted lets the request through rather than failing it twice.
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "counting a rate limit in the database");
                Ok(())
            }
        }
    }

    fn check_here(
        &self,
        kind: LimitKind,
        key: &[u8; 16],
        interval: Duration,
        tolerance: Duration,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        let mut shard = self.shards[usize::from(key[0]) % SHARDS].lock().expect("rate limit shard lock");
        if shard.len() >= SWEEP_AT {
            shard.retain(|_, tat| *tat > now);
        }
        let tat = shard.get(&(kind, *key)).copied().filter(|t| *t > now).unwrap_or(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        shard.insert((kind, *key), tat + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_in_declaration_order() {
        assert!(LimitKind::ALL.iter().enumerate().all(|(i, k)| *k as usize == i));
    }

    #[test]
    fn rates_parse_in_every_unit() {
        assert_eq!("5/5m".parse(), Ok(Rate { count: 5, period: Duration::from_secs(300) }));
        assert_eq!("100/h".parse(), Ok(Rate { count: 100, period: Duration::from_secs(3_600) }));
        assert_eq!(" 2 / 30s ".parse(), Ok(Rate { count: 2, period: Duration::from_secs(30) }));
        assert_eq!("1/1d".parse(), Ok(Rate { count: 1, period: Duration::from_secs(86_400) }));
        for bad in ["", "5", "0/5m", "5/0s", "5/5w", "x/5m", "5/m5"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_default_override_and_switch_off() {
        let defaults = LimitSettings::parse::<&str>(&[]).unwrap();
        assert_eq!(defaults.rate(LimitKind::TypoReader), Some("5/5m".parse().unwrap()));
        let set = LimitSettings::parse(&["typos.reader=2/1m", "typos.ip=off"]).unwrap();
        assert_eq!(set.rate(LimitKind::TypoReader), Some("2/1m".parse().unwrap()));
        assert_eq!(set.rate(LimitKind::TypoIp), None);
        let off = LimitSettings::parse(&["off"]).unwrap();
        assert!(LimitKind::ALL.iter().all(|k| off.rate(*k).is_none()));
        assert!(LimitSettings::parse(&["typos.everything=1/1m"]).unwrap_err().contains("typos.reader"));
        assert!(LimitSettings::parse(&["typos.reader"]).is_err());
    }

    #[tokio::test]
    async fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = RateLimiter::new(LimitSettings::parse(&["typos.reader=3/60s"]).unwrap());
        let key = [7; 16];
        for _ in 0..3 {
            assert_eq!(limiter.check(LimitKind::TypoReader, &key).await, Ok(()));
        }
        let wait = limiter.check(LimitKind::TypoReader, &key).await.unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "{wait:?}");
        // Other keys and other kinds have their own buckets.
        assert_eq!(limiter.check(LimitKind::TypoReader, &[8; 16]).await, Ok(()));
        assert_eq!(limiter.check(LimitKind::TypoIp, &key).await, Ok(()));
    }
}
