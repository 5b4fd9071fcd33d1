//! Reader identity on the server: tokens are reduced to a keyed hash at the edge and never stored.

use hmac::{Hmac, Mac};
use otklik_api::ReaderToken;
use sha2::Sha256;

/// What the database knows of a reader: the first 128 bits of HMAC-SHA256(key, token).
///
/// Keyed, so a leaked database cannot be matched against tokens seen elsewhere; truncated, because 128
/// bits are ample for uniqueness and halve the size of every index that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReaderHash(pub [u8; 16]);

/// The key that turns reader tokens into [`ReaderHash`]es.
#[derive(Clone)]
pub struct ReaderKey(Hmac<Sha256>);

impl ReaderKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length"))
    }

    pub fn hash(&self, token: &ReaderToken) -> ReaderHash {
        let mut mac = self.0.clone();
        mac.update(token.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        ReaderHash(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_both_key_and_token() {
        let a = ReaderToken::from_bytes([1; 16]);
        let b = ReaderToken::from_bytes([2; 16]);
        let k1 = ReaderKey::new(b"one");
        let k2 = ReaderKey::new(b"two");
        assert_eq!(k1.hash(&a), k1.hash(&a));
        assert_ne!(k1.hash(&a), k1.hash(&b));
        assert_ne!(k1.hash(&a), k2.hash(&a));
    }
}
