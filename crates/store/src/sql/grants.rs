//! Pending authorization requests, consents, grants with their codes,
//! refresh tokens and JWT ids, and ending sessions with the back-channel
//! logouts that follows (one of the job queues, see [`super::Queue`]).
//!
//! A code is redeemed in one write transaction (SQLite: `BEGIN IMMEDIATE`;
//! PostgreSQL: the conditional `UPDATE` locks the row), a refresh token in
//! one `INSERT` of its successor (the unique `parent_hash` admits one): of
//! two redemptions, the second finds it used.

use super::users::{ALIASED, aliased_columns, user_in};
use super::{Db, Exec, Queue, Row, Tx, corrupt, effects::apply};
use crate::{
    AccessTokenState, AuthRequestRepo, AuthRequestRow, BackchannelLogout, CodeRow, ConnectedClient,
    ConsentRepo, Effects, EndedAccess, GrantRepo, GrantRow, LogoutRepo, Redemption, RefreshState,
    RefreshTokenRow, Rotate, RotateOutcome, SessionTimes, StoreError,
};
use async_trait::async_trait;
use portcullis_core::random::hex_id;
use time::OffsetDateTime;
use uuid::Uuid;

/// Grant columns, aliased `g_…` so they can sit beside a code's or token's.
macro_rules! grant_columns {
    () => {
        "g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, g.sid AS g_sid, \
         g.session_bound AS g_session_bound, g.scopes AS g_scopes, g.auth_time AS g_auth_time, \
         g.amr AS g_amr, g.acr AS g_acr, g.created_at AS g_created_at, \
         g.expires_at AS g_expires_at, g.revoked_at AS g_revoked_at, g.resources AS g_resources"
    };
}

/// When a refresh token was rotated: its successor's creation (rotations
/// insert the successor naming its parent), or, for a token rotated before
/// migration 0020, its own `rotated_at`.
macro_rules! rotated_at {
    () => {
        "COALESCE(r.rotated_at, n.created_at) AS rotated_at"
    };
}
/// The columns a claim of a back-channel logout returns.
pub const BACKCHANNEL_COLUMNS: &str =
    "id, client_id, uri, user_id, sid, attempts, created_at, next_attempt_at";

const INSERT_REQUEST: &str =
    "INSERT INTO auth_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
const FIND_REQUEST: &str =
    "SELECT id, client_id, request, created_at, expires_at FROM auth_requests WHERE id = $1";
/// One statement: of two takers of the same request, one gets it.
const TAKE_REQUEST: &str =
    "DELETE FROM auth_requests WHERE id = $1 RETURNING id, client_id, request, created_at, expires_at";
const FIND_CONSENT: &str = "SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2";
pub(crate) const SAVE_CONSENT: &str = "INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at";
const INSERT_GRANT: &str =
    "INSERT INTO grants (id, client_id, user_id, sid, session_bound, scopes, auth_time, amr,
                                               acr, created_at, expires_at, revoked_at, resources)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const INSERT_CODE: &str =
    "INSERT INTO auth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge,
                                                  nonce, created_at, expires_at, consumed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const INSERT_REFRESH: &str =
    "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, created_at,
                                                         expires_at, rotated_at, dpop_jkt)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const FIND_GRANT: &str = concat!("SELECT ", grant_columns!(), " FROM grants g WHERE g.id = $1");
