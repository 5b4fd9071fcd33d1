//! Reading an export file: gzipped or not (told by its first bytes, not its name), counted for the
//! progress line, and with a bound on how much one item may hold, so that a file of garbage is refused
//! before it fills the memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;

/// Most bytes one item (an XML element's text, a JSON line) may take: far above any real comment.
pub const ITEM_MAX: u64 = 16 * 1024 * 1024;

/// The file's bytes as read from the disk, counted into `read` (the progress line's measure).
struct Counted {
    file: File,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path`, decompressing it if it is gzipped; `read` counts the file's own bytes.
pub fn open(path: &Path, read: Arc<AtomicU64>) -> anyhow::Result<Capped> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut raw = BufReader::with_capacity(256 * 1024, Counted { file, read });
    let gzipped = raw.fill_buf().with_context(|| format!("reading {}", path.display()))?.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn Read + Send> =
        if gzipped { Box::new(flate2::bufread::MultiGzDecoder::new(raw)) } else { Box::new(raw) };
    Ok(Capped { inner: BufReader::with_capacity(256 * 1024, inner), since_reset: Meter::default() })
}

/// A reader that fails once more than [`ITEM_MAX`] bytes were read since its meter was last reset.
pub struct Capped {
    inner: BufReader<Box<dyn Read + Send>>,
    since_reset: Meter,
}

/// Bytes read since the current item began; shared, so that a parser owning the reader can be reset.
#[derive(Clone, Default)]
pub struct Meter(Arc<AtomicU64>);

impl Meter {
    /// One item ended: the next may take [`ITEM_MAX`] again.
    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn over(&self) -> bool {
        self.0.load(Ordering::Relaxed) > ITEM_MAX
    }
}

impl Capped {
    pub fn reset(&mut self) {
        self.since_reset.reset();
    }

    pub fn meter(&self) -> Meter {
        self.since_reset.clone()
    }
}

fn too_big() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("one item is larger than {} MB: this is not an export of the expected kind", ITEM_MAX >> 20),
    )
}

impl Read for Capped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_reset.over() {
            return Err(too_big());
        }
        let n = self.inner.read(buf)?;
        self.since_reset.add(n);
        Ok(n)
    }
}

impl BufRead for Capped {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_reset.over() {
            return Err(too_big());
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.since_reset.add(amt);
        self.inner.consume(amt);
    }
}

/// A reading error in words for people: what a truncated gzip file or a binary file looks like.
pub fn explain(err: anyhow::Error) -> anyhow::Error {
    let io = err.chain().find_map(|e| e.downcast_ref::<io::Error>());
    // flate2 reports a gzip stream cut short in words, not by kind.
    let cut = err.chain().any(|e| e.to_string().contains("incomplete deflate stream"));
    match io.map(io::Error::kind) {
        Some(io::ErrorKind::UnexpectedEof) => err.context("the file ends too early: it is truncated"),
        _ if cut => err.context("the file ends too early: it is truncated"),
        Some(io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput) => err.context("the file is damaged"),
        _ => err,
    }
}
