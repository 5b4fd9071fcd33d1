//! The formats `otklik import` reads, each a streaming reader in a file of its own.

mod commento;
mod disqus;
mod isso;
mod otklik;
mod remark42;
mod wordpress;
mod xml;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::input;
use super::{KeyKind, Record};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Disqus,
    Wordpress,
    Isso,
    Remark42,
    Commento,
    Otklik,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "disqus" => Self::Disqus,
            "wordpress" => Self::Wordpress,
            "isso" => Self::Isso,
            "remark42" => Self::Remark42,
            "commento" => Self::Commento,
            "otklik" => Self::Otklik,
            _ => return None,
        })
    }

    /// The name imported comments remember as their source.
    pub fn source(self) -> &'static str {
        match self {
            Self::Disqus => "disqus",
            Self::Wordpress => "wordpress",
            Self::Isso => "isso",
            Self::Remark42 => "remark42",
            Self::Commento => "commento",
            Self::Otklik => "otklik",
        }
    }

    /// The `--key` values the format offers, the default first.
    pub fn keys(self) -> &'static [KeyKind] {
        match self {
            Self::Disqus => &[KeyKind::Identifier, KeyKind::Url, KeyKind::Path],
            Self::Wordpress => &[KeyKind::PostId, KeyKind::Url, KeyKind::Path],
            Self::Isso | Self::Remark42 | Self::Commento => &[KeyKind::Path, KeyKind::Url],
            // Its threads are articles already.
            Self::Otklik => &[KeyKind::Identifier],
        }
    }

    /// Reads the file, handing each record to `emit` in file order.
    pub fn read(
        self,
        path: &Path,
        site: Option<&str>,
        bytes: &Arc<AtomicU64>,
        emit: &mut dyn FnMut(Record) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let open = || input::open(path, bytes.clone());
        let read = match self {
            Self::Disqus => disqus::read(open()?, emit),
            Self::Wordpress => wordpress::read(open()?, emit),
            Self::Isso => {
                if let Ok(meta) = std::fs::metadata(path) {
                    bytes.store(meta.len(), std::sync::atomic::Ordering::Relaxed);
                }
                isso::read(path, site, emit)
            }
            Self::Remark42 => remark42::read(open()?, emit),
            Self::Commento => commento::read(&mut || open(), emit),
            Self::Otklik => otklik::read(open()?, emit),
        };
        read.map_err(input::explain)
    }
}
