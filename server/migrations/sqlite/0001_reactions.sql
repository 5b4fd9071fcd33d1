-- Articles are keyed by the publisher's id; everything else refers to them by a compact integer.
CREATE TABLE articles (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- One row per reader per article: the primary key is what enforces "one reaction each".
-- `reader` is an HMAC of the reader's token, never the token itself.
CREATE TABLE reactions (
    article_id INTEGER NOT NULL REFERENCES articles (id),
    reader     BLOB    NOT NULL,
    kind       INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 4),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (article_id, reader)
) WITHOUT ROWID;

-- Running totals, changed in the same transaction as `reactions`, so reads never count rows.
CREATE TABLE reaction_counts (
    article_id INTEGER NOT NULL REFERENCES articles (id),
    kind       INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 4),
    count      INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (article_id, kind)
) WITHOUT ROWID;

-- Server-wide values generated once, such as the key that hashes reader tokens.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
