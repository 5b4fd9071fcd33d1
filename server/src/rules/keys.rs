//! Where the server's secret comes from: `OTKLIK_SECRET`, or a key file beside the database; never the
//! database itself, so that a copy of the data (a backup, a stolen file) does not carry the key to its
//! hashes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::store::DynStore;

/// Shortest `OTKLIK_SECRET` accepted, in bytes: a short secret can be guessed, and every hash with it.
pub const SECRET_MIN: usize = 32;

/// Where versions before the key file kept the generated secret (in the `settings` table).
const LEGACY_SETTING: &str = "reader_key";
/// Where nodes on PostgreSQL keep the generated secret they share (with `OTKLIK_SECRET` unset).
const SHARED_SETTING: &str = "server_key";

/// The server secret: `OTKLIK_SECRET` when set (at least [`SECRET_MIN`] bytes), else the key file beside
/// the database, created on first start with a random key, or with the key an older version had kept in
/// the database, which is then removed from it.
pub async fn server_secret(configured: Option<&str>, database: &str, store: &DynStore) -> anyhow::Result<Vec<u8>> {
    let legacy = store.legacy_secret(LEGACY_SETTING).await?;
    let key = match configured.filter(|s| !s.is_empty()) {
        Some(secret) => long_enough(secret)?.to_vec(),
        // Several nodes share a PostgreSQL database, and need the same key: the first keeps one there.
        None if matches!(database.parse()?, crate::store::Location::Postgres(_)) => {
            store.shared_secret(SHARED_SETTING, &random_key()?).await?
        }
        // An in-memory database lives as long as this process: so may its key.
        None => match crate::store::database_file(database)? {
            None => random_key()?,
            Some(database) => {
                let path = key_file(&database);
                match read_key(&path)? {
                    Some(key) => key,
                    None => {
                        let key = match &legacy {
                            Some(kept) => kept.clone(),
                            None => random_key()?,
                        };
                        write_key(&path, &key)?;
                        tracing::info!(file = %path.display(), "created the server's key file: back it up apart from the data");
                        key
                    }
                }
            }
        },
    };
    // Only once the key is safe elsewhere (or unused, with OTKLIK_SECRET set) does it leave the database,
    // so that no copy made from now on carries it.
    if legacy.is_some() {
        store.forget_secret(LEGACY_SETTING).await?;
    }
    Ok(key)
}

/// Where the server's key is, without making one (what `otklik check` reports); an error when there is
/// none yet, or when the configured one is too short.
pub async fn kept(configured: Option<&str>, database: &str, store: &DynStore) -> anyhow::Result<String> {
    if let Some(secret) = configured.filter(|s| !s.is_empty()) {
        long_enough(secret)?;
        return Ok("set by OTKLIK_SECRET".into());
    }
    if matches!(database.parse()?, crate::store::Location::Postgres(_)) {
        anyhow::ensure!(
            store.legacy_secret(SHARED_SETTING).await?.is_some(),
            "there is no key yet: set OTKLIK_SECRET (the same on every node), or the first `otklik serve` makes one"
        );
        return Ok("kept in the database for every node (set OTKLIK_SECRET to keep it out)".into());
    }
    let Some(database) = crate::store::database_file(database)? else {
        return Ok("made at each start (an in-memory database)".into());
    };
    let path = key_file(&database);
    if read_key(&path)?.is_some() {
        return Ok(format!("in {}", path.display()));
    }
    anyhow::ensure!(
        store.legacy_secret(LEGACY_SETTING).await?.is_some(),
        "there is no key file at {}: restore it from the backup it was kept with (readers' tokens and the \
         stored hashes depend on it), or set OTKLIK_SECRET",
        path.display()
    );
    Ok(format!("kept in the database by an older version; `otklik serve` moves it to {}", path.display()))
}

/// `OTKLIK_SECRET`'s bytes, if it is at least [`SECRET_MIN`] of them.
fn long_enough(secret: &str) -> anyhow::Result<&[u8]> {
    anyhow::ensure!(
        secret.len() >= SECRET_MIN,
        "OTKLIK_SECRET must be at least {SECRET_MIN} characters (for example `openssl rand -hex 32`)"
    );
    Ok(secret.as_bytes())
}

/// The key file of a database file: beside it, with `.key` appended.
pub fn key_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn random_key() -> anyhow::Result<Vec<u8>> {
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("gathering randomness for the server secret: {e}"))?;
    Ok(fresh.to_vec())
}

/// The key a key file holds; `None` when there is no such file.
pub fn read_key(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading the key file {}", path.display()))),
    };
    let key = crate::hex::decode(text.trim())
        .filter(|k| k.len() >= 16)
        .with_context(|| format!("the key file {} does not hold a hex key", path.display()))?;
    Ok(Some(key))
}

/// Writes a new key file readable by its owner only; never replaces one.
fn write_key(path: &Path, key: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating the key file {}", path.display()))?;
    writeln!(file, "{}", crate::hex::encode(key))?;
    file.sync_all().with_context(|| format!("writing the key file {}", path.display()))?;
    Ok(())
}
/// Compares two secrets without stopping at the first difference, so timing tells nothing (of equal
/// lengths; a length is no secret here: tokens and digests have fixed ones).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.ct_eq(b).into()
}
