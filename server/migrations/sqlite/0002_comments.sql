-- What the page said about itself the first time it was seen (moderators link to it).
ALTER TABLE articles ADD COLUMN url TEXT;
ALTER TABLE articles ADD COLUMN title TEXT;
-- Visible comments, changed in the same transaction as `comments`, so counts never scan the thread.
ALTER TABLE articles ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    parent_id  INTEGER REFERENCES comments (id),
    -- The top-level comment of the thread this one is in (itself for a top-level comment).
    root_id    INTEGER NOT NULL,
    depth      INTEGER NOT NULL,
    -- Zero-padded ids from the root down, joined by '/': ordering by it lists a thread depth-first.
    path       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    -- HMACs of the reader token and of the client IP: never the values themselves.
    reader     BLOB    NOT NULL,
    ip_hash    BLOB,
    likes      INTEGER NOT NULL DEFAULT 0 CHECK (likes >= 0),
    -- For a top-level comment: replies below it, at any depth.
    replies    INTEGER NOT NULL DEFAULT 0 CHECK (replies >= 0),
    created_at INTEGER NOT NULL,
    edited_at  INTEGER,
    -- Set when a comment with replies is deleted: it stays as a placeholder with its text removed.
    deleted_at INTEGER
);
-- Pages of top-level comments in each order; replies by thread; children for "has replies".
CREATE INDEX comments_top_level ON comments (article_id, id) WHERE depth = 0;
CREATE INDEX comments_top_level_liked ON comments (article_id, likes, id) WHERE depth = 0;
CREATE INDEX comments_thread ON comments (root_id, path);
CREATE INDEX comments_parent ON comments (parent_id);

CREATE TABLE comment_likes (
    comment_id INTEGER NOT NULL REFERENCES comments (id),
    reader     BLOB    NOT NULL,
    PRIMARY KEY (comment_id, reader)
) WITHOUT ROWID;
