//! Extractors for the client's IP address, seen through any trusted reverse proxies
//! (`OTKLIK_TRUSTED_PROXIES`; the rules of which are `rules::net`).

use std::net::IpAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;
use crate::http::error::AppError;
pub use crate::rules::net::{ClientIp, IpNet, address_key, client_ip};

/// Extractor: the request's client IP, already reduced to its keyed hash.
pub struct ClientIpHash(pub [u8; 16]);

fn request_ip(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<crate::http::listener::Peer>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(peer)| peer.addr.ip());
    let forwarded: Vec<&str> =
        parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    client_ip(peer, &forwarded, &state.trusted_proxies)
}

impl FromRequestParts<AppState> for ClientIpHash {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let epoch = crate::rules::reader::ip_epoch(crate::unix_now());
        Ok(Self(state.reader_key.hash_ip(request_ip(parts, state), epoch)))
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ip = request_ip(parts, state);
        let epoch = crate::rules::reader::ip_epoch(crate::unix_now());
        Ok(Self { ip, hash: state.reader_key.hash_ip(ip, epoch), epoch })
    }
}
