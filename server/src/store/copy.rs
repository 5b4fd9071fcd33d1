//! `otklik copy-db`: a whole site from a SQLite file into an empty PostgreSQL database.
//!
//! The source is read in one read transaction (one snapshot, so the copy is consistent while a server
//! keeps writing to it); the target is written in one transaction (a copy that fails leaves it empty).
//! Ids are kept, so links, webhook receivers and moderators' notes still name the same comments, and the
//! target's sequences continue past every id the source ever handed out.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection as _, PgConnection, Postgres, QueryBuilder, Row as _};

use super::{Location, PgStore, Store as _};

/// How a column is read from SQLite and written to PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    /// An INTEGER that PostgreSQL keeps as SMALLINT (reaction kinds).
    Small,
    /// An INTEGER that PostgreSQL keeps as INTEGER (attempt counts).
    Int4,
    /// SQLite's 0/1.
    Bool,
    Text,
    /// Text holding JSON.
    Json,
    Blob,
}

use Kind::*;

/// A table, its columns, the order its rows are copied in (parents before children), and whether its
/// `id` is an identity column whose sequence must continue past the copied ids.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    order: &'static str,
    identity: bool,
}

const TABLES: &[Table] = &[
    Table {
        name: "articles",
        columns: &[
            ("id", Int),
            ("key", Text),
            ("url", Text),
            ("title", Text),
            ("created_at", Int),
            ("comment_count", Int),
            ("moderation", Text),
            ("closed", Bool),
        ],
        order: "id",
        identity: true,
    },
    Table {
        name: "reactions",
        columns: &[("article_id", Int), ("reader", Blob), ("kind", Small), ("created_at", Int)],
        order: "article_id, reader",
        identity: false,
    },
    Table {
        name: "reaction_counts",
        columns: &[("article_id", Int), ("kind", Small), ("count", Int)],
        order: "article_id, kind",
        identity: false,
    },
    // A reply's id is always above its parent's: in id order every parent comes first.
    Table {
        name: "comments",
        columns: &[
            ("id", Int),
            ("article_id", Int),
            ("parent_id", Int),
            ("root_id", Int),
            ("depth", Int),
            ("path", Text),
            ("author", Text),
            ("text", Text),
            ("reader", Blob),
            ("ip_hash", Blob),
            ("ip_epoch", Int),
            ("likes", Int),
            ("replies", Int),
            ("created_at", Int),
            ("edited_at", Int),
            ("deleted_at", Int),
            ("status", Text),
            ("reviewed_at", Int),
            ("flags", Int),
            ("import_source", Text),
            ("import_id", Text),
        ],
        order: "id",
        identity: false,
    },
    Table {
        name: "comment_likes",
        columns: &[("comment_id", Int), ("reader", Blob)],
        order: "comment_id, reader",
        identity: false,
    },
    Table {
        name: "comment_flags",
        columns: &[("comment_id", Int), ("reader", Blob), ("created_at", Int)],
        order: "comment_id, reader",
        identity: false,
    },
    Table {
        name: "typos",
        columns: &[
            ("id", Int),
            ("article_id", Int),
            ("fragment", Text),
            ("before", Text),
            ("after", Text),
            ("notes", Json),
            ("status", Text),
            ("reports", Int),
            ("reader", Blob),
            ("ip_hash", Blob),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        order: "id",
        identity: true,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", Int),
            ("event", Text),
            ("payload", Text),
            ("attempts", Int4),
            ("next_attempt", Int),
            ("created_at", Int),
        ],
        order: "id",
        identity: true,
    },
    Table {
        name: "mail_recipients",
        columns: &[
            ("id", Int),
            ("reader", Blob),
            ("lookup", Blob),
            ("sealed", Blob),
            ("lang", Text),
            ("confirmed_at", Int),
            ("confirm_sent_at", Int),
            ("queued", Bool),
            ("next_mail_at", Int),
            ("created_at", Int),
        ],
        order: "id",
        identity: true,
    },
    Table {
        name: "reply_subscriptions",
        columns: &[("comment_id", Int), ("recipient_id", Int)],
        order: "comment_id, recipient_id",
        identity: false,
    },
    Table {
        name: "mail_pending",
        columns: &[("recipient_id", Int), ("reply_id", Int), ("told_at", Int)],
        order: "recipient_id, reply_id",
        identity: false,
    },
    Table {
        name: "mail_blocked",
        columns: &[("lookup", Blob), ("reason", Text), ("blocked_at", Int)],
        order: "lookup",
        identity: false,
    },
    Table {
        name: "moderators",
        columns: &[("id", Int), ("name", Text), ("password", Text), ("created_at", Int)],
        order: "id",
        identity: true,
    },
    Table {
        name: "moderator_mail",
        columns: &[
            ("moderator_id", Int),
            ("lookup", Blob),
            ("sealed", Blob),
            ("lang", Text),
            ("confirmed_at", Int),
            ("pending", Bool),
            ("flags", Bool),
            ("typos", Bool),
            ("digest", Bool),
            ("digest_at", Int),
        ],
        order: "moderator_id",
        identity: false,
    },
    Table {
        name: "sessions",
        columns: &[
            ("token_hash", Blob),
            ("moderator_id", Int),
            ("csrf", Text),
            ("created_at", Int),
            ("expires_at", Int),
        ],
        order: "token_hash",
        identity: false,
    },
    Table {
        name: "bans",
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("value", Text),
            ("until", Int),
            ("reason", Text),
            ("created_by", Text),
            ("created_at", Int),
            ("lifted_at", Int),
            ("epoch", Int),
        ],
        order: "id",
        identity: true,
    },
    Table {
        name: "audit",
        columns: &[("id", Int), ("at", Int), ("who", Text), ("action", Text), ("target", Text), ("detail", Text)],
        order: "id",
        identity: true,
    },
];

