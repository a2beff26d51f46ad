-- What an upstream's rules granted at the identity's last sign-in (issue
-- 19): {"roles": [...], "groups": [...]} as JSON text. The next sign-in
-- removes what the rules no longer grant, and nothing given by hand.
ALTER TABLE upstream_identities ADD COLUMN granted TEXT NOT NULL DEFAULT '{}';
