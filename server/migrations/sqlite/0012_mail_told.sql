-- A reply told to a recipient stays in mail_pending, marked with when: made visible again (an edit sent it
-- back to moderation, a moderator approved it anew), it is not told twice. Rows go with the recipient.
ALTER TABLE mail_pending ADD COLUMN told_at INTEGER;