const FIND_CODE: &str = concat!(
    "SELECT c.code_hash, c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.nonce,
            c.created_at, c.expires_at, c.consumed_at, ",
    grant_columns!(),
    " FROM auth_codes c JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = $1"
);
const FIND_REFRESH: &str = concat!(
    "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.created_at, r.expires_at, r.dpop_jkt, ",
    rotated_at!(),
    ", ",
    grant_columns!(),
    " FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
     LEFT JOIN refresh_tokens n ON n.parent_hash = r.token_hash
     WHERE r.token_hash = $1"
);
/// A refresh token, its grant, the grant's session and user: what a refresh
/// is judged by, in one indexed read.
const REFRESH_STATE: &str = concat!(
    "SELECT r.token_hash, r.grant_id, r.client_id, r.scopes, r.created_at, r.expires_at, r.dpop_jkt, ",
    rotated_at!(),
    ", ",
    grant_columns!(),
    ", s.sid AS s_sid, s.user_id AS s_user_id, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, ",
    aliased_columns!(),
    " FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
     LEFT JOIN refresh_tokens n ON n.parent_hash = r.token_hash
     LEFT JOIN sessions s ON s.sid = g.sid
     LEFT JOIN users u ON u.id = g.user_id
     WHERE r.token_hash = $1"
);
/// A rotation in one statement (one implicit transaction): the successor is
/// inserted naming its parent, only if the parent exists and was not
/// rotated before 0020; the unique index on `parent_hash` lets one
/// successor per parent in, so of two rotations the second inserts nothing.
/// (SQLite needs the `WHERE` of an `INSERT … SELECT` before `ON CONFLICT`.)
const ROTATE: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scopes, created_at,
                                                  expires_at, dpop_jkt, parent_hash, sealed)
     SELECT $1, $2, $3, $4, $5, $6, $9, $7, $8
     WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = $7 AND rotated_at IS NULL)
     ON CONFLICT (parent_hash) DO NOTHING";
/// What a rotated refresh token left behind, for a replay.
const ROTATED: &str = concat!(
    "SELECT r.grant_id, n.sealed, ",
    rotated_at!(),
    " FROM refresh_tokens r LEFT JOIN refresh_tokens n ON n.parent_hash = r.token_hash
     WHERE r.token_hash = $1"
);
const REVOKE: &str = "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
const REVOKE_LIVE: &str =
    "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND expires_at > $1";
const REVOKE_USER: &str =
    "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1";
/// One statement: a fresh key is inserted, an expired one replaced, a live
/// one left alone (0 rows), atomically.
const RECORD_JTI: &str = "INSERT INTO jtis (key, expires_at) VALUES ($1, $3)
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE jtis.expires_at <= $2";
const JTI_RECORDED: &str =
    "SELECT EXISTS (SELECT 1 FROM jtis WHERE key = $1 AND expires_at > $2) AS recorded";
const REVOKE_SESSION_BOUND: &str =
    "UPDATE grants SET revoked_at = $1 WHERE sid = $2 AND session_bound AND revoked_at IS NULL";
const LOGOUT_CLIENTS: &str = "SELECT DISTINCT c.client_id, c.backchannel_logout_uri FROM grants g
     JOIN clients c ON c.client_id = g.client_id
     WHERE g.sid = $1 AND c.backchannel_logout_uri IS NOT NULL
     ORDER BY c.client_id";
const QUEUE_LOGOUT: &str =
    "INSERT INTO backchannel_logouts (id, client_id, uri, user_id, sid, attempts, created_at,
                                                            next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, 0, $6, $6)";
const END_OTHER_SESSIONS: &str =
    "DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2 RETURNING sid";
const REVOKE_ALL_BUT_KEPT: &str = "UPDATE grants SET revoked_at = $1
     WHERE user_id = $2 AND revoked_at IS NULL
       AND NOT (session_bound AND sid IS NOT DISTINCT FROM $3 AND $3 IS NOT NULL)";
const END_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1 RETURNING sid, user_id";
const COMPLETE_LOGOUT: &str = "DELETE FROM backchannel_logouts WHERE id = $1";
const RETRY_LOGOUT: &str =
    "UPDATE backchannel_logouts SET lease_until = NULL, next_attempt_at = $1, last_error = $2 WHERE id = $3";
