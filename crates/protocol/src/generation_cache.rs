//! Values read from the store, kept by key and used while they are younger
//! than a TTL *and* the store's counter for their kind of data (a
//! generation) has not moved since before they were read: the shape shared
//! by [`ClientCache`] and [`TokenStateCache`].
//!
//! [`ClientCache`]: crate::ClientCache
//! [`TokenStateCache`]: crate::TokenStateCache

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use time::{Duration, OffsetDateTime};

#[derive(Debug)]
struct Entry<V> {
    value: Arc<V>,
    fetched_at: OffsetDateTime,
    generation: u64,
}

/// Values by key, each with when it was read and the generation then.
#[derive(Debug)]
pub(crate) struct GenerationCache<V> {
    ttl: Duration,
    /// When full, the cache starts over.
    capacity: usize,
    entries: RwLock<HashMap<String, Entry<V>>>,
}

impl<V> GenerationCache<V> {
    /// An empty cache whose entries live `ttl` (zero or less: no caching).
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity, entries: RwLock::new(HashMap::new()) }
    }

    /// The value under `key` if it was read less than the TTL before `now`
    /// and the generation is still `generation`.
    pub(crate) fn get(&self, key: &str, now: OffsetDateTime, generation: u64) -> Option<Arc<V>> {
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get(key)?;
        let fresh =
            entry.generation == generation && now >= entry.fetched_at && now - entry.fetched_at < self.ttl;
        fresh.then(|| entry.value.clone())
    }

    /// Remembers `value`, read at `now` when the generation was `generation`
    /// (taken before the read).
    pub(crate) fn put(&self, key: &str, value: Arc<V>, now: OffsetDateTime, generation: u64) {
        if self.ttl <= Duration::ZERO {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key.to_owned(), Entry { value, fetched_at: now, generation });
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }
}
