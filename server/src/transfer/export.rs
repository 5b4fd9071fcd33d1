//! `otklik export FILE`: the whole site as JSON lines, gzipped when FILE ends in `.gz`.
//!
//! The format, version 1: a header line `{"format":"otklik-export","version":1,"exported_at":...}`, then
//! one object per line, each with a `type`: every `article`, every `comment` (in id order, so parents come
//! first), the `reactions` counts of each article, every `typo` report, every `ban`, every `moderator`
//! (name only: no password hash leaves the database). Readers' tokens are never in it; a comment carries
//! the keyed hash its author is known by, which means something only with the same OTKLIK_SECRET.
//! `otklik import otklik FILE` reads it back.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::progress::{Progress, Reporter};
use crate::store::DynStore;
use crate::store::transfer::SiteRow;

pub const FORMAT: &str = "otklik-export";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub exported_at: i64,
    #[serde(default)]
    pub otklik: String,
}

/// Rows written, by type.
#[derive(Debug, Default, Serialize)]
pub struct Exported {
    pub articles: u64,
    pub comments: u64,
    pub reactions: u64,
    pub typos: u64,
    pub bans: u64,
    pub moderators: u64,
}

/// Writes the site to `path` (which must not exist yet); a failed export leaves no file behind.
pub async fn run(store: DynStore, path: &Path) -> anyhow::Result<Exported> {
    let partial =
        path.with_extension(format!("{}.partial", path.extension().and_then(|e| e.to_str()).unwrap_or("jsonl")));
    anyhow::ensure!(!path.exists(), "{} exists already: choose a new file", path.display());
    let file = File::create_new(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let gzip = path.extension().is_some_and(|e| e == "gz");
    let sink = if gzip {
        Sink::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Sink::Plain(file)
    };
    let mut out = BufWriter::with_capacity(256 * 1024, sink);
    let progress = Arc::new(Progress::default());
    let reporter = Reporter::start("exporting", 0, progress.clone());
    let mut counts = Exported::default();
    let written = async {
        let header = Header {
            format: FORMAT.to_owned(),
            version: VERSION,
            exported_at: crate::unix_now(),
            otklik: env!("CARGO_PKG_VERSION").to_owned(),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        store
            .export(&mut |row| {
                match &row {
                    SiteRow::Article(_) => counts.articles += 1,
                    SiteRow::Comment(_) => {
                        counts.comments += 1;
                        progress.items.fetch_add(1, Ordering::Relaxed);
                    }
                    SiteRow::Reactions(_) => counts.reactions += 1,
                    SiteRow::Typo(_) => counts.typos += 1,
                    SiteRow::Ban(_) => counts.bans += 1,
                    SiteRow::Moderator(_) => counts.moderators += 1,
                }
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
                Ok(())
            })
            .await?;
        out.into_inner().map_err(|err| err.into_error())?.finish()?;
        anyhow::Ok(())
    }
    .await;
    reporter.finish();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(err.context(format!("exporting to {}", path.display())));
    }
    std::fs::rename(&partial, path).with_context(|| format!("moving the export to {}", path.display()))?;
    Ok(counts)
}

/// The file, compressed or not.
enum Sink {
    Plain(File),
    Gzip(flate2::write::GzEncoder<File>),
}

impl Sink {
    /// Ends the file (the gzip trailer included) and syncs it to the disk before it takes its name.
    fn finish(self) -> anyhow::Result<()> {
        let file = match self {
            Self::Plain(file) => file,
            Self::Gzip(gz) => gz.finish()?,
        };
        file.sync_all()?;
        Ok(())
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(file) => file.write(buf),
            Self::Gzip(gz) => gz.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(file) => file.flush(),
            Self::Gzip(gz) => gz.flush(),
        }
    }
}
