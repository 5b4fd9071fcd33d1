//! Moderator accounts: generated passwords, their Argon2 hashes, session tokens and CSRF tokens.
//!
//! Passwords are stored only as Argon2id PHC strings; session tokens only as SHA-256 digests. Every
//! secret comparison is constant-time, and none of these values is ever logged.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Characters of generated passwords: no look-alikes (0/O, 1/l/I), so they survive being read aloud.
const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 20 characters of a 57-letter alphabet: about 116 bits.
const PASSWORD_LEN: usize = 20;

/// How long a console session lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("gathering randomness: {e}"))?;
    Ok(bytes)
}

/// A fresh password for a new moderator.
pub fn generate_password() -> anyhow::Result<String> {
    // Rejection sampling keeps every character equally likely.
    let mut out = String::with_capacity(PASSWORD_LEN);
    while out.len() < PASSWORD_LEN {
        for b in random::<32>()? {
            let limit = 256 - 256 % ALPHABET.len();
            if usize::from(b) < limit && out.len() < PASSWORD_LEN {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// The Argon2id PHC string of a password (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. For unknown names pass `None`: a dummy hash is
/// checked instead, so the answer takes as long whether or not the name exists.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("not a password anyone has").unwrap_or_default());
    let phc = stored.unwrap_or(DUMMY.as_str());
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}

/// A random token for a cookie or a form: 256 bits, base64url.
pub fn new_token() -> anyhow::Result<String> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?))
}

/// What the database keeps of a session token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_verify_and_differ() {
        let password = generate_password().unwrap();
        assert_eq!(password.len(), PASSWORD_LEN);
        assert!(password.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(password, generate_password().unwrap());
        let stored = hash_password(&password).unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains(&password));
        assert!(verify_password(Some(&stored), &password));
        assert!(!verify_password(Some(&stored), "wrong"));
        assert!(!verify_password(None, &password));
        assert!(!verify_password(Some("garbage"), &password));
    }
}
