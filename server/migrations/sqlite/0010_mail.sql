-- Reply notifications by e-mail. An address is kept per reader token that gave it (a confirmed address is
-- confirmed for that token only), encrypted with a key derived from the server secret (`sealed`), and
-- found by a keyed hash of its normalised form (`lookup`), so the database alone never shows an address.
CREATE TABLE mail_recipients (
    -- AUTOINCREMENT: ids are never reused, so a link from an old message never reaches a newer recipient.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    reader          BLOB    NOT NULL,
    lookup          BLOB    NOT NULL,
    sealed          BLOB    NOT NULL,
    -- 'ru' or 'en': the language of the comment that gave the address.
    lang            TEXT    NOT NULL,
    confirmed_at    INTEGER,
    confirm_sent_at INTEGER,
    -- Replies waiting for this recipient have a message queued in the outbox.
    queued          INTEGER NOT NULL DEFAULT 0,
    -- The next message may go at this time: replies arriving before it are gathered into one.
    next_mail_at    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (reader, lookup)
);
CREATE INDEX mail_recipients_lookup ON mail_recipients (lookup);

-- Comments whose replies are told to a recipient.
CREATE TABLE reply_subscriptions (
    comment_id   INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    PRIMARY KEY (comment_id, recipient_id)
) WITHOUT ROWID;
CREATE INDEX reply_subscriptions_recipient ON reply_subscriptions (recipient_id);

-- Replies visible and not yet told to their recipient.
CREATE TABLE mail_pending (
    recipient_id INTEGER NOT NULL,
    reply_id     INTEGER NOT NULL,
    PRIMARY KEY (recipient_id, reply_id)
) WITHOUT ROWID;
-- A reply made visible looks for the rows it just added.
CREATE INDEX mail_pending_reply ON mail_pending (reply_id);

-- Addresses that bounced (or complained): nothing more goes to them, whoever gives them.
CREATE TABLE mail_blocked (
    lookup     BLOB    PRIMARY KEY,
    reason     TEXT    NOT NULL,
    blocked_at INTEGER NOT NULL
) WITHOUT ROWID;
