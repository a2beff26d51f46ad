-- PostgreSQL's 0010 adds triggers that notify the other instances when a
-- change can invalidate access tokens (their caches of token state drop what
-- they hold). An SQLite file has one serving process, whose store advances
-- the token-state generation itself: nothing to add here. The statement keeps
-- the two backends' migration lists the same.
SELECT 1;
