//! What checking an access token read from the store (its grant, the grant's
//! session and user, and that it is not on the revocation list), kept for
//! the tokens of recent requests: a resource server calling userinfo or
//! introspection with the same token many times reads the store once.
//!
//! An entry is used only while both hold:
//! - the store's token-state generation ([`Store::token_state_generation`])
//!   has not moved since before the entry was read. It is a counter in the
//!   database that every transaction able to invalidate a token (a grant
//!   revoked, a session ended, a `jti` revoked, a user disabled or changed,
//!   a group changed) moves as it commits, whichever instance or process
//!   wrote; it is read once per check, so a logout on one instance is seen
//!   by the very next request on any other. A hit costs that one read
//!   instead of the token's state (revocation list, grant, session, user,
//!   groups);
//! - it is younger than the TTL ([`ProtocolConfig::token_state_cache_ttl`],
//!   1 s by default): a bound for a change made behind the triggers' back
//!   (by hand in SQL with the triggers off).
//!
//! Only tokens found valid are kept, and a kept entry is still judged at
//! every use (grant and session expiry, idle timeout at the request's time):
//! an entry that no longer passes is read again, never trusted to refuse.
//! Stores that cannot tell when their state changes (`None`) cache nothing.
//!
//! [`Store::token_state_generation`]: portcullis_store::Store::token_state_generation
//! [`ProtocolConfig::token_state_cache_ttl`]: crate::ProtocolConfig

use std::sync::Arc;

use portcullis_store::{GrantRow, SessionTimes, User};
use time::{Duration, OffsetDateTime};

use crate::generation_cache::GenerationCache;

/// At most this many tokens are kept; when full, the cache starts over.
const MAX_ENTRIES: usize = 8192;

/// The stored state of a token found valid.
#[derive(Debug, Clone)]
pub(crate) struct TokenState {
    /// Its grant (user-bound tokens).
    pub grant: Option<GrantRow>,
    /// The grant's session, if any.
    pub session: Option<SessionTimes>,
    /// The grant's user (user-bound tokens).
    pub user: Option<User>,
    /// The user's groups, when the token's scopes release them (group
    /// changes move the generation too).
    pub groups: Vec<String>,
}

/// Recently checked access tokens, by `jti`.
#[derive(Debug)]
pub struct TokenStateCache(GenerationCache<TokenState>);

impl TokenStateCache {
    /// An empty cache whose entries live `ttl` (zero or less: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self(GenerationCache::new(ttl, MAX_ENTRIES))
    }

    /// The state of the token `jti` if it was read less than the TTL before
    /// `now` and the store's generation is still `generation`.
    pub(crate) fn get(&self, jti: &str, now: OffsetDateTime, generation: u64) -> Option<Arc<TokenState>> {
        self.0.get(jti, now, generation)
    }

    /// Remembers the state of `jti`, read at `now` when the store's
    /// generation was `generation` (taken before the reads).
    pub(crate) fn put(&self, jti: &str, state: Arc<TokenState>, now: OffsetDateTime, generation: u64) {
        self.0.put(jti, state, now, generation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    fn state() -> Arc<TokenState> {
        Arc::new(TokenState { grant: None, session: None, user: None, groups: Vec::new() })
    }

    #[test]
    fn an_entry_lives_for_the_ttl_and_the_generation() {
        let cache = TokenStateCache::new(Duration::seconds(1));
        cache.put("a", state(), T0, 7);
        assert!(cache.get("a", T0, 7).is_some());
        assert!(cache.get("a", T0 + Duration::milliseconds(999), 7).is_some());
        assert!(cache.get("a", T0 + Duration::seconds(1), 7).is_none(), "the TTL is over");
        assert!(cache.get("a", T0, 8).is_none(), "the store moved on");
        assert!(cache.get("a", T0 - Duration::seconds(1), 7).is_none(), "a clock that went back");
        assert!(cache.get("b", T0, 7).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing_and_a_full_cache_starts_over() {
        let off = TokenStateCache::new(Duration::ZERO);
        off.put("a", state(), T0, 1);
        assert!(off.get("a", T0, 1).is_none());

        let cache = TokenStateCache::new(Duration::seconds(1));
        for i in 0..MAX_ENTRIES {
            cache.put(&i.to_string(), state(), T0, 1);
        }
        assert!(cache.get("0", T0, 1).is_some());
        cache.put("one more", state(), T0, 1);
        assert!(cache.get("0", T0, 1).is_none());
        assert!(cache.get("one more", T0, 1).is_some());
    }
}
