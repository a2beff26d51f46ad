-- Refresh-token rotation in one statement: the successor names its parent
-- (`parent_hash`, unique, so a token has at most one successor) instead of
-- the parent being updated in a second statement of a transaction. A token
-- is rotated when a row names it (or, for rows rotated before this
-- migration, when its `rotated_at` is set).
--
-- Refresh reuse grace (`tokens.refresh_reuse_grace_secs`): the successor is
-- also kept `sealed` with its parent token (only whoever presents the parent
-- can open it), so a second tab replaying the parent within the grace gets
-- the same successor instead of revoking the family.
ALTER TABLE refresh_tokens ADD COLUMN parent_hash TEXT;
ALTER TABLE refresh_tokens ADD COLUMN sealed TEXT;
CREATE UNIQUE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash);
