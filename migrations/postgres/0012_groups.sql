-- Groups of users, for the admin console and the `groups` claim (issue 16).
-- A name is unique case-insensitively: `name_norm` is the trimmed, lowercased
-- name the store computes (as for usernames). `COLLATE "C"` orders names by
-- bytes, as SQLite does, whatever the database's collation.
CREATE TABLE groups (
    id          UUID        PRIMARY KEY,
    name        TEXT        NOT NULL,
    name_norm   TEXT        COLLATE "C" NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Memberships go with their group and with their user. The primary key
-- serves "members of a group"; `group_members_user` serves "groups of a
-- user", which the token path reads.
CREATE TABLE group_members (
    group_id  UUID        NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- A user's groups are part of what userinfo answers: a membership added or
-- removed, a group renamed or deleted notifies the other instances as the
-- changes of 0010 do.
CREATE TRIGGER groups_token_state AFTER UPDATE OR DELETE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
CREATE TRIGGER group_members_token_state AFTER INSERT OR DELETE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_token_state_changed();
