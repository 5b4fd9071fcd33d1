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
    TypoReader,
    TypoIp,
}

impl LimitKind {
    pub const ALL: [Self; 2] = [Self::TypoReader, Self::TypoIp];

    /// The name used in `OTKLIK_RATE_LIMITS`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TypoReader => "typos.reader",
            Self::TypoIp => "typos.ip",
        }
    }

    /// A reader reports a typo or two per article; an office behind one address may report more.
    const fn default_rate(self) -> Rate {
        match self {
            Self::TypoReader => Rate { count: 5, period: Duration::from_secs(300) },
            Self::TypoIp => Rate { count: 20, period: Duration::from_secs(300) },
        }
    }
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

/// The configured limits: each kind at its default rate unless set otherwise or switched off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings(HashMap<LimitKind, Option<Rate>>);

impl Default for LimitSettings {
    fn default() -> Self {
        Self(LimitKind::ALL.into_iter().map(|k| (k, Some(k.default_rate()))).collect())
    }
}

impl LimitSettings {
    /// Parses `OTKLIK_RATE_LIMITS` entries: `off` (every limit off), `KIND=off` or `KIND=N/PERIOD`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut settings = Self::default();
        for entry in entries.iter().map(|e| e.as_ref().trim()).filter(|e| !e.is_empty()) {
            if entry == "off" {
                settings.0.values_mut().for_each(|rate| *rate = None);
                continue;
            }
            let (name, value) = entry.split_once('=').ok_or_else(|| format!("`{entry}` is not KIND=RATE"))?;
            let kind = LimitKind::ALL.into_iter().find(|k| k.name() == name.trim()).ok_or_else(|| {
                let known: Vec<_> = LimitKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown limit `{}` (known: {})", name.trim(), known.join(", "))
            })?;
            let rate = if value.trim() == "off" { None } else { Some(value.parse()?) };
            settings.0.insert(kind, rate);
        }
        Ok(settings)
    }

    pub fn rate(&self, kind: LimitKind) -> Option<Rate> {
        self.0.get(&kind).copied().flatten()
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
    shards: Vec<Mutex<Buckets>>,
}

impl RateLimiter {
    pub fn new(settings: LimitSettings) -> Self {
        Self { settings, shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }

    /// Counts one event for `key` (a reader or IP hash). `Err(wait)` when over the limit: the event is
    /// not counted, and `wait` is how long until one would be allowed.
    pub fn check(&self, kind: LimitKind, key: &[u8; 16]) -> Result<(), Duration> {
        let Some(rate) = self.settings.rate(kind) else {
            return Ok(());
        };
        let interval = rate.period / rate.count;
        let tolerance = rate.period - interval;
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

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = RateLimiter::new(LimitSettings::parse(&["typos.reader=3/60s"]).unwrap());
        let key = [7; 16];
        for _ in 0..3 {
            assert_eq!(limiter.check(LimitKind::TypoReader, &key), Ok(()));
        }
        let wait = limiter.check(LimitKind::TypoReader, &key).unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "{wait:?}");
        // Other keys and other kinds have their own buckets.
        assert_eq!(limiter.check(LimitKind::TypoReader, &[8; 16]), Ok(()));
        assert_eq!(limiter.check(LimitKind::TypoIp, &key), Ok(()));
    }
}
