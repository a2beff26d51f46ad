//! The hot state on Redis ([`HotState`]): the throttle counters
//! ([`RedisThrottle`]), pending authorization requests (pushed ones too)
//! and the state of browser sessions' ceremonies. Each is a hash under its
//! own key; a single-use one is taken by a script that reads and deletes it
//! in one step, so of two takers exactly one gets it.
//!
//! Expiry is the caller's rule, checked against the stored `expires_at`
//! with the server's clock (as the database does). Redis's own clock only
//! collects what nobody took: an hour after its lifetime.
//!
//! [`HotState`]: portcullis_store::HotState

use async_trait::async_trait;
use portcullis_store::{
    AuthRequestRepo, AuthRequestRow, LockoutPolicy, Reservation, SessionStateRepo, StoreError, Throttle,
};
use redis::Script;
use std::collections::HashMap;
use std::sync::LazyLock;
use time::{Duration, OffsetDateTime};

use crate::throttle::{duration_ms, from_ms, ms};
use crate::{Redis, RedisThrottle, store_error};

/// How long Redis keeps what nobody took, past its lifetime.
const COLLECT_AFTER: Duration = Duration::hours(1);

/// Writes the hash KEYS[1] from ARGV[2..] (field, value pairs) and expires
/// it in ARGV[1] ms, in one step.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
",
    )
});

/// Reads the whole hash KEYS[1] and deletes it, in one step.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local fields = redis.call('HGETALL', KEYS[1])
if #fields > 0 then redis.call('DEL', KEYS[1]) end
return fields
",
    )
});

/// Sign-in's hot state on Redis (see the module docs).
#[derive(Debug, Clone)]
pub struct RedisHot {
    redis: Redis,
    throttle: RedisThrottle,
}

impl RedisHot {
    /// The hot state over `redis`.
    pub fn new(redis: Redis) -> Self {
        Self { throttle: RedisThrottle::new(redis.clone()), redis }
    }

    /// The throttle counters alone.
    pub fn throttle(&self) -> &RedisThrottle {
        &self.throttle
    }

    fn request_key(&self, id: &str) -> String {
        self.redis.key("request", id)
    }

    fn state_key(&self, session_id_hash: &str, kind: &str) -> String {
        self.redis.key("state", &format!("{session_id_hash}/{kind}"))
    }

    async fn put(&self, key: String, ttl: Duration, fields: &[(&str, String)]) -> Result<(), StoreError> {
        let mut conn = self.redis.conn();
        let mut call = PUT.key(key);
        call.arg(duration_ms((ttl + COLLECT_AFTER).max(COLLECT_AFTER)));
        for (name, value) in fields {
            call.arg(*name).arg(value);
        }
        call.invoke_async::<i64>(&mut conn).await.map_err(store_error)?;
        Ok(())
    }

    async fn get_all(&self, key: String) -> Result<HashMap<String, String>, StoreError> {
        let mut conn = self.redis.conn();
        redis::cmd("HGETALL").arg(key).query_async(&mut conn).await.map_err(store_error)
    }

    async fn take(&self, key: String) -> Result<HashMap<String, String>, StoreError> {
        let mut conn = self.redis.conn();
        TAKE.key(key).invoke_async(&mut conn).await.map_err(store_error)
    }

    async fn delete(&self, key: String) -> Result<bool, StoreError> {
        let mut conn = self.redis.conn();
        let n: i64 = redis::cmd("DEL").arg(key).query_async(&mut conn).await.map_err(store_error)?;
        Ok(n > 0)
    }
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    fields.get(name).map(String::as_str).ok_or_else(|| StoreError::Corrupt(format!("no {name}")))
}

fn time_field(fields: &HashMap<String, String>, name: &str) -> Result<OffsetDateTime, StoreError> {
    let raw = field(fields, name)?;
    from_ms(raw.parse().map_err(|_| StoreError::Corrupt(format!("{name}: {raw}")))?)
}

fn request_row(fields: &HashMap<String, String>) -> Result<Option<AuthRequestRow>, StoreError> {
    if fields.is_empty() {
        return Ok(None);
    }
    Ok(Some(AuthRequestRow {
        id: field(fields, "id")?.to_owned(),
        client_id: field(fields, "client_id")?.to_owned(),
        request: field(fields, "request")?.to_owned(),
        created_at: time_field(fields, "created_at")?,
        expires_at: time_field(fields, "expires_at")?,
    }))
}

/// The payload of a session state, if it has not expired at `now`.
fn live_payload(
    mut fields: HashMap<String, String>,
    now: OffsetDateTime,
) -> Result<Option<String>, StoreError> {
    if fields.is_empty() || time_field(&fields, "expires_at")? <= now {
        return Ok(None);
    }
    Ok(fields.remove("payload"))
}

#[async_trait]
impl AuthRequestRepo for RedisHot {
    async fn create_auth_request(&self, request: &AuthRequestRow) -> Result<(), StoreError> {
        let fields = [
            ("id", request.id.clone()),
            ("client_id", request.client_id.clone()),
            ("request", request.request.clone()),
            ("created_at", ms(request.created_at).to_string()),
            ("expires_at", ms(request.expires_at).to_string()),
        ];
        self.put(self.request_key(&request.id), request.expires_at - request.created_at, &fields).await
    }

    async fn find_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError> {
        request_row(&self.get_all(self.request_key(id)).await?)
    }

    async fn delete_auth_request(&self, id: &str) -> Result<bool, StoreError> {
        self.delete(self.request_key(id)).await
    }

    async fn take_auth_request(&self, id: &str) -> Result<Option<AuthRequestRow>, StoreError> {
        request_row(&self.take(self.request_key(id)).await?)
    }
}

#[async_trait]
impl SessionStateRepo for RedisHot {
    async fn put_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        payload: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let fields = [("payload", payload.to_owned()), ("expires_at", ms(expires_at).to_string())];
        // The lifetimes are minutes; the hour after covers any clock.
        self.put(self.state_key(session_id_hash, kind), Duration::ZERO, &fields).await
    }

    async fn find_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        live_payload(self.get_all(self.state_key(session_id_hash, kind)).await?, now)
    }

    async fn take_session_state(
        &self,
        session_id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        live_payload(self.take(self.state_key(session_id_hash, kind)).await?, now)
    }

    async fn delete_expired_session_states(&self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        // Redis expires them itself (COLLECT_AFTER past their lifetime).
        Ok(0)
    }
}

#[async_trait]
impl Throttle for RedisHot {
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        self.throttle.reserve_attempt(key, policy, now).await
    }

    async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        self.throttle.release_attempt(key).await
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.throttle.clear_attempts(key).await
    }
}
