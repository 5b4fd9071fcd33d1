//! Bans in force, kept in memory so that checking a write costs a lock read and a few comparisons.
//!
//! The database is the record; this copy is loaded at start-up and reloaded whenever this server adds
//! or lifts a ban. Expired bans simply stop matching.

use std::net::IpAddr;
use std::sync::RwLock;

use otklik_api::BanKind;

use crate::client_ip::IpNet;
use crate::store::DynStore;

enum Target {
    Reader([u8; 16]),
    Ip([u8; 16]),
    Range(IpNet),
}

#[derive(Default)]
pub struct BanList {
    entries: RwLock<Vec<(Target, i64)>>,
}

impl BanList {
    /// Reads the bans in force from the store.
    pub async fn reload(&self, store: &DynStore) -> anyhow::Result<()> {
        let mut entries = Vec::new();
        for stored in store.bans().await? {
            let target = match stored.ban.kind {
                BanKind::Reader => crate::hex::decode16(&stored.value).map(Target::Reader),
                BanKind::Ip => crate::hex::decode16(&stored.value).map(Target::Ip),
                BanKind::Range => stored.value.parse().ok().map(Target::Range),
            };
            match target {
                Some(target) => entries.push((target, stored.ban.until)),
                None => tracing::warn!(ban = stored.ban.id, "a stored ban has an unreadable target; ignored"),
            }
        }
        *self.entries.write().expect("ban list lock") = entries;
        Ok(())
    }

    /// Until when (unix seconds) the writer is banned, if they are.
    pub fn check(&self, reader: &[u8; 16], ip_hash: &[u8; 16], ip: IpAddr, now: i64) -> Option<i64> {
        let entries = self.entries.read().expect("ban list lock");
        entries
            .iter()
            .filter(|(target, until)| {
                *until > now
                    && match target {
                        Target::Reader(r) => r == reader,
                        Target::Ip(h) => h == ip_hash,
                        Target::Range(net) => net.contains(ip),
                    }
            })
            .map(|(_, until)| *until)
            .max()
    }
}
