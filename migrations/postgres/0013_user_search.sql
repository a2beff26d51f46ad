-- User search for the admin console (issue 16): a case-insensitive prefix
-- of the username, the email or the display name, as a range of the
-- normalised column (`>= prefix AND < the next string`, compared by bytes),
-- which an index serves. Usernames and emails have their normalised, unique
-- columns; display names get one, computed by the store (trimmed,
-- lowercased) for every write.
--
-- The three compare by bytes (`COLLATE "C"`), as SQLite does: under a
-- linguistic collation the range would not be the prefix's strings (and
-- their order would differ between the backends, so would keyset pages).
-- Equality, which the unique constraints and sign-in use, is unchanged.
ALTER TABLE users ALTER COLUMN username_norm TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN email_norm TYPE TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN display_name_norm TEXT COLLATE "C";
CREATE INDEX users_display_name_norm ON users (display_name_norm);

-- Backfills the names that are printable ASCII, folded as the store folds
-- them whatever the database's locale; the store normalises the others
-- (left NULL here) after migrating, as the application does.
UPDATE users SET display_name_norm = lower(trim(display_name) COLLATE "C")
 WHERE display_name COLLATE "C" ~ '^[ -~]*$';
