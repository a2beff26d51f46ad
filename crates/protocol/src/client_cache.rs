//! The parsed clients of recent requests, so that the token-side endpoints do
//! not read and re-parse the client's row on every request.
//!
//! An entry is used only while both hold:
//! - it is younger than the TTL ([`ProtocolConfig::client_cache_ttl`], 5 s by
//!   default): a client changed or deleted by another instance (or by the
//!   `portcullis clients` CLI) stops authenticating with its old credentials
//!   within that time;
//! - the store's client generation ([`ClientRepo::clients_generation`]) has
//!   not moved since it was read: a change through this process's store
//!   invalidates every entry at once.
//!
//! Unknown clients are not cached (every miss asks the store).
//!
//! [`ProtocolConfig::client_cache_ttl`]: crate::ProtocolConfig
//! [`ClientRepo::clients_generation`]: portcullis_store::ClientRepo::clients_generation

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::Client;
use crate::generation_cache::GenerationCache;

/// At most this many clients are kept; when full, the cache starts over.
const MAX_ENTRIES: usize = 4096;

/// Recently loaded clients, by id.
#[derive(Debug)]
pub struct ClientCache(GenerationCache<Client>);

impl ClientCache {
    /// An empty cache whose entries live `ttl` (zero or less: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self(GenerationCache::new(ttl, MAX_ENTRIES))
    }

    /// The client `id` if it was cached less than the TTL before `now` and
    /// the store's client generation is still `generation`.
    pub(crate) fn get(&self, id: &str, now: OffsetDateTime, generation: u64) -> Option<Arc<Client>> {
        self.0.get(id, now, generation)
    }

    /// Remembers `client`, read from the store at `now` when its client
    /// generation was `generation` (read before the row).
    pub(crate) fn put(&self, client: Arc<Client>, now: OffsetDateTime, generation: u64) {
        let id = client.client_id.as_str().to_owned();
        self.0.put(&id, client, now, generation);
    }

    /// Forgets every client.
    pub fn clear(&self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientId, GrantType, IdTokenAlg, ScopeSet, TokenEndpointAuthMethod};

    fn client(id: &str) -> Arc<Client> {
        Arc::new(Client {
            client_id: ClientId::parse(id).expect("id"),
            name: id.into(),
            client_secret_sha256: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            scopes: ScopeSet::default(),
            require_consent: false,
            backchannel_logout_uri: None,
            id_token_signed_response_alg: IdTokenAlg::default(),
            jwks: None,
            access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
            from_config: false,
            previous_secret: None,
            disabled: false,
            admin_api: false,
            allowed_origins: vec![],
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            resources: vec![],
        })
    }

    const T0: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn an_entry_lives_for_the_ttl() {
        let cache = ClientCache::new(Duration::seconds(5));
        cache.put(client("a"), T0, 1);
        assert!(cache.get("a", T0, 1).is_some());
        assert!(cache.get("a", T0 + Duration::milliseconds(4999), 1).is_some());
        assert!(cache.get("a", T0 + Duration::seconds(5), 1).is_none());
        assert!(cache.get("b", T0, 1).is_none());
    }

    #[test]
    fn a_new_store_generation_invalidates_at_once() {
        let cache = ClientCache::new(Duration::seconds(5));
        cache.put(client("a"), T0, 1);
        assert!(cache.get("a", T0, 2).is_none());
    }

    #[test]
    fn a_clock_going_back_or_a_zero_ttl_never_serves() {
        let cache = ClientCache::new(Duration::seconds(5));
        cache.put(client("a"), T0, 1);
        assert!(cache.get("a", T0 - Duration::seconds(1), 1).is_none());
        cache.clear();
        assert!(cache.get("a", T0, 1).is_none());
        let off = ClientCache::new(Duration::ZERO);
        off.put(client("a"), T0, 1);
        assert!(off.get("a", T0, 1).is_none());
    }
}
