-- Moderation: comment statuses and reader flags, per-article settings, moderator accounts and their
-- sessions, bans, and the audit log.

-- 'visible' comments are shown to everyone and counted; 'pending' ones only to their author until a
-- moderator approves them; 'hidden' ones to nobody. `reviewed_at` is when a moderator last acted on it,
-- `flags` the reader flags since then: together they are the moderators' queue.
--
-- The indexes below hold only the rare rows (flagged, not visible, pending), so posting a comment, the
-- hot write, maintains none of them. The unreviewed are the newest comments, which the queue finds by
-- walking the primary key from the top.
ALTER TABLE comments ADD COLUMN status TEXT NOT NULL DEFAULT 'visible'
    CHECK (status IN ('visible', 'pending', 'hidden'));
ALTER TABLE comments ADD COLUMN reviewed_at INTEGER;
ALTER TABLE comments ADD COLUMN flags INTEGER NOT NULL DEFAULT 0 CHECK (flags >= 0);
CREATE INDEX comments_flagged ON comments (id) WHERE flags > 0;
CREATE INDEX comments_by_status ON comments (status, id) WHERE status <> 'visible';
-- Who has comments awaiting moderation on an article (they see their own; the shared page cache cannot).
CREATE INDEX comments_pending ON comments (article_id) WHERE status = 'pending';

-- One flag per reader per comment: the primary key is what enforces it.
CREATE TABLE comment_flags (
    comment_id INTEGER NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reader     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (comment_id, reader)
) WITHOUT ROWID;

-- NULL: the server's default mode (OTKLIK_MODERATION).
ALTER TABLE articles ADD COLUMN moderation TEXT CHECK (moderation IN ('pre', 'post'));
ALTER TABLE articles ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;

CREATE TABLE moderators (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    -- PHC string of an Argon2id hash: the password itself is never stored.
    password   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- A signed-in browser. Only the SHA-256 of the cookie's token is kept, so a copy of the database
-- does not sign anyone in.
CREATE TABLE sessions (
    token_hash   BLOB    PRIMARY KEY,
    moderator_id INTEGER NOT NULL REFERENCES moderators (id) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- `value`: hex of the reader or IP hash, or a CIDR range.
CREATE TABLE bans (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('reader', 'ip', 'range')),
    value      TEXT    NOT NULL,
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    lifted_at  INTEGER
);
CREATE INDEX bans_in_force ON bans (until) WHERE lifted_at IS NULL;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    who    TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL DEFAULT ''
);
