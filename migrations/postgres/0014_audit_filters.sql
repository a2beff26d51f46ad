-- The admin console's audit log (issue 16): pages newest first (by id),
-- filtered by user, event kind or IP, and the dashboard's counts of an
-- event kind over a recent window. Each filter gets an index in page order
-- (column, id); counts read (kind, at). Nothing queried (user_id, at).
--
-- A family of kinds (`signin.`) is searched as a range, which holds exactly
-- the kinds it begins only when text compares by bytes, as on SQLite.
ALTER TABLE audit_events ALTER COLUMN kind TYPE TEXT COLLATE "C";
DROP INDEX audit_events_user;
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_kind_at ON audit_events (kind, at);
CREATE INDEX audit_events_ip ON audit_events (ip, id);