/// Codes and tokens of expired grants are deleted explicitly (rather than
/// by the cascade) so that the count includes them.
const DELETE_EXPIRED: [&str; 6] = [
    "DELETE FROM auth_requests WHERE expires_at <= $1",
    "DELETE FROM device_authorizations WHERE expires_at <= $1",
    "DELETE FROM auth_codes WHERE expires_at <= $1 OR grant_id IN (SELECT id FROM grants WHERE expires_at <= $1)",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1
       OR grant_id IN (SELECT id FROM grants WHERE expires_at <= $1)",
    "DELETE FROM grants WHERE expires_at <= $1",
    "DELETE FROM jtis WHERE expires_at <= $1",
];
/// The revocation list, the grant and its session's times in one statement
/// (absent rows come back as NULLs).
const TOKEN_STATE: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM jtis WHERE key = $1 AND expires_at > $2) AS revoked, ",
    grant_columns!(),
    ", s.sid AS s_sid, s.user_id AS s_user_id, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at
     FROM (SELECT 1) AS one
     LEFT JOIN grants g ON g.id = $3
     LEFT JOIN sessions s ON s.sid = g.sid"
);

fn auth_request(row: &impl Row) -> Result<AuthRequestRow, StoreError> {
    Ok(AuthRequestRow {
        id: row.text("id")?,
        client_id: row.text("client_id")?,
        request: row.text("request")?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
    })
}

/// A grant from its `g_…` columns.
pub(crate) fn grant(row: &impl Row) -> Result<GrantRow, StoreError> {
    Ok(GrantRow {
        id: row.text("g_id")?,
        client_id: row.text("g_client_id")?,
        user_id: row.uuid("g_user_id")?,
        sid: row.opt_text("g_sid")?,
        session_bound: row.flag("g_session_bound")?,
        scopes: row.list("g_scopes")?,
        auth_time: row.at("g_auth_time")?,
        amr: row.list("g_amr")?,
        acr: row.opt_text("g_acr")?,
        created_at: row.at("g_created_at")?,
        expires_at: row.at("g_expires_at")?,
        revoked_at: row.opt_at("g_revoked_at")?,
        resources: row.list("g_resources")?,
    })
}

fn code(row: &impl Row) -> Result<CodeRow, StoreError> {
    Ok(CodeRow {
        code_hash: row.text("code_hash")?,
        grant_id: row.text("grant_id")?,
        client_id: row.text("client_id")?,
        redirect_uri: row.text("redirect_uri")?,
        code_challenge: row.text("code_challenge")?,
        nonce: row.opt_text("nonce")?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
        consumed_at: row.opt_at("consumed_at")?,
    })
}

fn refresh_token(row: &impl Row) -> Result<RefreshTokenRow, StoreError> {
    Ok(RefreshTokenRow {
        token_hash: row.text("token_hash")?,
        grant_id: row.text("grant_id")?,
        client_id: row.text("client_id")?,
        scopes: row.list("scopes")?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
        rotated_at: row.opt_at("rotated_at")?,
        dpop_jkt: row.opt_text("dpop_jkt")?,
    })
}

fn backchannel(row: &impl Row) -> Result<BackchannelLogout, StoreError> {
    Ok(BackchannelLogout {
        id: row.text("id")?,
        client_id: row.text("client_id")?,
        uri: row.text("uri")?,
        user_id: row.uuid("user_id")?,
        sid: row.text("sid")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(|_| corrupt("attempts"))?,
        created_at: row.at("created_at")?,
        next_attempt_at: row.at("next_attempt_at")?,
    })
}

/// Stores a new grant (in the caller's transaction).
pub(crate) async fn insert_grant(db: &mut impl Exec, g: &GrantRow) -> Result<(), StoreError> {
    let args = args![
        &g.id,
        &g.client_id,
        g.user_id,
        &g.sid,
        g.session_bound,
        &g.scopes,
        g.auth_time,
        &g.amr,
        &g.acr,
        g.created_at,
        g.expires_at,
        g.revoked_at,
        &g.resources
    ];
    db.execute(INSERT_GRANT, args).await.map(drop)
}

