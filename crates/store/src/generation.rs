//! Counters a store advances after writes, so that in-process caches above it
//! (clients, the state of access tokens) can tell at once that what they hold
//! may be stale.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Called after this process's own writes advance a [`Generation`] (to
/// tell other instances, e.g. through Redis).
pub type ChangeHook = Box<dyn Fn() + Send + Sync>;

/// A counter shared by the clones of a store.
#[derive(Clone, Default)]
pub struct Generation(Arc<Inner>);

#[derive(Default)]
struct Inner {
    n: AtomicU64,
    hook: OnceLock<ChangeHook>,
}

impl fmt::Debug for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Generation").field(&self.get()).finish()
    }
}

impl Generation {
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.n.load(Ordering::Acquire)
    }

    /// Advances the counter: whatever was read before this call is stale.
    /// Then calls the hook, if any.
    pub fn advance(&self) {
        self.advance_quietly();
        if let Some(hook) = self.0.hook.get() {
            hook();
        }
    }

    /// Advances the counter without calling the hook: for a change another
    /// instance made (and told), which must not be told back.
    pub fn advance_quietly(&self) {
        self.0.n.fetch_add(1, Ordering::AcqRel);
    }

    /// Sets the hook [`Self::advance`] calls; only the first one counts.
    pub fn set_hook(&self, hook: ChangeHook) {
        let _ = self.0.hook.set(hook);
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

    #[test]
    fn the_hook_hears_own_advances_only() {
        let heard = Arc::new(AtomicU64::new(0));
        let a = Generation::default();
        let counter = heard.clone();
        a.set_hook(Box::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }));
        a.advance();
        drop(a.on_drop());
        a.advance_quietly();
        assert_eq!(a.get(), 3);
        assert_eq!(heard.load(Ordering::Relaxed), 2, "not the quiet advance");
    }
}
