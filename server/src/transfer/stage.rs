//! The new comments set aside in a temporary file, then read back in id order. A file lists comments by
//! time across all its threads; written in that order, every batch would touch index pages of every
//! thread all over the database. Ids are handed out article by article, so in id order the comments
//! arrive thread by thread and every index grows at its end (for a million comments, 12 µs a row instead
//! of 21: docs/benchmarks.md).

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::store::transfer::CommentRow;

/// Rows as JSON lines in a file of the system's temporary directory (`TMPDIR`), and where each one is.
pub struct Stage {
    out: BufWriter<File>,
    path: PathBuf,
    written: u64,
    /// Offset and length of each comment's row, by its index in the file read (unset: not staged).
    spans: Vec<(u64, u32)>,
}

impl Stage {
    pub fn create(comments: usize) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("otklik-import-{}-{nanos}.jsonl", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating the import's temporary file {}", path.display()))?;
        Ok(Self { out: BufWriter::with_capacity(1 << 20, file), path, written: 0, spans: vec![(0, 0); comments] })
    }

    /// Sets aside the row of the comment at `index` (in file order).
    pub fn put(&mut self, index: usize, row: &CommentRow) -> anyhow::Result<()> {
        let line = serde_json::to_vec(row)?;
        self.out.write_all(&line).context("writing the import's temporary file")?;
        let len = u32::try_from(line.len()).context("a comment of over 4 GB")?;
        self.spans[index] = (self.written, len);
        self.written += u64::from(len);
        Ok(())
    }

    /// Reads the rows of the comments at `indexes`, in that order, handing each to `each`.
    pub fn read(
        &mut self,
        indexes: &[u32],
        mut each: impl FnMut(CommentRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.out.flush()?;
        let file = self.out.get_ref();
        let mut buf = Vec::new();
        for &i in indexes {
            let (at, len) = self.spans[i as usize];
            anyhow::ensure!(len > 0, "comment {} was not set aside", i + 1);
            buf.resize(len as usize, 0);
            file.read_exact_at(&mut buf, at).context("reading the import's temporary file")?;
            each(serde_json::from_slice(&buf)?)?;
        }
        Ok(())
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