async fn insert_refresh(db: &mut impl Exec, r: &RefreshTokenRow) -> Result<(), StoreError> {
    let args = args![
        &r.token_hash,
        &r.grant_id,
        &r.client_id,
        &r.scopes,
        r.created_at,
        r.expires_at,
        r.rotated_at,
        &r.dpop_jkt
    ];
    db.execute(INSERT_REFRESH, args).await.map(drop)
}

/// What follows the deletion of the session `sid` of `user_id`: revokes its
/// session-bound grants and queues one back-channel logout per client with a
/// grant in it and a `backchannel_logout_uri`. Returns the queued count.
pub(crate) async fn after_session_end(
    db: &mut impl Exec,
    sid: &str,
    user_id: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let Some(user_id) = user_id else { return Ok(0) };
    db.execute(REVOKE_SESSION_BOUND, args![now, sid]).await?;
    let clients = db.fetch_all(LOGOUT_CLIENTS, args![sid]).await?;
    for client in &clients {
        let (client_id, uri) = (client.text("client_id")?, client.text("backchannel_logout_uri")?);
        db.execute(QUEUE_LOGOUT, args![&hex_id(), &client_id, &uri, user_id, sid, now]).await?;
    }
    Ok(clients.len() as u64)
}

/// Ends every session of `user_id` but `keep` (an id hash) — each with its
/// session-bound grants and back-channel logouts — and revokes every other
/// grant of the user but the session-bound ones of the kept session, on
/// `db` (inside the caller's transaction).
pub(crate) async fn end_access(
    db: &mut impl Exec,
    user_id: Uuid,
    keep: Option<&str>,
    now: OffsetDateTime,
) -> Result<EndedAccess, StoreError> {
    let sids = db.fetch_all(END_OTHER_SESSIONS, args![user_id, keep]).await?;
    for sid in &sids {
        after_session_end(db, &sid.text("sid")?, Some(user_id), now).await?;
    }
    let kept_sid = match keep {
        Some(id_hash) => {
            let row =
                db.fetch_optional("SELECT sid FROM sessions WHERE id_hash = $1", args![id_hash]).await?;
            row.map(|r| r.text("sid")).transpose()?
        }
        None => None,
    };
    let grants = db.execute(REVOKE_ALL_BUT_KEPT, args![now, user_id, &kept_sid]).await?;
    Ok(EndedAccess { sessions: sids.len() as u64, grants })
}

/// Marks a one-time secret (code, refresh token) used with `mark` (a
/// conditional UPDATE binding now and the key) and stores `next` in the
/// same transaction; a secret already used revokes its grant (found with
/// `grant_of`) in that transaction instead.
pub(crate) async fn redeem_once<D: Db>(
    db: &D,
    mark: &'static str,
    grant_of: &'static str,
    key: &str,
    next: Option<&RefreshTokenRow>,
    now: OffsetDateTime,
) -> Result<Redemption, StoreError> {
    let mut tx = db.begin().await?;
    if tx.execute(mark, args![now, key]).await? == 1 {
        if let Some(next) = next {
            insert_refresh(&mut tx, next).await?;
        }
        tx.commit().await?;
        return Ok(Redemption::Redeemed);
    }
    let Some(row) = tx.fetch_optional(grant_of, args![key]).await? else { return Ok(Redemption::Unknown) };
    tx.execute(REVOKE, args![now, &row.text("grant_id")?]).await?;
    tx.commit().await?;
    Ok(Redemption::Replayed)
}

/// The session columns `s_…` of a joined row, if a session matched.
fn session_times(row: &impl Row) -> Result<Option<SessionTimes>, StoreError> {
    match row.opt_text("s_sid")? {
        None => Ok(None),
        Some(_) => Ok(Some(SessionTimes {
            user_id: row.opt_uuid("s_user_id")?,
            created_at: row.at("s_created_at")?,
            last_seen_at: row.at("s_last_seen_at")?,
        })),
    }
}

