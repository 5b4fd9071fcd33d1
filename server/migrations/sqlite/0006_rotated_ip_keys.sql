-- IP hashes are made under a key that changes every week (see `reader.rs`): a comment keeps the epoch of
-- the key its IP hash was made under, and so does an IP ban made from it, so that the ban matches the
-- same address later. NULL: hashed before keys rotated, under the one key of that time.
ALTER TABLE comments ADD COLUMN ip_epoch INTEGER;
ALTER TABLE bans ADD COLUMN epoch INTEGER;
