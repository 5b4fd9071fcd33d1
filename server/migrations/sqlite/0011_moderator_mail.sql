-- Moderators' notifications: one address per account, sealed like readers' addresses, confirmed before
-- anything else goes to it, and what it asks for: every new pending comment, every flag, every new typo
-- report, and/or one message a day of what waits.
CREATE TABLE moderator_mail (
    moderator_id INTEGER PRIMARY KEY,
    lookup       BLOB    NOT NULL,
    sealed       BLOB    NOT NULL,
    lang         TEXT    NOT NULL,
    confirmed_at INTEGER,
    pending      INTEGER NOT NULL DEFAULT 0,
    flags        INTEGER NOT NULL DEFAULT 0,
    typos        INTEGER NOT NULL DEFAULT 0,
    digest       INTEGER NOT NULL DEFAULT 0,
    -- When the last daily digest was queued.
    digest_at    INTEGER NOT NULL DEFAULT 0
);
