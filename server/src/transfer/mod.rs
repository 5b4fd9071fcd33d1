//! Moving a site's discussions in and out: `otklik import FORMAT FILE` reads another system's export (or
//! otklik's own) and adds its threads; `otklik export FILE` writes the whole site.
//!
//! Each format is a streaming reader that turns its file into [`Record`]s; everything else (article ids,
//! states, replies' places, batches, the report) is shared, in `import`.

pub mod export;
mod formats;
mod html;
pub mod import;
mod input;
mod plan;
mod progress;
mod stage;

pub use formats::Format;
pub use import::{Import, ImportOptions, Report, check, run};

/// A thread as a source names it.
#[derive(Debug, Default)]
pub struct Thread {
    /// The id the source's comments refer to their thread by.
    pub id: String,
    /// Disqus's identifier, WordPress's post id: what a publisher's page called the thread.
    pub identifier: Option<String>,
    pub url: Option<String>,
    /// The path the source keys the thread by when it has no URL (Isso, Commento).
    pub path: Option<String>,
    pub title: Option<String>,
    /// otklik's own export carries an article's settings with it.
    pub article: Option<crate::store::transfer::ArticleRow>,
}

/// What became of a comment at its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    #[default]
    Visible,
    Pending,
    Hidden,
    /// Deleted: kept as a placeholder if replies are kept under it, else skipped.
    Deleted,
    /// Not imported, for the reason named (spam, a pingback, ...).
    Skipped(&'static str),
}

/// A comment as a source has it (the otklik-only fields default to none).
#[derive(Debug, Default)]
pub struct Comment {
    /// Unique within the source: with the source's name it identifies the comment for good.
    pub id: String,
    pub thread: String,
    pub parent: Option<String>,
    pub author: String,
    /// Plain text (HTML sources are converted by their reader).
    pub text: String,
    /// Unix seconds, UTC.
    pub created: i64,
    pub edited: Option<i64>,
    pub state: State,
    pub likes: i64,
    /// otklik's own export only: readers' flags and when a moderator last looked.
    pub flags: i64,
    pub reviewed: Option<i64>,
    /// otklik's own export only: the author's reader hash, and the comment's id to keep.
    pub reader: Option<String>,
    pub keep_id: Option<i64>,
    /// otklik's own export only: where the comment came from before (so a later import of that source still
    /// finds it).
    pub origin: Option<(String, String)>,
}

/// What a format's reader hands over, in file order.
#[derive(Debug)]
pub enum Record {
    Thread(Thread),
    Comment(Comment),
    /// otklik's own export: reaction counts, typo reports, bans, moderators.
    Site(crate::store::transfer::SiteRow),
}

/// Which of a thread's names becomes the otklik article id (`--key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Disqus's identifier (`data-disqus-identifier`).
    Identifier,
    /// WordPress's post id.
    PostId,
    /// The whole URL, scheme left out.
    Url,
    /// The URL's path (or the source's own path).
    Path,
}

impl KeyKind {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "identifier" => Self::Identifier,
            "post-id" => Self::PostId,
            "url" => Self::Url,
            "path" => Self::Path,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Identifier => "identifier",
            Self::PostId => "post-id",
            Self::Url => "url",
            Self::Path => "path",
        }
    }
}

/// Unix seconds from an RFC 3339 time (`2019-05-04T10:20:30Z`, `...30.123+03:00`) or from WordPress's
/// `2019-05-04 10:20:30` (read as UTC).
pub fn parse_time(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let b = raw.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| raw.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &raw[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':').unwrap_or((rest.get(1..3)?, rest.get(3..).unwrap_or("0")));
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// A thread name made into an article id (`[A-Za-z0-9._:-]`, at most 128): other characters become `-`
/// (runs of them one), and when something was lost that could tell two threads apart (non-ASCII letters,
/// escapes) or the id is too long, a short hash of the whole name keeps it unique.
pub fn article_key(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut key = String::with_capacity(raw.len());
    let mut lossy = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
            key.push(c);
        } else {
            lossy |= !matches!(c, '/' | ' ' | '?' | '&' | '=' | '#' | '+' | ',');
            if !key.is_empty() && !key.ends_with('-') {
                key.push('-');
            }
        }
    }
    while key.ends_with('-') {
        key.pop();
    }
    if key.is_empty() && raw.is_empty() {
        return None;
    }
    let limit = otklik_api::limits::ARTICLE_ID_MAX;
    if lossy || key.len() > limit || key.is_empty() {
        use sha2::Digest as _;
        let hash = crate::hex::encode(&sha2::Sha256::digest(raw.as_bytes())[..6]);
        key.truncate(limit - hash.len() - 1);
        while key.ends_with('-') {
            key.pop();
        }
        if !key.is_empty() {
            key.push('-');
        }
        key.push_str(&hash);
    }
    Some(key)
}

/// The path of a URL (`https://news.example.com/a/b/?x#y` → `/a/b/`); a value without a scheme is taken
/// as a path already.
pub fn url_path(url: &str) -> &str {
    let url = url.trim();
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => url,
    };
    path.split(['?', '#']).next().unwrap_or(path)
}

/// A URL without its scheme and fragment (`https://news.example.com/a/?p=1#c` → `news.example.com/a/?p=1`).
pub fn url_without_scheme(url: &str) -> &str {
    let url = url.trim();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('#').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_every_source() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(parse_time("2024-02-29 12:00:00"), Some(1_709_208_000));
        assert_eq!(parse_time("2024-02-29T15:00:00.250+03:00"), Some(1_709_208_000));
        assert_eq!(parse_time("2024-02-29T07:30:00-04:30"), Some(1_709_208_000));
        assert_eq!(parse_time("0000-00-00 00:00:00"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn thread_names_become_article_ids() {
        assert_eq!(article_key("budget-2024").as_deref(), Some("budget-2024"));
        assert_eq!(article_key("/2024/05/budget-vote/").as_deref(), Some("2024-05-budget-vote"));
        assert_eq!(article_key("news.example.com/a?p=12").as_deref(), Some("news.example.com-a-p-12"));
        // Two Cyrillic slugs must not become the same id.
        let a = article_key("/новости/бюджет/").unwrap();
        let b = article_key("/новости/выборы/").unwrap();
        assert_ne!(a, b);
        assert!(otklik_api::ArticleId::parse(&a).is_ok(), "{a}");
        let long = article_key(&"x/".repeat(200)).unwrap();
        assert!(long.len() <= 128 && otklik_api::ArticleId::parse(&long).is_ok());
        assert_eq!(article_key(""), None);
        assert!(article_key("/").is_some_and(|k| otklik_api::ArticleId::parse(&k).is_ok()));
    }

    #[test]
    fn urls_give_paths() {
        assert_eq!(url_path("https://news.example.com/a/b/?x=1#c"), "/a/b/");
        assert_eq!(url_path("https://news.example.com"), "/");
        assert_eq!(url_path("/a/b"), "/a/b");
        assert_eq!(url_without_scheme("https://news.example.com/a/?p=1#c"), "news.example.com/a/?p=1");
    }
}