/// `GrantRepo::rotate_refresh_token`: one statement when it rotates; a
/// replay reads what the rotation left and revokes the family unless forgiven.
async fn rotate_refresh<D: Db>(
    db: &D,
    r: &Rotate<'_>,
    now: OffsetDateTime,
) -> Result<RotateOutcome, StoreError> {
    let n = r.next;
    let args = args![
        &n.token_hash,
        &n.grant_id,
        &n.client_id,
        &n.scopes,
        n.created_at,
        n.expires_at,
        r.token_hash,
        r.sealed_successor,
        &n.dpop_jkt
    ];
    if db.writer().execute(ROTATE, args).await? == 1 {
        return Ok(RotateOutcome::Rotated);
    }
    let Some(row) = db.writer().fetch_optional(ROTATED, args![r.token_hash]).await? else {
        return Ok(RotateOutcome::Unknown);
    };
    let forgiven = match (r.grace_since, row.opt_at("rotated_at")?, row.opt_text("sealed")?) {
        (Some(since), Some(rotated_at), Some(sealed)) if rotated_at >= since => Some(sealed),
        _ => None,
    };
    if let Some(sealed) = forgiven {
        return Ok(RotateOutcome::Graced(sealed));
    }
    db.writer().execute(REVOKE, args![now, &row.text("grant_id")?]).await?;
    Ok(RotateOutcome::Replayed)
}

/// The token-state generation (migration 0021; see
/// `Store::token_state_generation`).
const TOKEN_STATE_GENERATION: &str = "SELECT n FROM token_state_generation WHERE id = 1";

/// Reads the token-state generation: one primary-key read.
pub async fn token_state_generation<D: Db>(db: &D) -> Result<u64, StoreError> {
    let n = db.reader().fetch_one(TOKEN_STATE_GENERATION, args![]).await?.int("n")?;
    u64::try_from(n).map_err(|_| corrupt("token_state_generation.n"))
}

/// `Store::access_token_state` in one statement.
pub async fn access_token_state<D: Db>(
    db: &D,
    jti_key: &str,
    grant_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<AccessTokenState, StoreError> {
    let row = db.reader().fetch_one(TOKEN_STATE, args![jti_key, now, grant_id]).await?;
    let grant = row.opt_text("g_id")?.map(|_| grant(&row)).transpose()?;
    Ok(AccessTokenState { revoked: row.flag("revoked")?, grant, session: session_times(&row)? })
}

#[async_trait]
impl<D: Db> AuthRequestRepo for D {
    async fn create_auth_request(&self, r: &AuthRequestRow) -> Result<(), StoreError> {
        let args = args![&r.id, &r.client_id, &r.request, r.created_at, r.expires_at];
        self.writer().execute(INSERT_REQUEST, args).await.map(drop)
    }

    async fn find_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError> {
        self.reader().fetch_optional(FIND_REQUEST, args![id]).await?.as_ref().map(auth_request).transpose()
    }

    async fn delete_auth_request(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.writer().execute("DELETE FROM auth_requests WHERE id = $1", args![id]).await? > 0)
    }

    async fn take_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError> {
        self.writer().fetch_optional(TAKE_REQUEST, args![id]).await?.as_ref().map(auth_request).transpose()
    }
}

const CONSENTS_OF_USER: &str = "SELECT k.client_id, c.name, k.scopes, k.created_at FROM consents k
     JOIN clients c ON c.client_id = k.client_id WHERE k.user_id = $1";
const LIVE_GRANTS_OF_USER: &str = "SELECT g.client_id, c.name, g.scopes, g.created_at FROM grants g
     JOIN clients c ON c.client_id = g.client_id
     WHERE g.user_id = $1 AND g.revoked_at IS NULL AND g.expires_at > $2";
