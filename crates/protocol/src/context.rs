//! What every protocol operation is given: the store, the keys, the issuer,
//! the configuration and "now" — and the one error type it returns.

use portcullis_core::Issuer;
use portcullis_keys::{Algorithm, KeyError, KeySet};
use portcullis_store::{HotState, LockoutPolicy, Session, Store, StoreError, Throttle};
use time::{Duration, OffsetDateTime};

use crate::{ClientCache, OAuthError, Resources, TokenStateCache};

/// Lifetimes and choices of the protocol, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolConfig {
    /// Authorization codes live this long (RFC 9700 recommends short; we cap at 60 s).
    pub code_ttl: Duration,
    /// A pending authorization request waits this long for sign-in and consent.
    pub auth_request_ttl: Duration,
    /// A pushed authorization request (RFC 9126) may be used this long.
    pub pushed_request_ttl: Duration,
    /// ID tokens are valid this long.
    pub id_token_ttl: Duration,
    /// A grant (and so its refresh tokens) lasts at most this long.
    pub refresh_token_ttl: Duration,
    /// No token may live longer (`keys.max_token_lifetime_secs`: a retired
    /// signing key stays published this long): the bound of a client's
    /// access-token lifetime at registration.
    pub max_token_lifetime: Duration,
    /// Access tokens are signed with this algorithm (ES256 by default: cheap).
    pub access_token_alg: Algorithm,
    /// A browser session unused this long has ended.
    pub session_idle_timeout: Duration,
    /// A browser session this old has ended.
    pub session_absolute_timeout: Duration,
    /// A client read from the store is reused this long (see [`ClientCache`]):
    /// the longest a client changed or deleted by another instance keeps
    /// authenticating as before. Changes through this instance apply at once.
    ///
    /// [`ClientCache`]: crate::ClientCache
    pub client_cache_ttl: Duration,
    /// The state of a checked access token is reused this long (see
    /// [`TokenStateCache`]) while the database's token-state generation
    /// stays put: the longest a change made behind the triggers' back takes
    /// to apply. Changes through any instance or the CLI apply at once.
    ///
    /// [`TokenStateCache`]: crate::TokenStateCache
    pub token_state_cache_ttl: Duration,
    /// The back-off of failed client authentications, per client.
    pub client_lockout: LockoutPolicy,
    /// A rotated refresh token presented again this soon after its rotation,
    /// by the same client (and key, when bound), gets the same successor
    /// instead of revoking its family: two tabs refreshing at once. Zero
    /// (the default) forgives nothing (RFC 9700 §4.14.2).
    pub refresh_reuse_grace: Duration,
    /// The resource servers access tokens may be for (RFC 8707).
    pub resources: Resources,
    /// A device code (and its user code) lives this long (RFC 8628 §3.2 `expires_in`).
    pub device_code_ttl: Duration,
    /// The least time between two polls of a device code, at first (RFC
    /// 8628 §3.2 `interval`; each `slow_down` adds 5 s).
    pub device_poll_interval: Duration,
}

impl ProtocolConfig {
    /// The defaults: 60 s codes, 15 min requests, 60 s pushed requests, 1 h ID tokens, 30 day
    /// grants, tokens living at most a day, ES256 access tokens, clients
    /// cached 5 s, token state 1 s,
    /// client authentication backing off after 20 failures, no resource
    /// servers, device codes living 10 minutes and polled every 5 s; session
    /// timeouts as given.
    pub fn new(session_idle_timeout: Duration, session_absolute_timeout: Duration) -> Self {
        Self {
            code_ttl: Duration::seconds(60),
            auth_request_ttl: Duration::minutes(15),
            pushed_request_ttl: Duration::seconds(60),
            id_token_ttl: Duration::hours(1),
            refresh_token_ttl: Duration::days(30),
            max_token_lifetime: Duration::days(1),
            access_token_alg: Algorithm::Es256,
            session_idle_timeout,
            session_absolute_timeout,
            client_cache_ttl: Duration::seconds(5),
            token_state_cache_ttl: Duration::seconds(1),
            client_lockout: LockoutPolicy {
                max_failures: 20,
                base_delay: Duration::seconds(30),
                max_delay: Duration::hours(1),
                window: Duration::days(1),
            },
            refresh_reuse_grace: Duration::ZERO,
            resources: Resources::default(),
            device_code_ttl: Duration::minutes(10),
            device_poll_interval: Duration::seconds(5),
        }
    }

