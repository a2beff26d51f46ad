//! The origins allowed for some client, as one set in memory.
//!
//! The token, UserInfo and revocation endpoints are hot: a request with an
//! `Origin` header asks [`CorsOrigins`], which answers from a set built
//! from every client and rebuilt only when
//! - the store's client generation ([`ClientRepo::clients_generation`])
//!   has moved: a change through this instance applies to the next request;
//! - or the set is older than its TTL ([`ProtocolConfig::client_cache_ttl`],
//!   5 s by default): a change by another instance or the `portcullis
//!   clients` CLI applies within that time. One request rebuilds it; the
//!   others meanwhile keep the set they have (never a set older than the
//!   last change through this instance).
//!
//! [`ClientRepo::clients_generation`]: portcullis_store::ClientRepo::clients_generation
//! [`ProtocolConfig::client_cache_ttl`]: crate::ProtocolConfig

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use portcullis_store::{Store, StoreError};
use time::{Duration, OffsetDateTime};

use crate::Client;

/// Every origin some enabled client is allowed ([`Client::cors_origins`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(HashSet<String>);

impl AllowedOrigins {
    /// The union of the origins of `clients`; a disabled client, to the
    /// protocol no client, adds none.
    pub fn of<'a>(clients: impl IntoIterator<Item = &'a Client>) -> Self {
        let enabled = clients.into_iter().filter(|c| !c.disabled);
        Self(enabled.flat_map(Client::cors_origins).map(|o| o.as_str().to_owned()).collect())
    }

    /// Whether `origin`, an `Origin` header's value, is one of them:
    /// compared as bytes with the form browsers send (so `null`, and any
    /// origin no browser would write that way, never is).
    pub fn contains(&self, origin: &str) -> bool {
        self.0.contains(origin)
    }

    /// How many origins there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no origin is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug)]
struct Snapshot {
    origins: Arc<AllowedOrigins>,
    read_at: OffsetDateTime,
    generation: u64,
}

/// [`AllowedOrigins`] of the store's clients, kept in memory (see the
/// module's documentation for when it is rebuilt).
#[derive(Debug)]
pub struct CorsOrigins {
    ttl: Duration,
    current: RwLock<Option<Snapshot>>,
    rebuilding: AtomicBool,
}

/// Holds the right to rebuild the set; gives it back when dropped (also
/// when the request that took it is cancelled mid-read).
struct Rebuilding<'a>(&'a AtomicBool);

impl<'a> Rebuilding<'a> {
    fn take(flag: &'a AtomicBool) -> Option<Self> {
        flag.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok().then_some(Self(flag))
    }
}

