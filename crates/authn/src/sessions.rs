//! Server-side browser sessions: a random 256-bit id (the cookie value),
//! only its SHA-256 in the store, idle and absolute timeouts from the clock,
//! a NEW id at every sign-in and privilege change.

use portcullis_core::Clock;
use portcullis_store::{AuditOutcome, Effects, Session, Store, StoreError, User};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::audit::{RequestInfo, event, logged};

/// Session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after it began, however busy.
    pub absolute_timeout: Duration,
}

/// Touch the row at most this often (each touch is a write).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The stored form of a cookie value.
pub fn hash_id(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// A fresh random secret (256 bits, hex): a session id or a CSRF token.
pub fn new_secret() -> String {
    hex::encode(portcullis_core::random::bytes::<32>())
}

/// Sessions over the store.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The timeouts.
    pub policy: &'a SessionPolicy,
}

impl Sessions<'_> {
    /// The live session whose cookie value is `raw`, if any. An expired one
    /// is deleted on sight; use is recorded at most once a minute.
    #[tracing::instrument(skip_all)]
    pub async fn current(&self, raw: &str) -> Result<Option<Session>, StoreError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let Some(session) = self.store.find_session(&hash_id(raw)).await? else { return Ok(None) };
        let now = self.clock.now();
        if self.is_expired(&session, now) {
            self.store.delete_session(&session.id_hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&session.id_hash, now).await?;
        }
        Ok(Some(session))
    }

    fn is_expired(&self, session: &Session, now: OffsetDateTime) -> bool {
        now - session.last_seen_at >= self.policy.idle_timeout
            || now - session.created_at >= self.policy.absolute_timeout
    }

    /// The signed-in, still enabled user of `session`, if any.
    pub async fn user_of(&self, session: Option<&Session>) -> Result<Option<User>, StoreError> {
        let Some(user_id) = session.and_then(|s| s.user_id) else { return Ok(None) };
        Ok(self.store.find_user(user_id).await?.filter(|u| !u.disabled))
    }

    /// A new anonymous session (it binds the sign-in forms' CSRF token);
    /// returns it and the cookie value.
    #[tracing::instrument(skip_all)]
    pub async fn start_anonymous(&self, request: &RequestInfo) -> Result<(Session, String), StoreError> {
        let (session, raw) = self.new_session(None, request);
        self.store.create_session(&session).await?;
        Ok((session, raw))
    }

    /// Signs `user` in with methods `amr` (through the upstream
    /// `upstream_id`, if any), replacing `previous` with a session under a
    /// NEW id (fixation defence). Re-authenticating the same
    /// user keeps the public `sid`, so the tokens of their other
    /// applications live on; a different user's session is ended properly
    /// (back-channel logout included).
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn sign_in(
        &self,
        previous: &Session,
        user: &User,
        amr: Vec<String>,
        upstream_id: Option<String>,
        request: &RequestInfo,
    ) -> Result<(Session, String), StoreError> {
        let (mut session, raw) = self.new_session(Some((user, amr)), request);
        session.upstream_id = upstream_id;
        if previous.user_id == Some(user.id) {
            session.sid.clone_from(&previous.sid);
        } else if previous.user_id.is_some() {
            self.store.end_session(&previous.id_hash, self.clock.now(), &Effects::default()).await?;
        }
        self.store.replace_session(&previous.id_hash, &session).await?;
        Ok((session, raw))
    }

    /// The same session under a NEW id (after a privilege change), with
    /// `amr` when given (the session's own otherwise); returns it and the
    /// cookie value. The CSRF token, `sid` and `auth_time` stay.
    #[tracing::instrument(skip_all, fields(user_id = ?session.user_id))]
    pub async fn rotate(
        &self,
        session: &Session,
        amr: Option<Vec<String>>,
    ) -> Result<(Session, String), StoreError> {
        let (rotated, raw) = renewed(session, amr);
        self.store.replace_session(&session.id_hash, &rotated).await?;
        Ok((rotated, raw))
    }

    /// Signs the browser out: ends `session` (queuing its back-channel
    /// logouts) and, when it was signed in, audits `signout` with `detail`
    /// in the same transaction.
    #[tracing::instrument(skip_all, fields(user_id = ?session.user_id))]
    pub async fn sign_out(
        &self,
        session: &Session,
        request: &RequestInfo,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let audit = match session.user_id {
            Some(_) => vec![event(now, "signout", AuditOutcome::Success, session.user_id, request, detail)],
            None => Vec::new(),
        };
        if self.store.end_session(&session.id_hash, now, &Effects::audit(&audit)).await?.is_some() {
            logged(&audit, None);
        }
        Ok(())
    }

    fn new_session(&self, user: Option<(&User, Vec<String>)>, request: &RequestInfo) -> (Session, String) {
        let raw = new_secret();
        let now = self.clock.now();
        let (user_id, auth_time, amr) = match user {
            None => (None, None, Vec::new()),
            Some((user, amr)) => (Some(user.id), Some(now), amr),
        };
        let acr = user_id.map(|_| portcullis_core::acr::of_amr(&amr).to_owned());
        let session = Session {
            id_hash: hash_id(&raw),
            sid: portcullis_core::random::hex_id(),
            csrf_token: new_secret(),
            user_id,
            auth_time,
            amr,
            acr,
            upstream_id: None,
            ip: request.ip.clone(),
            user_agent: request.user_agent.clone(),
            created_at: now,
            last_seen_at: now,
        };
        (session, raw)
    }
}

/// `session` under a NEW id, with `amr` when given (its own otherwise),
/// not yet stored (a change writes it with [`portcullis_store::Rotation`]
/// in its transaction); returns it and the cookie value. The CSRF token,
/// `sid` and `auth_time` stay.
pub fn renewed(session: &Session, amr: Option<Vec<String>>) -> (Session, String) {
    let raw = new_secret();
    let mut rotated = session.clone();
    rotated.id_hash = hash_id(&raw);
    if let Some(amr) = amr {
        rotated.acr = Some(portcullis_core::acr::of_amr(&amr).to_owned());
        rotated.amr = amr;
    }
    (rotated, raw)
}
