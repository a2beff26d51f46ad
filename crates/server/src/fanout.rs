//! Telling other instances of client and key changes through Redis
//! pub/sub (`portcullis_store_redis::Heard`), from a running instance
//! ([`follow`]) and from the `portcullis clients` and `portcullis keys`
//! commands ([`Tell`]).

use portcullis_store::{Change, Store};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::keys::KeyRuntime;
use crate::settings::Settings;

/// The fan-out through Redis pub/sub (`portcullis_store_redis::Heard`):
/// this instance's client and key writes are published as they commit;
/// another's make this one drop its cached clients (and CORS origins) or
/// re-read the keys at once, instead of at the end of the cache's 5 s or
/// `keys.refresh_interval_secs`. A (re)subscription drops both, as
/// messages may have been missed. Redis away: nothing is told, and every
/// instance falls back on those intervals.
pub(crate) fn follow(
    redis: portcullis_store_redis::Redis,
    store: Arc<dyn Store>,
    keys: Arc<KeyRuntime>,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    use portcullis_store_redis::Heard;
    let instance = portcullis_core::random::hex_id();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
    for what in [Change::Clients, Change::Keys] {
        let tx = tx.clone();
        store.on_change(
            what,
            Box::new(move || {
                let _ = tx.send(what);
            }),
        );
    }
    let publisher = {
        let (redis, instance) = (redis.clone(), instance.clone());
        async move {
            while let Some(what) = rx.recv().await {
                if let Err(e) = redis.publish_change(&instance, what.as_str()).await {
                    tracing::warn!(error = %e, change = what.as_str(), "cannot tell the other instances");
                }
            }
        }
    };
    let follower = async move {
        redis
            .follow_changes(&instance, |heard| {
                let changed = match heard {
                    Heard::Changed(what) => Change::parse(&what).into_iter().collect(),
                    Heard::Resubscribed => vec![Change::Clients, Change::Keys],
                };
                for what in changed {
                    match what {
                        Change::Clients => store.changed_elsewhere(Change::Clients),
                        Change::Keys => keys.wake(),
                    }
                }
            })
            .await;
    };
    Box::pin(async move {
        tokio::join!(publisher, follower);
    })
}

/// A command's changes, told to the running instances when it ends (when
/// Redis is configured and answers; otherwise they see them within the
/// client cache's 5 s and `keys.refresh_interval_secs`).
pub(crate) struct Tell {
    redis: Option<portcullis_store_redis::Redis>,
    changed: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl Tell {
    /// Watches `store`'s writes of clients and keys for a command.
    pub(crate) async fn watch(settings: &Settings, store: &dyn Store) -> Self {
        let redis = match settings.redis.config() {
            Ok(Some(config)) => match portcullis_store_redis::Redis::connect(&config).await {
                Ok(redis) => Some(redis),
                Err(e) => {
                    tracing::warn!(error = %e, "running instances will not be told of this change at once");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "running instances will not be told of this change at once");
                None
            }
        };
        let changed = Arc::new(Mutex::new(BTreeSet::new()));
        if redis.is_some() {
            for what in [Change::Clients, Change::Keys] {
                let changed = changed.clone();
                store.on_change(
                    what,
                    Box::new(move || {
                        changed
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(what.as_str());
                    }),
                );
            }
        }
        Self { redis, changed }
    }

    /// Whether running instances can be told (Redis is configured and answered).
    pub(crate) fn reaches_instances(&self) -> bool {
        self.redis.is_some()
    }

    /// Tells the running instances what the command changed.
    pub(crate) async fn tell(self) {
        let Some(redis) = self.redis else { return };
        let changed: Vec<&str> =
            self.changed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect();
        let from = format!("cli-{}", portcullis_core::random::hex_id());
        for what in changed {
            if let Err(e) = redis.publish_change(&from, what).await {
                tracing::warn!(error = %e, change = what, "cannot tell the running instances");
            }
        }
    }
}
