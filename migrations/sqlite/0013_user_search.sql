-- User search for the admin console (issue 16): a case-insensitive prefix
-- of the username, the email or the display name, as a range of the
-- normalised column (`>= prefix AND < the next string`, compared by bytes),
-- which an index serves. Usernames and emails have their normalised, unique
-- columns; display names get one, computed by the store (trimmed,
-- lowercased) for every write.
ALTER TABLE users ADD COLUMN display_name_norm TEXT;
CREATE INDEX users_display_name_norm ON users (display_name_norm);

-- SQLite's lower() folds ASCII only, so this backfills the names that are
-- printable ASCII; the store normalises the others (left NULL here) after
-- migrating, as the application does.
UPDATE users SET display_name_norm = lower(trim(display_name))
 WHERE display_name IS NOT NULL AND display_name NOT GLOB '*[^ -~]*';
