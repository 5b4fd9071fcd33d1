-- The whole schema as SQLite's migrations 0001–0006 left it, for PostgreSQL. Times are unix seconds;
-- `reader`, `ip_hash` and the like are keyed hashes (HMACs), never the values themselves.

-- Articles are keyed by the publisher's id; everything else refers to them by a compact integer.
CREATE TABLE articles (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,
    url           TEXT,
    title         TEXT,
    created_at    BIGINT  NOT NULL,
    -- Visible comments, changed in the same transaction as `comments`, so counts never scan the thread.
    comment_count BIGINT  NOT NULL DEFAULT 0,
    -- NULL: the server's default mode (OTKLIK_MODERATION).
    moderation    TEXT    CHECK (moderation IN ('pre', 'post')),
    closed        BOOLEAN NOT NULL DEFAULT false
);

-- One row per reader per article: the primary key is what enforces "one reaction each".
CREATE TABLE reactions (
    article_id BIGINT   NOT NULL REFERENCES articles (id),
    reader     BYTEA    NOT NULL,
    kind       SMALLINT NOT NULL CHECK (kind BETWEEN 0 AND 4),
    created_at BIGINT   NOT NULL,
    PRIMARY KEY (article_id, reader)
);

-- Running totals, changed in the same transaction as `reactions`, so reads never count rows.
CREATE TABLE reaction_counts (
    article_id BIGINT   NOT NULL REFERENCES articles (id),
    kind       SMALLINT NOT NULL CHECK (kind BETWEEN 0 AND 4),
    count      BIGINT   NOT NULL CHECK (count >= 0),
    PRIMARY KEY (article_id, kind)
);

-- Server-wide values generated once.
CREATE TABLE settings (
    name  TEXT  PRIMARY KEY,
    value BYTEA NOT NULL
);

-- A sequence never hands an id out twice, so an id names one comment forever (links, webhooks and
-- moderators' notes point at it), whichever node took it.
CREATE TABLE comments (
    id          BIGINT  PRIMARY KEY,
    article_id  BIGINT  NOT NULL REFERENCES articles (id),
    parent_id   BIGINT  REFERENCES comments (id),
    -- The top-level comment of the thread this one is in (itself for a top-level comment).
    root_id     BIGINT  NOT NULL,
    depth       BIGINT  NOT NULL,
    -- Zero-padded ids from the root down, joined by '/': ordering by it lists a thread depth-first.
    path        TEXT    COLLATE "C" NOT NULL,
    author      TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    reader      BYTEA   NOT NULL,
    ip_hash     BYTEA,
    -- The key epoch `ip_hash` was made under (NULL: before keys rotated).
    ip_epoch    BIGINT,
    likes       BIGINT  NOT NULL DEFAULT 0 CHECK (likes >= 0),
    -- For a top-level comment: visible replies below it, at any depth.
    replies     BIGINT  NOT NULL DEFAULT 0 CHECK (replies >= 0),
    created_at  BIGINT  NOT NULL,
    edited_at   BIGINT,
    -- Set when a comment with replies is deleted: it stays as a placeholder with its text removed.
    deleted_at  BIGINT,
    -- 'visible': shown to everyone and counted; 'pending': to its author until approved; 'hidden': nobody.
    status      TEXT    NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'pending', 'hidden')),
    -- When a moderator last acted on it, and the reader flags since then: the moderators' queue.
    reviewed_at BIGINT,
    flags       BIGINT  NOT NULL DEFAULT 0 CHECK (flags >= 0)
);
CREATE SEQUENCE comments_id_seq OWNED BY comments.id;
CREATE INDEX comments_top_level ON comments (article_id, id) WHERE depth = 0;
CREATE INDEX comments_top_level_liked ON comments (article_id, likes, id) WHERE depth = 0;
CREATE INDEX comments_thread ON comments (root_id, path);
CREATE INDEX comments_parent ON comments (parent_id);
CREATE INDEX comments_flagged ON comments (id) WHERE flags > 0;
CREATE INDEX comments_by_status ON comments (status, id) WHERE status <> 'visible';
CREATE INDEX comments_pending ON comments (article_id) WHERE status = 'pending';
-- The hourly purge finds the IP hashes still kept without reading the rest.
CREATE INDEX comments_ip_kept ON comments (created_at) WHERE ip_hash IS NOT NULL;

CREATE TABLE comment_likes (
    comment_id BIGINT NOT NULL REFERENCES comments (id),
    reader     BYTEA  NOT NULL,
    PRIMARY KEY (comment_id, reader)
);

-- One flag per reader per comment: the primary key is what enforces it.
CREATE TABLE comment_flags (
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reader     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (comment_id, reader)
);

-- Typo reports. While a report is open (`new`), readers reporting the same fragment in the same context
-- add to its counter instead of adding rows: the partial unique index makes the merge exact.
CREATE TABLE typos (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id BIGINT  NOT NULL REFERENCES articles (id),
    fragment   TEXT    NOT NULL,
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL,
    -- The readers' corrections and comments (merged reports append theirs).
    notes      JSONB   NOT NULL DEFAULT '[]',
    status     TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'fixed', 'rejected')),
    reports    BIGINT  NOT NULL DEFAULT 1 CHECK (reports >= 1),
    reader     BYTEA   NOT NULL,
    ip_hash    BYTEA,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX typos_open ON typos (article_id, fragment, before, after) WHERE status = 'new';
CREATE INDEX typos_by_status ON typos (status, id);

-- Webhook deliveries waiting to be made, written in the transaction of the event they announce. The id
-- is the delivery's id, by which receivers drop repeats: a sequence never gives one out twice.
CREATE TABLE outbox (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT  NOT NULL,
    -- Until when one node holds it to deliver (its attempt not yet recorded); another takes it after that.
    claimed_until BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt);

CREATE TABLE moderators (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT   NOT NULL UNIQUE,
    -- PHC string of an Argon2id hash: the password itself is never stored.
    password   TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- A signed-in browser, by the SHA-256 of its cookie's token: a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash   BYTEA  PRIMARY KEY,
    moderator_id BIGINT NOT NULL REFERENCES moderators (id) ON DELETE CASCADE,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- `value`: hex of the reader or IP hash, or a CIDR range; `epoch`: the key epoch of an IP hash.
CREATE TABLE bans (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('reader', 'ip', 'range')),
    value      TEXT   NOT NULL,
    until      BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    lifted_at  BIGINT,
    epoch      BIGINT
);
CREATE INDEX bans_in_force ON bans (until) WHERE lifted_at IS NULL;

CREATE TABLE audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    who    TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    detail TEXT   NOT NULL DEFAULT ''
);

-- Rate-limit buckets every node counts in: `bucket` is the limit's kind and the client's key, `tat` (unix
-- milliseconds) when the bucket is empty again. Unlogged: after a crash the limits start afresh, which
-- costs nothing worth a write-ahead log entry per request.
CREATE UNLOGGED TABLE rate_limits (
    bucket BYTEA  PRIMARY KEY,
    tat    BIGINT NOT NULL
);
