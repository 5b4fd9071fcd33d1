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
        ReaderHash(self.digest(b"reader", token.as_bytes()))
    }

    /// A client IP, hashed the same way under its own label, so it can be matched but not read back.
    pub fn hash_ip(&self, ip: std::net::IpAddr) -> [u8; 16] {
        match ip {
            std::net::IpAddr::V4(v4) => self.digest(b"ip", &v4.octets()),
            std::net::IpAddr::V6(v6) => self.digest(b"ip", &v6.octets()),
        }
    }

    /// A keyed digest of several values under `label` (each value length-prefixed, so they cannot run
    /// into each other).
    pub fn sign(&self, label: &[u8], values: &[&[u8]]) -> [u8; 16] {
        let mut data = Vec::new();
        for value in values {
            data.extend_from_slice(&(value.len() as u32).to_be_bytes());
            data.extend_from_slice(value);
        }
        self.digest(label, &data)
    }

    fn digest(&self, label: &[u8], data: &[u8]) -> [u8; 16] {
        let mut mac = self.0.clone();
        // The label keeps a token and an address with the same bytes from hashing alike.
        mac.update(label);
        mac.update(b"\0");
        mac.update(data);
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
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
