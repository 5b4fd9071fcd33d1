//! The minimum compose time: each page of a thread carries a `form` token saying when it was issued, for
//! which reader and article; a comment must bring one at least `OTKLIK_MIN_COMPOSE_SECS` old.
//!
//! A script that posts the moment it has a form is refused; a person, who reads and types, never notices.
//! The token is an HMAC under the server's key, so it cannot be minted or moved to another reader or
//! article; it stays usable for a week, so an open tab keeps working.

use crate::rules::reader::{ReaderHash, ReaderKey};

/// How long a form token is accepted.
const VALID_SECS: i64 = 7 * 86_400;

/// Why a comment's token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, a forged one, one for another reader or article, or one past its week.
    Invalid,
    /// Sent sooner after the form was issued than the minimum.
    TooFast,
}

fn mac(key: &ReaderKey, reader: &ReaderHash, article: &str, issued: i64) -> String {
    let digest = key.sign(b"form", &[&reader.0, article.as_bytes(), &issued.to_be_bytes()]);
    crate::hex::encode(&digest[..12])
}

/// A token for `reader` on `article`, issued `now`.
pub fn issue(key: &ReaderKey, reader: &ReaderHash, article: &str, now: i64) -> String {
    format!("{now}.{}", mac(key, reader, article, now))
}

/// Whether `token` lets `reader` post on `article` at `now`, given the minimum compose time.
pub fn check(
    key: &ReaderKey,
    reader: &ReaderHash,
    article: &str,
    token: Option<&str>,
    now: i64,
    min_secs: i64,
) -> Result<(), Refusal> {
    let (issued, offered) = token.and_then(|t| t.split_once('.')).ok_or(Refusal::Invalid)?;
    let issued: i64 = issued.parse().map_err(|_| Refusal::Invalid)?;
    let expected = mac(key, reader, article, issued);
    if !crate::rules::keys::constant_time_eq(expected.as_bytes(), offered.as_bytes()) || now - issued > VALID_SECS {
        return Err(Refusal::Invalid);
    }
    if now - issued < min_secs { Err(Refusal::TooFast) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_reader_article_and_time() {
        let key = ReaderKey::new(b"k");
        let (me, other) = (ReaderHash([1; 16]), ReaderHash([2; 16]));
        let token = issue(&key, &me, "a", 1_000);
        assert_eq!(check(&key, &me, "a", Some(&token), 1_003, 3), Ok(()));
        assert_eq!(check(&key, &me, "a", Some(&token), 1_002, 3), Err(Refusal::TooFast));
        assert_eq!(check(&key, &other, "a", Some(&token), 1_010, 3), Err(Refusal::Invalid));
        assert_eq!(check(&key, &me, "b", Some(&token), 1_010, 3), Err(Refusal::Invalid));
        assert_eq!(check(&key, &me, "a", Some(&token.replace("1000.", "900.")), 1_010, 3), Err(Refusal::Invalid));
        assert_eq!(check(&key, &me, "a", None, 1_010, 3), Err(Refusal::Invalid));
        assert_eq!(check(&key, &me, "a", Some(&token), 1_000 + VALID_SECS + 1, 3), Err(Refusal::Invalid));
        assert_eq!(check(&ReaderKey::new(b"other key"), &me, "a", Some(&token), 1_010, 3), Err(Refusal::Invalid));
    }
}
