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

/// Days each IP-hashing key is used: addresses are hashed under a new key every week, so a copy of the
/// data cannot tell that comments of different weeks came from the same address.
pub const IP_KEY_DAYS: i64 = 7;

/// Which IP-hashing key is in use at `now` (unix seconds).
pub fn ip_epoch(now: i64) -> i64 {
    now.div_euclid(IP_KEY_DAYS * 86_400)
}

/// The keys that turn reader tokens into [`ReaderHash`]es and client addresses into IP hashes.
///
/// None of them is stored with the data (see [`crate::keys`]), so a copy of the database or a backup
/// cannot test guesses against its hashes: 2^32 guesses recover any IPv4 address from a hash whose key is
/// known. The IP keys are derived per [`ip_epoch`] from the secret under their own label.
#[derive(Clone)]
pub struct ReaderKey {
    reader: Hmac<Sha256>,
    ip_master: Hmac<Sha256>,
    /// The last epoch's IP key: every write hashes its address, nearly always under the current key.
    ip_key: std::sync::Arc<std::sync::Mutex<Option<EpochKey>>>,
}

/// An IP key and its epoch.
type EpochKey = (i64, Hmac<Sha256>);

impl ReaderKey {
    pub fn new(secret: &[u8]) -> Self {
        let reader = Hmac::new_from_slice(secret).expect("HMAC accepts keys of any length");
        let ip_secret = Self::digest_with(&reader, b"ip keys", &[]);
        let ip_master = Hmac::new_from_slice(&ip_secret).expect("HMAC accepts keys of any length");
        Self { reader, ip_master, ip_key: Default::default() }
    }

    pub fn hash(&self, token: &ReaderToken) -> ReaderHash {
        ReaderHash(self.digest(b"reader", token.as_bytes()))
    }

    /// A client address (an IPv6 one by its /64), hashed under the key of `epoch`, so it can be matched
    /// but not read back, nor linked to the same address in another epoch.
    pub fn hash_ip(&self, ip: std::net::IpAddr, epoch: i64) -> [u8; 16] {
        let key = {
            let mut cached = self.ip_key.lock().expect("IP key lock");
            match cached.as_ref() {
                Some((e, key)) if *e == epoch => key.clone(),
                _ => {
                    let key = Self::digest_with(&self.ip_master, b"epoch", &epoch.to_be_bytes());
                    let key = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts keys of any length");
                    // Older epochs are asked for only to match old IP bans: keep the current key cached.
                    if cached.as_ref().is_none_or(|(e, _)| *e < epoch) {
                        *cached = Some((epoch, key.clone()));
                    }
                    key
                }
            }
        };
        match crate::rules::net::address_key(ip) {
            std::net::IpAddr::V4(v4) => Self::digest_with(&key, b"ip", &v4.octets()),
            std::net::IpAddr::V6(v6) => Self::digest_with(&key, b"ip", &v6.octets()),
        }
    }

    /// An address hashed as versions before key rotation did (one key, whole IPv6 addresses): IP bans
    /// stored then still match until they run out.
    pub fn hash_ip_unrotated(&self, ip: std::net::IpAddr) -> [u8; 16] {
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
        Self::digest_with(&self.reader, label, data)
    }

    fn digest_with(key: &Hmac<Sha256>, label: &[u8], data: &[u8]) -> [u8; 16] {
        let mut mac = key.clone();
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

    #[test]
    fn ip_hashes_change_with_the_epoch_and_keep_a_64_together() {
        let key = ReaderKey::new(b"secret");
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let now = 1_795_660_200;
        let epoch = ip_epoch(now);
        assert_eq!(ip_epoch(now + IP_KEY_DAYS * 86_400), epoch + 1);
        assert_eq!(key.hash_ip(ip("192.0.2.1"), epoch), key.hash_ip(ip("192.0.2.1"), epoch));
        assert_ne!(key.hash_ip(ip("192.0.2.1"), epoch), key.hash_ip(ip("192.0.2.1"), epoch + 1));
        assert_ne!(key.hash_ip(ip("192.0.2.1"), epoch), key.hash_ip(ip("192.0.2.2"), epoch));
        assert_eq!(key.hash_ip(ip("2001:db8::1"), epoch), key.hash_ip(ip("2001:db8::ffff:2"), epoch));
        assert_ne!(key.hash_ip(ip("192.0.2.1"), epoch), ReaderKey::new(b"other").hash_ip(ip("192.0.2.1"), epoch));
    }
}
