//! Browser sessions.

use super::{Db, Exec, Row, Tx, count};
use crate::{Session, SessionQuery, SessionRepo, StoreError};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! columns {
    () => {
        "id_hash, sid, csrf_token, user_id, auth_time, amr, acr, upstream_id, ip, user_agent, created_at, last_seen_at"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO sessions (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
const BY_ID_HASH: &str = concat!("SELECT ", columns!(), " FROM sessions WHERE id_hash = $1");
const BY_SID: &str = concat!("SELECT ", columns!(), " FROM sessions WHERE sid = $1");
const OF_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC"
);
pub(crate) const DELETE: &str = "DELETE FROM sessions WHERE id_hash = $1";
/// Signed in and live: `$1` idle before, `$2` created before.
macro_rules! live {
    () => {
        " FROM sessions WHERE user_id IS NOT NULL AND last_seen_at > $1 AND created_at > $2"
    };
}
const LIVE: &str = concat!("SELECT ", columns!(), live!(), " ORDER BY created_at DESC, sid DESC LIMIT $3");
/// `$3`, `$4`: the cursor's creation and sid.
const LIVE_AFTER: &str = concat!(
    "SELECT ",
    columns!(),
    live!(),
    " AND (created_at, sid) < ($3, $4) ORDER BY created_at DESC, sid DESC LIMIT $5"
);
const COUNT_LIVE: &str = concat!("SELECT COUNT(*) AS n", live!());

fn session(row: &impl Row) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: row.text("id_hash")?,
        sid: row.text("sid")?,
        csrf_token: row.text("csrf_token")?,
        user_id: row.opt_uuid("user_id")?,
        auth_time: row.opt_at("auth_time")?,
        amr: row.list("amr")?,
        acr: row.opt_text("acr")?,
        upstream_id: row.opt_text("upstream_id")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        created_at: row.at("created_at")?,
        last_seen_at: row.at("last_seen_at")?,
    })
}

async fn insert(db: &mut impl Exec, s: &Session) -> Result<(), StoreError> {
    let args = args![
        &s.id_hash,
        &s.sid,
        &s.csrf_token,
        s.user_id,
        s.auth_time,
        &s.amr,
        &s.acr,
        &s.upstream_id,
        &s.ip,
        &s.user_agent,
        s.created_at,
        s.last_seen_at
    ];
    db.execute(INSERT, args).await.map(drop)
}

/// `old_id_hash`'s session replaced by `new` (on a transaction).
pub(crate) async fn replace(db: &mut impl Exec, old_id_hash: &str, new: &Session) -> Result<(), StoreError> {
    db.execute(DELETE, args![old_id_hash]).await?;
    insert(db, new).await
}

#[async_trait]
impl<D: Db> SessionRepo for D {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        insert(&mut self.writer(), s).await
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        self.reader().fetch_optional(BY_ID_HASH, args![id_hash]).await?.as_ref().map(session).transpose()
    }

    async fn find_session_by_sid(&self, sid: &str) -> Result<Option<Session>, StoreError> {
        self.reader().fetch_optional(BY_SID, args![sid]).await?.as_ref().map(session).transpose()
    }

    async fn replace_session(&self, old_id_hash: &str, new: &Session) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        replace(&mut tx, old_id_hash, new).await?;
        tx.commit().await
    }

    async fn touch_session(&self, id_hash: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        const TOUCH: &str = "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2";
        self.writer().execute(TOUCH, args![at, id_hash]).await.map(drop)
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        Ok(self.writer().execute(DELETE, args![id_hash]).await? > 0)
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        const EXPIRED: &str = "DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2";
        self.writer().execute(EXPIRED, args![idle_before, created_before]).await
    }

    async fn list_user_sessions(&self, user_id: Uuid) -> Result<Vec<Session>, StoreError> {
        self.reader().fetch_all(OF_USER, args![user_id]).await?.iter().map(session).collect()
    }

    async fn list_sessions(&self, q: &SessionQuery) -> Result<Vec<Session>, StoreError> {
        let limit = i64::from(q.limit);
        let rows = match &q.after {
            None => self.reader().fetch_all(LIVE, args![q.idle_before, q.created_before, limit]).await?,
            Some(after) => {
                let args = args![q.idle_before, q.created_before, after.created_at, &after.sid, limit];
                self.reader().fetch_all(LIVE_AFTER, args).await?
            }
        };
        rows.iter().map(session).collect()
    }

    async fn count_live_sessions(
        &self,
        idle_before: OffsetDateTime,
        created_before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let row = self.reader().fetch_one(COUNT_LIVE, args![idle_before, created_before]).await?;
        Ok(count(row.int("n")?))
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> Result<u64, StoreError> {
        self.writer().execute("DELETE FROM sessions WHERE user_id = $1", args![user_id]).await
    }
}
