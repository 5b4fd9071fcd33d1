//! The reader token: 128 random bits that the widget keeps in localStorage and sends with each request.

use std::fmt;

/// A reader's anonymous identity. The server never stores it, only a keyed hash of it.
///
/// On the wire it is base64url without padding (22 characters) or lowercase/uppercase hex (32 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderToken([u8; 16]);

/// A header value that is not a 128-bit token in one of the accepted encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidReaderToken;

impl fmt::Display for InvalidReaderToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reader token must be 128 bits as 22 base64url or 32 hex characters")
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl ReaderToken {
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidReaderToken> {
        match raw.len() {
            22 => decode_base64url(raw.as_bytes()),
            32 => decode_hex(raw.as_bytes()),
            _ => Err(InvalidReaderToken),
        }
        .map(Self)
    }

    /// The canonical (base64url) encoding.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(22);
        for chunk in self.0.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i)) as usize & 63]));
            }
        }
        out
    }
}

// Never print the token itself: it is a bearer credential for the reader's reactions and comments.
impl fmt::Debug for ReaderToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReaderToken(..)")
    }
}

fn decode_hex(raw: &[u8]) -> Result<[u8; 16], InvalidReaderToken> {
    let digit = |c: u8| char::from(c).to_digit(16).ok_or(InvalidReaderToken);
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(raw.chunks_exact(2)) {
        *o = (digit(pair[0])? << 4 | digit(pair[1])?) as u8;
    }
    Ok(out)
}

fn decode_base64url(raw: &[u8]) -> Result<[u8; 16], InvalidReaderToken> {
    let sextet = |c: u8| B64.iter().position(|&b| b == c).map(|p| p as u32).ok_or(InvalidReaderToken);
    let mut out = [0u8; 16];
    let mut acc = 0u32;
    let mut bits = 0;
    let mut len = 0;
    for &c in raw {
        acc = acc << 6 | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out[len] = (acc >> bits) as u8;
            len += 1;
        }
    }
    // 22 sextets carry 132 bits: the last 4 must be zero, or two spellings would name one token.
    if acc & ((1 << bits) - 1) != 0 {
        return Err(InvalidReaderToken);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_and_hex_name_the_same_token() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(250));
        let token = ReaderToken::from_bytes(bytes);
        let b64 = token.encode();
        assert_eq!(b64.len(), 22);
        assert_eq!(ReaderToken::parse(&b64), Ok(token));
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(ReaderToken::parse(&hex), Ok(token));
        assert_eq!(ReaderToken::parse(&hex.to_uppercase()), Ok(token));
    }

    #[test]
    fn known_vector() {
        let token = ReaderToken::from_bytes([0xff; 16]);
        assert_eq!(token.encode(), "_____________________w");
        assert_eq!(ReaderToken::parse("AAAAAAAAAAAAAAAAAAAAAA"), Ok(ReaderToken::from_bytes([0; 16])));
    }

    #[test]
    fn refuses_malformed_tokens() {
        for bad in [
            "",
            "short",
            "AAAAAAAAAAAAAAAAAAAAA=",
            "AAAAAAAAAAAAAAAAAAAAAB",
            "g".repeat(32).as_str(),
            "AAAA+AAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(ReaderToken::parse(bad), Err(InvalidReaderToken), "{bad:?}");
        }
        assert!(!format!("{:?}", ReaderToken::from_bytes([7; 16])).contains('7'));
    }
}
