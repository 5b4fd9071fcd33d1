//! What the first reading keeps of each comment's content, set aside in a temporary file so that the
//! file is parsed once; the comments are read back in id order. A file lists comments by time across all
//! its threads; ids are handed out article by article, so in id order the comments arrive thread by
//! thread and every index grows at its end (docs/benchmarks.md).
//!
//! The records are a small binary layout of their own: lengths and numbers little-endian, strings as a
//! length and UTF-8. They never outlive the import, so nothing needs to read them but this module.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail, ensure};

use crate::store::transfer::SiteRow;

/// A comment's content as its source had it (cleaned and capped); its place in the site is the plan's.
#[derive(Debug, Default, PartialEq)]
pub struct Staged {
    pub author: String,
    pub text: String,
    pub reader: Option<String>,
    pub created: i64,
    pub edited: Option<i64>,
    pub likes: i64,
    pub flags: i64,
    /// otklik's own export: when a moderator last looked (`kept` says the export said so).
    pub reviewed: Option<i64>,
    pub kept: bool,
    pub source: String,
    pub source_id: String,
}

/// A record's span in the file: its offset in the low 40 bits, its length in the high 24.
const OFFSET_BITS: u32 = 40;
const LENGTH_MAX: usize = (1 << (64 - OFFSET_BITS)) - 1;
const UNSET: u64 = u64::MAX;

/// Records in a file of the system's temporary directory (`TMPDIR`), and where each one is.
pub struct Stage {
    file: File,
    /// Until [`Stage::finish`].
    out: Option<BufWriter<File>>,
    path: PathBuf,
    written: u64,
    /// Each comment's span by its index in the file read (`UNSET`: not staged).
    spans: Vec<u64>,
    /// otklik's own export: its other rows (reactions, typo reports, bans, moderators), in file order.
    site: Vec<u64>,
    buf: Vec<u8>,
}