/// Rows sent to PostgreSQL per statement (well under its 65,535 parameters for the widest table).
const BATCH: usize = 1_000;

/// One value on its way across.
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

/// What was copied: each table with its rows.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies the site in the SQLite database `from` into the empty PostgreSQL database `to`, with `secret`
/// (the hashing key of the source, from its key file) if the source has one.
pub async fn copy(from: &str, to: &str, secret: Option<Vec<u8>>) -> anyhow::Result<Copied> {
    let Location::Sqlite(source) = from.parse()? else {
        anyhow::bail!("copy-db copies from a SQLite database (--from PATH or sqlite:PATH) into PostgreSQL")
    };
    let Location::Postgres(target) = to.parse()? else {
        anyhow::bail!("copy-db copies into a PostgreSQL database (--to postgres://…)")
    };
    // The source must be a database the server made and brought up to date; opening it so checks it.
    super::SqliteStore::open_existing(&source).await?.close().await;
    let options = if source.starts_with("sqlite:") {
        source.parse::<SqliteConnectOptions>()?
    } else {
        SqliteConnectOptions::new().filename(&source)
    };
    let reader = SqlitePoolOptions::new().max_connections(1).connect_with(options.read_only(true)).await?;
    // The target gets the schema first (as a node would), and must hold nothing yet.
    PgStore::open(&target, 2, true).await?.close().await;
    let mut pg = PgConnection::connect(&target).await.context("connecting to the target")?;
    for table in TABLES.iter().map(|t| t.name).chain(["settings"]) {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut pg).await?;
        anyhow::ensure!(
            rows == 0,
            "the target database is not empty ({table} has {rows} rows): copy-db fills only an empty database"
        );
    }

    let mut snapshot = reader.begin().await?;
    let mut totals = Vec::new();
    for table in TABLES {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {}", table.name)).fetch_one(&mut *snapshot).await?;
        totals.push(rows.max(0) as u64);
    }
    let all: u64 = totals.iter().sum();
    let mut progress = Progress::new(all);
    let mut tx = pg.begin().await?;
    for (table, total) in TABLES.iter().zip(&totals) {
        let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let select = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order);
        let mut rows = sqlx::query(&select).fetch(&mut *snapshot);
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
        use futures_util::TryStreamExt as _;
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                values.push(match kind {
                    Int | Small | Int4 => Value::Int(row.try_get(i)?),
                    Bool => Value::Bool(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
                    Text | Json => Value::Text(row.try_get(i)?),
                    Blob => Value::Blob(row.try_get(i)?),
                });
            }
            batch.push(values);
            if batch.len() == BATCH {
                insert(&mut tx, table, &mut batch).await?;
                progress.advance(table.name, BATCH as u64);
            }
        }
        drop(rows);
        let rest = batch.len() as u64;
        insert(&mut tx, table, &mut batch).await?;
        progress.advance(table.name, rest);
        progress.table_done(table.name, *total);
    }

    // Settings: the source's own bookkeeping stays behind; what PostgreSQL needs is made from it.
    let comment_high: Option<i64> =
        sqlx::query_scalar("SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'comment_id_high'")
            .fetch_optional(&mut *snapshot)
            .await?;
    let outbox_high: Option<i64> = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        .fetch_optional(&mut *snapshot)
        .await?;
    snapshot.commit().await?;
    if let Some(key) = &secret {
        sqlx::query("INSERT INTO settings (name, value) VALUES ('server_key', $1)").bind(key).execute(&mut *tx).await?;
    }
    // Sequences continue past every id the source handed out, deleted ones included.
    sqlx::query("SELECT setval('comments_id_seq', greatest((SELECT max(id) FROM comments), $1, 0) + 1, false)")
        .bind(comment_high.unwrap_or(0))
        .execute(&mut *tx)
        .await?;
    for table in TABLES.iter().filter(|t| t.identity) {
        let floor = if table.name == "outbox" { outbox_high.unwrap_or(0) } else { 0 };
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), greatest((SELECT max(id) FROM {0}), $1, 0) + 1, false)",
            table.name
        ))
        .bind(floor)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    progress.finish();

    // What arrived, counted in the target itself.
    let mut copied = Vec::new();
    for (table, expected) in TABLES.iter().zip(totals) {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", table.name)).fetch_one(&mut pg).await?;
        anyhow::ensure!(
            rows.max(0) as u64 == expected,
            "{}: {expected} rows in the source but {rows} in the target",
            table.name
        );
        copied.push((table.name, expected));
    }
    pg.close().await?;
    reader.close().await;
    Ok(copied)
}

