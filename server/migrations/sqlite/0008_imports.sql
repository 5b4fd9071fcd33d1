-- Where an imported comment came from ('disqus', 'wordpress', ...) and its id there: a second import of
-- the same file finds every comment it brought and adds nothing. NULL for comments written here.
ALTER TABLE comments ADD COLUMN import_source TEXT;
ALTER TABLE comments ADD COLUMN import_id TEXT;
CREATE UNIQUE INDEX comments_imported ON comments (import_source, import_id) WHERE import_source IS NOT NULL;