    /// Whether a browser session is still alive at `now`.
    pub fn session_alive(&self, session: &Session, now: OffsetDateTime) -> bool {
        self.session_times_alive(session.created_at, session.last_seen_at, now)
    }

    /// Whether a browser session created at `created_at` and last used at
    /// `last_seen_at` is still alive at `now`.
    pub fn session_times_alive(
        &self,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        now - last_seen_at < self.session_idle_timeout && now - created_at < self.session_absolute_timeout
    }
}

/// The inputs of one protocol operation.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The database.
    pub store: &'a dyn Store,
    /// The signing keys in effect.
    pub keys: &'a std::sync::Arc<KeySet>,
    /// Our issuer identifier.
    pub issuer: &'a Issuer,
    /// Lifetimes and choices.
    pub config: &'a ProtocolConfig,
    /// Recently loaded clients.
    pub clients: &'a ClientCache,
    /// The state of recently checked access tokens.
    pub tokens: &'a TokenStateCache,
    /// The hot state: pending (and pushed) authorization requests, in the
    /// store's table, or in Redis when it is configured.
    pub requests: &'a dyn HotState,
    /// Counters for hot credential checks (client authentication): in
    /// memory per instance, no database write on the token path.
    pub throttle: &'a dyn Throttle,
    /// DPoP nonces and the proofs seen (in memory per instance).
    pub dpop: &'a crate::dpop::Dpop,
    /// The instant of the request.
    pub now: OffsetDateTime,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("issuer", &self.issuer).field("now", &self.now).finish_non_exhaustive()
    }
}

/// Why a protocol operation did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The request was refused with an RFC error code and a fixed description.
    #[error("{error}: {description}")]
    Rejected {
        /// The code.
        error: OAuthError,
        /// Which rule refused it (no user input echoed).
        description: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed (no active key for an algorithm, …).
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The sign-in side could not say where a browser stands.
    #[error("the sign-in state is unavailable")]
    SignIn(#[source] crate::interaction::SignInError),
}

impl ProtocolError {
    /// The OAuth error code to answer with: `temporarily_unavailable` (503)
    /// when the database cannot be reached, wherever in the chain (the
    /// request may succeed in a moment), `server_error` for other internal
    /// failures.
    pub fn oauth(&self) -> OAuthError {
        match self {
            Self::Rejected { error, .. } => *error,
            _ if self.is_unavailable() => OAuthError::TemporarilyUnavailable,
            Self::Store(_) | Self::Keys(_) | Self::SignIn(_) => OAuthError::ServerError,
        }
    }

    /// The description to send (fixed text; internal detail never leaves).
    pub fn description(&self) -> &'static str {
        match self {
            Self::Rejected { description, .. } => description,
            Self::Store(_) | Self::Keys(_) | Self::SignIn(_) => self.oauth().description(),
        }
    }

    /// Whether this failed because the database cannot be reached right
    /// now (a [`StoreError::Unavailable`] anywhere in the chain).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Rejected { .. } => false,
            Self::Store(e) => e.is_unavailable(),
            Self::Keys(e) => portcullis_store::is_unavailable(e),
            Self::SignIn(e) => portcullis_store::is_unavailable(e.as_ref()),
        }
    }
}

/// Shorthand for a refusal.
pub(crate) fn reject<T>(error: OAuthError, description: &'static str) -> Result<T, ProtocolError> {
    Err(ProtocolError::Rejected { error, description })
}

#[cfg(test)]
mod unavailable_tests {
    use super::*;

    #[test]
    fn a_database_that_is_away_is_temporarily_unavailable_not_a_server_error() {
        let e = ProtocolError::Store(StoreError::unavailable("connection refused"));
        assert_eq!(e.oauth(), OAuthError::TemporarilyUnavailable);
        assert_eq!(e.oauth().status(), 503);
        assert_eq!(e.description(), OAuthError::TemporarilyUnavailable.description());
        // Through the sign-in side's boxed error too.
        let e = ProtocolError::SignIn(Box::new(StoreError::unavailable("reset")));
        assert_eq!(e.oauth(), OAuthError::TemporarilyUnavailable);
        // Any other store failure stays a server error.
        let e = ProtocolError::Store(StoreError::Backend("syntax error".into()));
        assert_eq!(e.oauth(), OAuthError::ServerError);
        assert!(!e.is_unavailable());
    }
}