const DELETE_CONSENT: &str = "DELETE FROM consents WHERE user_id = $1 AND client_id = $2";
const CLIENT_LOGOUTS: &str = "SELECT DISTINCT g.sid, c.backchannel_logout_uri FROM grants g
     JOIN clients c ON c.client_id = g.client_id
     WHERE g.user_id = $1 AND g.client_id = $2 AND g.revoked_at IS NULL AND g.sid IS NOT NULL
       AND c.backchannel_logout_uri IS NOT NULL
     ORDER BY g.sid";
const REVOKE_CLIENT: &str =
    "UPDATE grants SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL";

#[async_trait]
impl<D: Db> ConsentRepo for D {
    async fn connected_clients(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Vec<ConnectedClient>, StoreError> {
        let mut reader = self.reader();
        let consents = reader.fetch_all(CONSENTS_OF_USER, args![user_id]).await?;
        let grants = reader.fetch_all(LIVE_GRANTS_OF_USER, args![user_id, now]).await?;
        let mut by_client: std::collections::BTreeMap<String, ConnectedClient> = Default::default();
        let rows = consents.iter().map(|r| (r, 0)).chain(grants.iter().map(|r| (r, 1)));
        for (row, grant) in rows {
            let client_id = row.text("client_id")?;
            let (scopes, at) = (row.list("scopes")?, row.at("created_at")?);
            let entry = by_client.entry(client_id.clone()).or_insert_with(|| ConnectedClient {
                client_id,
                name: String::new(),
                scopes: Vec::new(),
                since: at,
                grants: 0,
            });
            entry.name = row.text("name")?;
            entry.scopes.extend(scopes);
            entry.since = entry.since.min(at);
            entry.grants += grant;
        }
        let mut clients: Vec<ConnectedClient> = by_client.into_values().collect();
        for c in &mut clients {
            c.scopes.sort();
            c.scopes.dedup();
        }
        clients.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.client_id.cmp(&b.client_id)));
        Ok(clients)
    }

    async fn disconnect_client(
        &self,
        user_id: Uuid,
        client_id: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        let consents = tx.execute(DELETE_CONSENT, args![user_id, client_id]).await?;
        for row in tx.fetch_all(CLIENT_LOGOUTS, args![user_id, client_id]).await? {
            let (sid, uri) = (row.text("sid")?, row.text("backchannel_logout_uri")?);
            tx.execute(QUEUE_LOGOUT, args![&hex_id(), client_id, &uri, user_id, &sid, now]).await?;
        }
        let grants = tx.execute(REVOKE_CLIENT, args![now, user_id, client_id]).await?;
        if consents == 0 && grants == 0 {
            return Ok(None);
        }
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(Some(grants))
    }

    async fn find_consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Vec<String>>, StoreError> {
        let row = self.reader().fetch_optional(FIND_CONSENT, args![user_id, client_id]).await?;
        row.map(|r| r.list("scopes")).transpose()
    }

    async fn save_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &[String],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.writer().execute(SAVE_CONSENT, args![user_id, client_id, scopes, now]).await.map(drop)
    }
}