impl Stage {
    pub fn create() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("otklik-import-{}-{nanos}.stage", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating the import's temporary file {}", path.display()))?;
        Ok(Self {
            out: Some(BufWriter::with_capacity(1 << 20, file.try_clone()?)),
            file,
            path,
            written: 0,
            spans: Vec::new(),
            site: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Sets aside the comment at `index` (in file order; comments not set aside have no span).
    pub fn put(&mut self, index: usize, comment: &Staged) -> anyhow::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        encode(&mut buf, comment);
        let span = self.append(&buf);
        self.buf = buf;
        if self.spans.len() <= index {
            self.spans.resize(index + 1, UNSET);
        }
        self.spans[index] = span?;
        Ok(())
    }

    /// Sets aside one of otklik's other rows.
    pub fn put_site(&mut self, row: &SiteRow) -> anyhow::Result<()> {
        let line = serde_json::to_vec(row)?;
        let span = self.append(&line)?;
        self.site.push(span);
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> anyhow::Result<u64> {
        ensure!(bytes.len() <= LENGTH_MAX, "a comment of over {} MB", LENGTH_MAX >> 20);
        ensure!(self.written < 1 << OFFSET_BITS, "the import's temporary file grew past 1 TB");
        let out = self.out.as_mut().context("the import's temporary file is finished")?;
        out.write_all(bytes).context("writing the import's temporary file")?;
        let span = self.written | (bytes.len() as u64) << OFFSET_BITS;
        self.written += bytes.len() as u64;
        Ok(span)
    }

    /// Ends the writing (its buffer goes).
    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush().context("writing the import's temporary file")?;
        }
        Ok(())
    }

    /// Reads the comments at `indexes`, in that order, handing each (with its index) to `each`.
    pub fn read(
        &mut self,
        indexes: &[u32],
        mut each: impl FnMut(usize, Staged) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.finish()?;
        let mut buf = Vec::new();
        for &i in indexes {
            let span = self.spans.get(i as usize).copied().unwrap_or(UNSET);
            ensure!(span != UNSET, "comment {} was not set aside", i + 1);
            self.read_span(span, &mut buf)?;
            each(i as usize, decode(&buf).context("reading the import's temporary file")?)?;
        }
        Ok(())
    }

    /// Reads otklik's other rows back, in file order.
    pub fn read_site(&mut self, mut each: impl FnMut(SiteRow) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.finish()?;
        let mut buf = Vec::new();
        for span in std::mem::take(&mut self.site) {
            self.read_span(span, &mut buf)?;
            each(serde_json::from_slice(&buf)?)?;
        }
        Ok(())
    }

    fn read_span(&self, span: u64, buf: &mut Vec<u8>) -> anyhow::Result<()> {
        buf.resize((span >> OFFSET_BITS) as usize, 0);
        let at = span & ((1 << OFFSET_BITS) - 1);
        self.file.read_exact_at(buf, at).context("reading the import's temporary file")
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn encode(out: &mut Vec<u8>, c: &Staged) {
    let text = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let int = |out: &mut Vec<u8>, n: i64| out.extend_from_slice(&n.to_le_bytes());
    let flags = u8::from(c.reader.is_some())
        | u8::from(c.edited.is_some()) << 1
        | u8::from(c.reviewed.is_some()) << 2
        | u8::from(c.kept) << 3;
    out.push(flags);
    for s in [&c.author, &c.text, &c.source, &c.source_id] {
        text(out, s);
    }
    if let Some(reader) = &c.reader {
        text(out, reader);
    }
    for n in [c.created, c.likes, c.flags] {
        int(out, n);
    }
    for n in [c.edited, c.reviewed].into_iter().flatten() {
        int(out, n);
    }
}

/// The inverse of [`encode`].
fn decode(mut bytes: &[u8]) -> anyhow::Result<Staged> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> anyhow::Result<&'a [u8]> {
        if bytes.len() < n {
            bail!("a record cut short");
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head)
    }
    fn text(bytes: &mut &[u8]) -> anyhow::Result<String> {
        let len = u32::from_le_bytes(take(bytes, 4)?.try_into()?) as usize;
        Ok(std::str::from_utf8(take(bytes, len)?)?.to_owned())
    }
    fn int(bytes: &mut &[u8]) -> anyhow::Result<i64> {
        Ok(i64::from_le_bytes(take(bytes, 8)?.try_into()?))
    }
    let flags = take(&mut bytes, 1)?[0];
    let mut c = Staged {
        author: text(&mut bytes)?,
        text: text(&mut bytes)?,
        source: text(&mut bytes)?,
        source_id: text(&mut bytes)?,
        kept: flags & 8 != 0,
        ..Staged::default()
    };
    if flags & 1 != 0 {
        c.reader = Some(text(&mut bytes)?);
    }
    c.created = int(&mut bytes)?;
    c.likes = int(&mut bytes)?;
    c.flags = int(&mut bytes)?;
    if flags & 2 != 0 {
        c.edited = Some(int(&mut bytes)?);
    }
    if flags & 4 != 0 {
        c.reviewed = Some(int(&mut bytes)?);
    }
    ensure!(bytes.is_empty(), "a record longer than its fields");
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_in_any_order() {
        let mut stage = Stage::create().unwrap();
        let full = Staged {
            author: "Ирина".into(),
            text: "line one\nline two".into(),
            reader: Some("ab".repeat(16)),
            created: 1_700_000_000,
            edited: Some(1_700_000_100),
            likes: 3,
            flags: 1,
            reviewed: Some(-5),
            kept: true,
            source: "disqus".into(),
            source_id: "42".into(),
        };
        let bare = Staged { source: "isso".into(), source_id: "7".into(), ..Staged::default() };
        stage.put(0, &full).unwrap();
        stage.put(3, &bare).unwrap();
        let mut seen = Vec::new();
        stage
            .read(&[3, 0], |i, c| {
                seen.push((i, c));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![(3, bare), (0, full)]);
        assert!(stage.read(&[1], |_, _| Ok(())).is_err(), "index 1 was never set aside");
    }
}