impl Drop for Rebuilding<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl CorsOrigins {
    /// No set yet; a set lives `ttl` (zero or less: rebuilt for every request).
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, current: RwLock::new(None), rebuilding: AtomicBool::new(false) }
    }

    /// Whether a page at `origin` (the `Origin` header) may call the
    /// token-side endpoints at `now`: some enabled client is allowed it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn allows(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
        origin: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.origins(store, now).await?.contains(origin))
    }

    /// The set in effect at `now`, rebuilt from the store when needed.
    pub async fn origins(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
    ) -> Result<Arc<AllowedOrigins>, StoreError> {
        // Read before the clients, so that a change made during the read
        // moves it past what the set is stamped with.
        let generation = store.clients_generation();
        if let Some(origins) = self.cached(now, generation, false) {
            return Ok(origins);
        }
        let rebuilding = Rebuilding::take(&self.rebuilding);
        if rebuilding.is_none()
            && let Some(origins) = self.cached(now, generation, true)
        {
            return Ok(origins);
        }
        let clients = store.list_clients().await?;
        let parsed: Vec<Client> = clients.iter().filter_map(|r| Client::from_record(r).ok()).collect();
        let origins = Arc::new(AllowedOrigins::of(&parsed));
        self.put(origins.clone(), now, generation);
        drop(rebuilding);
        Ok(origins)
    }

    /// The set, if it was built at `generation` less than the TTL before
    /// `now` — or at any age when `expired_ok` (another request is
    /// rebuilding it).
    fn cached(&self, now: OffsetDateTime, generation: u64, expired_ok: bool) -> Option<Arc<AllowedOrigins>> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let snapshot = current.as_ref()?;
        let young = now >= snapshot.read_at && now - snapshot.read_at < self.ttl;
        (snapshot.generation == generation && (young || expired_ok)).then(|| snapshot.origins.clone())
    }

    /// Keeps `origins`, read at `now` when the generation was `generation`,
    /// unless a set of a later generation is kept already.
    fn put(&self, origins: Arc<AllowedOrigins>, now: OffsetDateTime, generation: u64) {
        if self.ttl <= Duration::ZERO {
            return;
        }
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.as_ref().is_some_and(|s| s.generation > generation) {
            return;
        }
        *current = Some(Snapshot { origins, read_at: now, generation });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::{confidential, public};
    use crate::{Origin, RedirectUri};

    const T0: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

    fn spa(uri: &str) -> Client {
        Client { redirect_uris: vec![RedirectUri::parse(uri).expect("uri")], ..public() }
    }

    fn set(origins: &[&str]) -> Arc<AllowedOrigins> {
        Arc::new(AllowedOrigins(origins.iter().map(|o| (*o).to_owned()).collect()))
    }

    #[test]
    fn the_set_is_the_union_over_enabled_clients() {
        let listed = Client {
            allowed_origins: vec![Origin::parse("https://admin.rp.example").expect("origin")],
            ..confidential()
        };
        let disabled = Client { disabled: true, ..spa("https://gone.example/cb") };
        let clients = [spa("https://spa.example/cb"), spa("https://spa.example/other"), listed, disabled];
        let allowed = AllowedOrigins::of(&clients);
        assert_eq!(allowed.len(), 2);
        assert!(allowed.contains("https://spa.example"));
        assert!(allowed.contains("https://admin.rp.example"));
        assert!(!allowed.contains("https://gone.example"), "a disabled client allows nothing");
        assert!(
            !allowed.contains("https://rp.example"),
            "a confidential client's redirect URI implies nothing"
        );
    }

    #[test]
    fn origins_are_compared_as_browsers_send_them() {
        let allowed = AllowedOrigins::of(&[spa("https://SPA.example:443/cb")]);
        assert!(allowed.contains("https://spa.example"));
        for other in [
            "https://spa.example:443",
            "https://spa.example/",
            "http://spa.example",
            "https://spa.example:8443",
            "https://evil.spa.example",
            "https://spa.example.evil",
            "null",
            "",
        ] {
            assert!(!allowed.contains(other), "{other:?}");
        }
    }

    #[test]
    fn a_set_lives_for_its_ttl_and_generation() {
        let cache = CorsOrigins::new(Duration::seconds(5));
        assert!(cache.cached(T0, 1, true).is_none(), "nothing before the first build");
        cache.put(set(&["https://a.example"]), T0, 1);
        assert!(cache.cached(T0 + Duration::milliseconds(4999), 1, false).is_some());
        assert!(cache.cached(T0 + Duration::seconds(5), 1, false).is_none(), "expired");
        assert!(
            cache.cached(T0 + Duration::seconds(5), 1, true).is_some(),
            "an expired set serves while another request rebuilds it"
        );
        assert!(cache.cached(T0, 2, true).is_none(), "a change through this instance: never the old set");
        assert!(cache.cached(T0 - Duration::seconds(1), 1, false).is_none(), "a clock going back");
    }

    #[test]
    fn an_older_generation_never_replaces_a_newer_set() {
        let cache = CorsOrigins::new(Duration::seconds(5));
        cache.put(set(&["https://new.example"]), T0, 2);
        cache.put(set(&["https://old.example"]), T0, 1);
        let kept = cache.cached(T0, 2, false).expect("kept");
        assert!(kept.contains("https://new.example"));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = CorsOrigins::new(Duration::ZERO);
        cache.put(set(&["https://a.example"]), T0, 1);
        assert!(cache.cached(T0, 1, true).is_none());
    }

    #[test]
    fn the_right_to_rebuild_is_given_back_when_dropped() {
        let flag = AtomicBool::new(false);
        let first = Rebuilding::take(&flag).expect("free");
        assert!(Rebuilding::take(&flag).is_none(), "held");
        drop(first);
        assert!(Rebuilding::take(&flag).is_some(), "given back");
    }
}
