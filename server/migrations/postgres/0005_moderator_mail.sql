-- Moderators' notifications (see the SQLite migration 0011_moderator_mail.sql).
CREATE TABLE moderator_mail (
    moderator_id BIGINT  PRIMARY KEY REFERENCES moderators (id) ON DELETE CASCADE,
    lookup       BYTEA   NOT NULL,
    sealed       BYTEA   NOT NULL,
    lang         TEXT    NOT NULL,
    confirmed_at BIGINT,
    pending      BOOLEAN NOT NULL DEFAULT false,
    flags        BOOLEAN NOT NULL DEFAULT false,
    typos        BOOLEAN NOT NULL DEFAULT false,
    digest       BOOLEAN NOT NULL DEFAULT false,
    digest_at    BIGINT  NOT NULL DEFAULT 0
);
