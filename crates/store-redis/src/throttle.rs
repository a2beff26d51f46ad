//! The sign-in throttles on Redis: one hash per counter (`failures`,
//! `blocked_until`, `updated_at`, in Unix milliseconds), changed only by the
//! two scripts below. A script runs atomically on the server, so a
//! reservation reads and writes the counter in one step whatever the number
//! of instances and requests; both scripts apply exactly the reference
//! transitions [`portcullis_store::reserve`] and [`portcullis_store::release`]
//! (the tests drive the same sequences through both).
//!
//! Times are the caller's `now` (the server's clock), at millisecond
//! precision; Redis's own clock only expires counters nobody used for at
//! least a day, as garbage collection (the window decides liveness).

use async_trait::async_trait;
use portcullis_store::{LockoutPolicy, RateLimit, Reservation, StoreError, Throttle};
use redis::Script;
use std::sync::LazyLock;
use time::{Duration, OffsetDateTime};

use crate::{Redis, store_error};

/// `reserve`: KEYS[1] the counter; ARGV now, memory, max_failures,
/// base_delay, max_delay (ms). Answers `{admitted (1|0), failures,
/// blocked_until or -1}`.
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local limit = math.max(tonumber(ARGV[3]), 1)
local base = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local s = redis.call('HMGET', KEYS[1], 'failures', 'blocked_until', 'updated_at')
local failures, blocked, updated = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
local live = updated ~= nil and updated >= now - memory
if live and blocked ~= nil and blocked > now then
  return {0, failures or 0, blocked}
end
if not live then failures = 0 end
failures = (failures or 0) + 1
local until_ms = -1
if failures >= limit then
  until_ms = now + math.min(base * 2 ^ math.min(failures - limit, 30), cap)
end
local ms = function(x) return string.format('%.0f', x) end
redis.call('HSET', KEYS[1], 'failures', failures, 'updated_at', ms(now))
if until_ms >= 0 then
  redis.call('HSET', KEYS[1], 'blocked_until', ms(until_ms))
else
  redis.call('HDEL', KEYS[1], 'blocked_until')
end
redis.call('PEXPIRE', KEYS[1], ms(math.max(memory, 86400000)))
return {1, failures, until_ms}
",
    )
});

/// `release`: one failure less and no block; a counter back at zero is
/// deleted.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local f = tonumber(redis.call('HGET', KEYS[1], 'failures'))
if f == nil then return 0 end
if f <= 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'failures', f - 1)
  redis.call('HDEL', KEYS[1], 'blocked_until')
end
return 1
",
    )
});

/// Sign-in throttles shared by every instance (see the module docs).
#[derive(Debug, Clone)]
pub struct RedisThrottle {
    redis: Redis,
}

impl RedisThrottle {
    /// The throttles over `redis`.
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    fn key(&self, key: &str) -> String {
        self.redis.key("throttle", key)
    }

    /// The counter for `key`, if any (tests, diagnostics).
    pub async fn get(&self, key: &str) -> Result<Option<RateLimit>, StoreError> {
        let mut conn = self.redis.conn();
        let (failures, blocked, updated): (Option<u32>, Option<i64>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.key(key))
            .arg(&["failures", "blocked_until", "updated_at"])
            .query_async(&mut conn)
            .await
            .map_err(store_error)?;
        let (Some(failures), Some(updated)) = (failures, updated) else { return Ok(None) };
        Ok(Some(RateLimit {
            failures,
            blocked_until: blocked.map(from_ms).transpose()?,
            updated_at: from_ms(updated)?,
        }))
    }
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.whole_milliseconds()).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Corrupt(format!("throttle time {ms}: {e}")))
}

#[async_trait]
impl Throttle for RedisThrottle {
    async fn reserve_attempt(
        &self,
        key: &str,
        policy: &LockoutPolicy,
        now: OffsetDateTime,
    ) -> Result<Reservation, StoreError> {
        let mut conn = self.redis.conn();
        let (admitted, failures, until): (i64, i64, i64) = RESERVE
            .key(self.key(key))
            .arg(ms(now))
            .arg(duration_ms(policy.memory()))
            .arg(policy.max_failures)
            .arg(duration_ms(policy.base_delay))
            .arg(duration_ms(policy.max_delay))
            .invoke_async(&mut conn)
            .await
            .map_err(store_error)?;
        let until = (until >= 0).then(|| from_ms(until)).transpose()?;
        match (admitted, until) {
            (0, Some(until)) => Ok(Reservation::Refused { until }),
            (0, None) => Err(StoreError::Corrupt("a refusal without an end".into())),
            (_, blocked_until) => Ok(Reservation::Admitted {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                blocked_until,
            }),
        }
    }

    async fn release_attempt(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.redis.conn();
        RELEASE.key(self.key(key)).invoke_async::<i64>(&mut conn).await.map_err(store_error)?;
        Ok(())
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.redis.conn();
        redis::cmd("DEL").arg(self.key(key)).query_async::<i64>(&mut conn).await.map_err(store_error)?;
        Ok(())
    }
}
