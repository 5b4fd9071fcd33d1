//! The client's IP address, seen through any trusted reverse proxies (`OTKLIK_TRUSTED_PROXIES`).

use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;
use crate::error::AppError;

/// An address or a CIDR range, e.g. `10.0.0.0/8` or `::1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse().ok().filter(|p| *p <= max).ok_or_else(|| format!("{s:?} has a bad prefix length"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    /// The canonical form (`10.0.0.0/8`; a single address without a prefix), with host bits cleared.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        let masked = match self.addr {
            IpAddr::V4(a) => IpAddr::from(
                (u32::from(a) & u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0)).to_be_bytes(),
            ),
            IpAddr::V6(a) => IpAddr::from(
                (u128::from(a) & u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0)).to_be_bytes(),
            ),
        };
        if self.prefix == full { write!(f, "{masked}") } else { write!(f, "{masked}/{}", self.prefix) }
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// What per-address limits, bans and hashes key on: an IPv4 address (also when IPv4-mapped), or the /64
/// of an IPv6 one, since a single subscriber is routinely given a whole /64 to pick addresses from.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::from((u128::from(v6) & !u128::from(u64::MAX)).to_be_bytes()),
        },
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0)
}

/// The socket peer, unless it is a trusted proxy: then the right-most `X-Forwarded-For` address that is
/// not itself trusted (everything left of it could have been written by the client).
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')).map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Extractor: the request's client IP, already reduced to its keyed hash.
pub struct ClientIpHash(pub [u8; 16]);

/// Extractor: the request's client IP and its keyed hash under the current key, for checks against bans.
pub struct ClientIp {
    pub ip: IpAddr,
    pub hash: [u8; 16],
    /// The key epoch of `hash` (see [`crate::reader::ip_epoch`]).
    pub epoch: i64,
}

fn request_ip(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<crate::listener::Peer>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(peer)| peer.addr.ip());
    let forwarded: Vec<&str> =
        parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    client_ip(peer, &forwarded, &state.trusted_proxies)
}

impl FromRequestParts<AppState> for ClientIpHash {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let epoch = crate::reader::ip_epoch(crate::unix_now());
        Ok(Self(state.reader_key.hash_ip(request_ip(parts, state), epoch)))
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = request_ip(parts, state);
        let epoch = crate::reader::ip_epoch(crate::unix_now());
        Ok(Self { ip, hash: state.reader_key.hash_ip(ip, epoch), epoch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn ranges_match_by_prefix() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.255.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!("fd00::/8".parse::<IpNet>().unwrap().contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy".parse::<IpNet>().is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    }

    #[test]
    fn untrusted_peers_are_the_client() {
        let peer = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &["1.2.3.4"], &nets(&["10.0.0.0/8"])), peer);
    }

    #[test]
    fn behind_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = "10.0.0.2".parse().unwrap();
        let forged_then_real = ["6.6.6.6, 198.51.100.7", "10.0.0.5"];
        assert_eq!(client_ip(peer, &forged_then_real, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &[], &trusted), peer);
        assert_eq!(client_ip(peer, &["garbage"], &trusted), peer);
    }
}
