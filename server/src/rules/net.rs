//! Client addresses: CIDR ranges, what per-address limits key on, and which address is the client's
//! behind trusted reverse proxies.

use std::net::IpAddr;
use std::str::FromStr;

/// An address or a CIDR range, e.g. `10.0.0.0/8` or `::1` (a bare address is a range of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet(ipnet::IpNet);

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(addr) = s.parse::<IpAddr>() {
            return Ok(Self(addr.into()));
        }
        match s.split_once('/') {
            Some((addr, _)) if addr.parse::<IpAddr>().is_ok() => {
                s.parse().map(Self).map_err(|_| format!("{s:?} has a bad prefix length"))
            }
            _ => Err(format!("{s:?} is not an IP address or CIDR range")),
        }
    }
}

impl std::fmt::Display for IpNet {
    /// The canonical form (`10.0.0.0/8`; a single address without a prefix), with host bits cleared.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let net = self.0.trunc();
        if net.prefix_len() == net.max_prefix_len() { write!(f, "{}", net.addr()) } else { write!(f, "{net}") }
    }
}

impl IpNet {
    /// Whether `ip` is in the range; an IPv4-mapped IPv6 address counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
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

/// A request's client IP and its keyed hash under the current key, for checks against bans (the HTTP
/// edge extracts it from the request).
pub struct ClientIp {
    pub ip: IpAddr,
    pub hash: [u8; 16],
    /// The key epoch of `hash` (see [`crate::rules::reader::ip_epoch`]).
    pub epoch: i64,
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
        assert!("10.0.0.0/".parse::<IpNet>().is_err());
        assert_eq!("10.1.2.3/16".parse::<IpNet>().unwrap().to_string(), "10.1.0.0/16");
        assert_eq!(" 2001:db8::1 ".parse::<IpNet>().unwrap().to_string(), "2001:db8::1");
        assert_eq!("2001:db8:7:1::/48".parse::<IpNet>().unwrap().to_string(), "2001:db8:7::/48");
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
