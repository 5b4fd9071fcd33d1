//! Reading an export file: gzipped or not (told by its first bytes, not its name), counted for the
//! progress line, and with a bound on how much one item may hold, so that a file of garbage is refused
//! before it fills the memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

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
    let inner: Box<dyn Read + Send> = if gzipped { Box::new(Inflating::start(raw)) } else { Box::new(raw) };
    Ok(Capped { inner: BufReader::with_capacity(256 * 1024, inner), since_reset: Meter::default() })
}

/// A gzipped file inflated on a thread of its own, a chunk ahead of the parser: with the parsing and the
/// planning on threads of their own too, reading keeps both of a small machine's cores busy.
struct Inflating {
    chunks: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

/// Bytes per inflated chunk, and chunks inflated ahead.
const CHUNK: usize = 256 * 1024;
const AHEAD: usize = 4;

impl Inflating {
    fn start(raw: impl BufRead + Send + 'static) -> Self {
        let (tx, chunks) = sync_channel(AHEAD);
        let mut gz = flate2::bufread::MultiGzDecoder::new(raw);
        // Ends at the stream's end, at its first error (handed on), or when the reader is gone.
        let inflate = move || {
            loop {
                let mut chunk = vec![0; CHUNK];
                let mut filled = 0;
                let result = loop {
                    match gz.read(&mut chunk[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == CHUNK {
                                break Ok(());
                            }
                        }
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => break Err(err),
                    }
                };
                chunk.truncate(filled);
                let last = filled < CHUNK || result.is_err();
                if filled > 0 && tx.send(Ok(chunk)).is_err() {
                    return;
                }
                if let Err(err) = result {
                    let _ = tx.send(Err(err));
                }
                if last {
                    return;
                }
            }
        };
        if let Err(err) = std::thread::Builder::new().name("otklik-inflate".into()).spawn(inflate) {
            let (tx, failed) = sync_channel(1);
            let _ = tx.send(Err(err));
            return Self { chunks: failed, chunk: Vec::new(), at: 0 };
        }
        Self { chunks, chunk: Vec::new(), at: 0 }
    }
}

impl Read for Inflating {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.chunk = chunk?;
                    self.at = 0;
                }
                // The inflating thread ended after the stream's last chunk.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
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
