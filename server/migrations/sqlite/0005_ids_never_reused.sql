-- Ids that are never handed out twice.
--
-- A webhook delivery's id is its outbox row id, and receivers drop repeats by it. A plain INTEGER PRIMARY
-- KEY takes max(id) + 1, so once the delivered rows were deleted the next event reused an id that a
-- receiver had already seen, and was dropped. AUTOINCREMENT keeps the high-water mark in sqlite_sequence.
CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
INSERT INTO outbox_new (id, event, payload, attempts, next_attempt, created_at)
    SELECT id, event, payload, attempts, next_attempt, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt);
-- Ids delivered before this migration are not recorded anywhere: start past any of them (a counter
-- that began at 1 will not have reached the current time in milliseconds).
DELETE FROM sqlite_sequence WHERE name = 'outbox';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', max(unixepoch() * 1000, coalesce(max(id), 0)) FROM outbox;

-- Comment ids are handed out by the writer as max(id) + 1, which a deleted newest comment would give back
-- after a restart. `comment_id_high` (in settings) remembers the highest id ever deleted.
INSERT INTO settings (name, value)
    SELECT 'comment_id_high', coalesce(max(id), 0) FROM comments WHERE true
    ON CONFLICT (name) DO NOTHING;
