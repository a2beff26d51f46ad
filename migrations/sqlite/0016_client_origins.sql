-- CORS for browser-based clients: the web origins a client lists besides
-- those its redirect URIs imply, as a JSON array of strings.
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
