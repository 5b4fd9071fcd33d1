//! Bans in force, kept in memory so that checking a write costs a lock read and a few comparisons.
//!
//! The database is the record; this copy is loaded at start-up and reloaded whenever this server adds
//! or lifts a ban. Expired bans simply stop matching.

use std::sync::RwLock;

use otklik_api::BanKind;

use crate::rules::net::{ClientIp, IpNet};
use crate::rules::reader::ReaderKey;
use crate::store::DynStore;

enum Target {
    Reader([u8; 16]),
    /// An IP hash, and the key epoch it was made under (`None`: before keys rotated).
    Ip([u8; 16], Option<i64>),
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
                BanKind::Ip => crate::hex::decode16(&stored.value).map(|hash| Target::Ip(hash, stored.epoch)),
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

    /// Until when (unix seconds) the writer is banned, if they are. An IP ban made under an older key is
    /// matched by hashing the address again under that key.
    pub fn check(&self, reader: &[u8; 16], client: &ClientIp, key: &ReaderKey, now: i64) -> Option<i64> {
        let entries = self.entries.read().expect("ban list lock");
        entries
            .iter()
            .filter(|(target, until)| {
                *until > now
                    && match target {
                        Target::Reader(r) => r == reader,
                        Target::Ip(h, Some(epoch)) if *epoch == client.epoch => *h == client.hash,
                        Target::Ip(h, Some(epoch)) => *h == key.hash_ip(client.ip, *epoch),
                        Target::Ip(h, None) => *h == key.hash_ip_unrotated(client.ip),
                        Target::Range(net) => net.contains(client.ip),
                    }
            })
            .map(|(_, until)| *until)
            .max()
    }
}
