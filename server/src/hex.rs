//! Lower-case hex, the one text form the server gives hashes (in SQL parameters, ETags, signatures, bans).

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 128-bit hash (a reader or IP hash) back from its 32 hex digits.
pub fn decode16(hex: &str) -> Option<[u8; 16]> {
    decode(hex)?.try_into().ok()
}

/// Bytes back from an even number of hex digits.
pub fn decode(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes().chunks_exact(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let bytes: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
        assert_eq!(super::decode16(&super::encode(&bytes)), Some(bytes));
        assert_eq!(super::decode16(&super::encode(&bytes).to_uppercase()), Some(bytes));
        assert_eq!(super::decode16("abc"), None);
        assert_eq!(super::decode16(&"zz".repeat(16)), None);
    }
}
