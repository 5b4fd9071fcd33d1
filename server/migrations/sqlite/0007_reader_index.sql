-- A reader's own data is found by their token's hash (GET and DELETE /api/v1/me) without a scan.
CREATE INDEX comments_by_reader ON comments (reader);
CREATE INDEX reactions_by_reader ON reactions (reader);
CREATE INDEX comment_likes_by_reader ON comment_likes (reader);
CREATE INDEX comment_flags_by_reader ON comment_flags (reader);
CREATE INDEX typos_by_reader ON typos (reader);