#[async_trait]
impl<D: Db> GrantRepo for D {
    async fn create_grant_with_code(&self, g: &GrantRow, c: &CodeRow) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_grant(&mut tx, g).await?;
        let code = args![
            &c.code_hash,
            &c.grant_id,
            &c.client_id,
            &c.redirect_uri,
            &c.code_challenge,
            &c.nonce,
            c.created_at,
            c.expires_at,
            c.consumed_at
        ];
        tx.execute(INSERT_CODE, code).await?;
        tx.commit().await
    }

    async fn find_grant(&self, id: &str) -> Result<Option<GrantRow>, StoreError> {
        self.reader().fetch_optional(FIND_GRANT, args![id]).await?.as_ref().map(grant).transpose()
    }

    async fn find_code(&self, code_hash: &str) -> Result<Option<(CodeRow, GrantRow)>, StoreError> {
        let row = self.reader().fetch_optional(FIND_CODE, args![code_hash]).await?;
        row.as_ref().map(|r| Ok((code(r)?, grant(r)?))).transpose()
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        refresh: Option<&RefreshTokenRow>,
        now: OffsetDateTime,
    ) -> Result<Redemption, StoreError> {
        const MARK: &str =
            "UPDATE auth_codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL";
        const GRANT_OF: &str = "SELECT grant_id FROM auth_codes WHERE code_hash = $1";
        redeem_once(self, MARK, GRANT_OF, code_hash, refresh, now).await
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshTokenRow, GrantRow)>, StoreError> {
        let row = self.reader().fetch_optional(FIND_REFRESH, args![token_hash]).await?;
        row.as_ref().map(|r| Ok((refresh_token(r)?, grant(r)?))).transpose()
    }

    async fn refresh_state(&self, token_hash: &str) -> Result<Option<RefreshState>, StoreError> {
        let Some(row) = self.reader().fetch_optional(REFRESH_STATE, args![token_hash]).await? else {
            return Ok(None);
        };
        let user = row.opt_uuid("u_id")?.map(|_| user_in(&row, &ALIASED)).transpose()?;
        Ok(Some(RefreshState {
            token: refresh_token(&row)?,
            grant: grant(&row)?,
            session: session_times(&row)?,
            user,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        rotate: &Rotate<'_>,
        now: OffsetDateTime,
    ) -> Result<RotateOutcome, StoreError> {
        rotate_refresh(self, rotate, now).await
    }

    async fn revoke_grant(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        Ok(self.writer().execute(REVOKE_LIVE, args![now, id]).await? > 0)
    }

    async fn revoke_user_grants(&self, user_id: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.writer().execute(REVOKE_USER, args![now, user_id]).await
    }

    async fn record_jti(
        &self,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.writer().execute(RECORD_JTI, args![key, now, expires_at]).await? > 0)
    }

    async fn jti_recorded(&self, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.reader().fetch_one(JTI_RECORDED, args![key, now]).await?.flag("recorded")
    }

    async fn delete_expired_grants(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let mut deleted = 0;
        for sql in DELETE_EXPIRED {
            deleted += tx.execute(sql, args![now]).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}

#[async_trait]
impl<D: Db> LogoutRepo for D {
    async fn end_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = tx.fetch_optional(END_SESSION, args![id_hash]).await? else { return Ok(None) };
        let queued = after_session_end(&mut tx, &row.text("sid")?, row.opt_uuid("user_id")?, now).await?;
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(Some(queued))
    }

    async fn end_user_sessions(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let sids =
            tx.fetch_all("DELETE FROM sessions WHERE user_id = $1 RETURNING sid", args![user_id]).await?;
        for sid in &sids {
            after_session_end(&mut tx, &sid.text("sid")?, Some(user_id), now).await?;
        }
        let ended = EndedAccess { sessions: sids.len() as u64, grants: 0 };
        apply(&mut tx, effects, Some(ended), now).await?;
        tx.commit().await?;
        Ok(sids.len() as u64)
    }

    async fn claim_due_backchannel_logout(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Option<BackchannelLogout>, StoreError> {
        super::claim(self, Queue::Backchannel, now, lease_until, 1)
            .await?
            .first()
            .map(backchannel)
            .transpose()
    }

    async fn complete_backchannel_logout(&self, id: &str) -> Result<(), StoreError> {
        self.writer().execute(COMPLETE_LOGOUT, args![id]).await.map(drop)
    }

    async fn retry_backchannel_logout(
        &self,
        id: &str,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        self.writer().execute(RETRY_LOGOUT, args![next_attempt_at, error, id]).await.map(drop)
    }
}
