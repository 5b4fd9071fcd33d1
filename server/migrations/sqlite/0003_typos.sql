-- Typo reports. While a report is open (`new`), readers reporting the same fragment in the same context
-- on the same article add to its counter instead of adding rows: the partial unique index is what makes
-- the merge exact under concurrency.
CREATE TABLE typos (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    fragment   TEXT    NOT NULL,
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL,
    -- The readers' corrections and comments, a JSON array of strings (merged reports append theirs).
    notes      TEXT    NOT NULL DEFAULT '[]',
    status     TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'fixed', 'rejected')),
    reports    INTEGER NOT NULL DEFAULT 1 CHECK (reports >= 1),
    -- HMACs of the first reporter's token and IP: never the values themselves.
    reader     BLOB    NOT NULL,
    ip_hash    BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX typos_open ON typos (article_id, fragment, before, after) WHERE status = 'new';
CREATE INDEX typos_by_status ON typos (status, id);

-- Webhook deliveries waiting to be made. A row is written in the same transaction as the event it
-- announces, so an event is announced exactly when it happened, and a restart loses no delivery.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt);
