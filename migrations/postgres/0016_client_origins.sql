-- CORS for browser-based clients: the web origins a client lists besides
-- those its redirect URIs imply.
ALTER TABLE clients ADD COLUMN allowed_origins TEXT[] NOT NULL DEFAULT '{}';
