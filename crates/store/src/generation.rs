//! Counters a store advances after writes, so that in-process caches above it
//! (clients, the state of access tokens) can tell at once that what they hold
//! may be stale.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A counter shared by the clones of a store.
#[derive(Debug, Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Advances the counter: whatever was read before this call is stale.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    /// Advances the counter when the returned guard is dropped. A write method
    /// takes one first thing, so the counter moves after its transaction has
    /// committed (or failed) on every path out of the method, `?` included.
    /// Readers take the value before they read: an entry read before the
    /// commit is then tagged with an older value and never used.
    #[must_use = "the counter advances when the guard is dropped"]
    pub fn on_drop(&self) -> AdvanceOnDrop<'_> {
        AdvanceOnDrop(self)
    }
}

/// See [`Generation::on_drop`].
#[derive(Debug)]
pub struct AdvanceOnDrop<'a>(&'a Generation);

impl Drop for AdvanceOnDrop<'_> {
    fn drop(&mut self) {
        self.0.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_advances_when_dropped_and_clones_share_the_count() {
        let a = Generation::default();
        let b = a.clone();
        let before = b.get();
        {
            let _guard = a.on_drop();
            assert_eq!(b.get(), before, "not while the write runs");
        }
        assert_eq!(b.get(), before + 1);
        b.advance();
        assert_eq!(a.get(), before + 2);
    }
}
