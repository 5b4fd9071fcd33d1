-- Reply notifications by e-mail (see the SQLite migration 0010_mail.sql for what each column keeps).
CREATE TABLE mail_recipients (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reader          BYTEA   NOT NULL,
    lookup          BYTEA   NOT NULL,
    sealed          BYTEA   NOT NULL,
    lang            TEXT    NOT NULL,
    confirmed_at    BIGINT,
    confirm_sent_at BIGINT,
    queued          BOOLEAN NOT NULL DEFAULT false,
    next_mail_at    BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    UNIQUE (reader, lookup)
);
CREATE INDEX mail_recipients_lookup ON mail_recipients (lookup);

CREATE TABLE reply_subscriptions (
    comment_id   BIGINT NOT NULL,
    recipient_id BIGINT NOT NULL,
    PRIMARY KEY (comment_id, recipient_id)
);
CREATE INDEX reply_subscriptions_recipient ON reply_subscriptions (recipient_id);

CREATE TABLE mail_pending (
    recipient_id BIGINT NOT NULL,
    reply_id     BIGINT NOT NULL,
    PRIMARY KEY (recipient_id, reply_id)
);
CREATE INDEX mail_pending_reply ON mail_pending (reply_id);

CREATE TABLE mail_blocked (
    lookup     BYTEA  PRIMARY KEY,
    reason     TEXT   NOT NULL,
    blocked_at BIGINT NOT NULL
);
