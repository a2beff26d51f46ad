-- Groups of users, for the admin console and the `groups` claim (issue 16).
-- A name is unique case-insensitively: `name_norm` is the trimmed, lowercased
-- name the store computes (as for usernames). Instants are unix seconds; ids
-- are TEXT.
CREATE TABLE groups (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    name_norm   TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Memberships go with their group and with their user. The primary key
-- serves "members of a group"; `group_members_user` serves "groups of a
-- user", which the token path reads.
CREATE TABLE group_members (
    group_id  TEXT    NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