/// Sends `batch` to the target as one INSERT and empties it.
async fn insert(tx: &mut PgConnection, table: &Table, batch: &mut Vec<Vec<Value>>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let mut query = QueryBuilder::<Postgres>::new(format!("INSERT INTO {} ({}) ", table.name, columns.join(", ")));
    if table.identity {
        query.push("OVERRIDING SYSTEM VALUE ");
    }
    query.push_values(batch.drain(..), |mut row, values| {
        for (value, (_, kind)) in values.into_iter().zip(table.columns) {
            match value {
                Value::Int(v) => row.push_bind(v),
                Value::Bool(v) => row.push_bind(v),
                Value::Text(v) => row.push_bind(v),
                Value::Blob(v) => row.push_bind(v),
            };
            match kind {
                Small => {
                    row.push_unseparated("::smallint");
                }
                Int4 => {
                    row.push_unseparated("::integer");
                }
                Json => {
                    row.push_unseparated("::jsonb");
                }
                _ => {}
            }
        }
    });
    query.build().execute(&mut *tx).await.with_context(|| format!("copying {}", table.name))?;
    Ok(())
}

/// A progress bar on a terminal; a line per table elsewhere (logs, tests).
struct Progress {
    total: u64,
    done: u64,
    terminal: bool,
}

impl Progress {
    fn new(total: u64) -> Self {
        Self { total, done: 0, terminal: std::io::stderr().is_terminal() }
    }

    fn advance(&mut self, table: &str, rows: u64) {
        self.done += rows;
        if self.terminal {
            let share = if self.total == 0 { 1.0 } else { self.done as f64 / self.total as f64 };
            let filled = (share * 30.0) as usize;
            eprint!(
                "\r[{}{}] {:>3.0}% {:>10}/{} rows  {table:<16}",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                share * 100.0,
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn table_done(&self, table: &str, rows: u64) {
        if !self.terminal {
            eprintln!("copied {table}: {rows} rows");
        }
    }

    fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }
}
