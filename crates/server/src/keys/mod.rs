//! Signing keys in the server: the key-encryption key, the start-up check,
//! the background task that rotates (when this instance holds the lease) and
//! refreshes the in-memory key set, and the `portcullis keys …` commands.

mod cli;
mod kek;
mod metrics;

pub use cli::{KeysCommand, KeysCommandError, list_keys, revoke_key, rotate_keys, run_keys_command};
pub use kek::{generated_kek_path, load_kek};
/// The endpoints discovery names (member, path), as mounted by `web`.
pub use portcullis_web::ENDPOINTS;

use portcullis_core::Clock;
use portcullis_keys::{KeyService, LiveKeys, Policy, RotationOutcome};
use portcullis_store::Store;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

use crate::settings::Settings;
use metrics::KeyMetrics;

/// The schedule from the settings.
pub fn policy(settings: &Settings) -> Policy {
    let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
    Policy {
        algorithms: settings.keys.algorithms(),
        rotation_period: secs(settings.keys.rotation_period_secs),
        lead_time: secs(settings.keys.lead_time_secs()),
        retire_after: secs(settings.keys.retire_after_secs()),
    }
}

/// The key service for this process, its KEK loaded (not yet checked
/// against the stored keys: [`KeyService::load`] does that).
pub async fn key_service(settings: &Settings, store: Arc<dyn Store>) -> Result<KeyService, String> {
    let kek = load_kek(settings, store.as_ref()).await?;
    let refresh = settings.keys.refresh_interval_secs;
    let lease_ttl = Duration::seconds(i64::try_from(refresh.saturating_mul(3).max(30)).unwrap_or(30));
    let holder = portcullis_core::random::hex_id();
    Ok(KeyService::new(store, kek, policy(settings), holder, lease_ttl))
}

/// The running server's keys: what handlers read, and how it stays fresh.
#[derive(Debug)]
pub struct KeyRuntime {
    service: Arc<KeyService>,
    live: Arc<LiveKeys>,
    metrics: KeyMetrics,
    clock: Arc<dyn Clock>,
    refresh: StdDuration,
    /// Wakes the refresher before its interval: another instance changed
    /// the keys (told through Redis).
    wake: tokio::sync::Notify,
}

/// How many times start-up waits for another instance that is creating the
/// first keys (holding the lease), 100 ms apart.
const BOOTSTRAP_ATTEMPTS: u32 = 50;

impl KeyRuntime {
    /// Loads the KEK, proves it opens every stored key (a wrong one fails
    /// here, before anything changes), runs the schedule once (creating the
    /// first keys on first start) and loads the key set.
    pub(crate) async fn start(
        settings: &Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        registry: &prometheus::Registry,
    ) -> Result<Self, String> {
        let service = key_service(settings, store).await?;
        let mut set = service.load(None).await.map_err(|e| e.to_string())?;
        let wanted = service.policy().algorithms.clone();
        for _ in 0..BOOTSTRAP_ATTEMPTS {
            service.rotate_if_due(clock.now()).await.map_err(|e| e.to_string())?;
            set = service.load(Some(&set)).await.map_err(|e| e.to_string())?;
            if wanted.iter().all(|alg| set.active_kid(*alg).is_some()) {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        let metrics = KeyMetrics::register(registry).map_err(|e| format!("metrics: {e}"))?;
        metrics.update(&set, service.policy(), clock.now());
        let refresh = StdDuration::from_secs(settings.keys.refresh_interval_secs);
        Ok(Self {
            service: Arc::new(service),
            live: Arc::new(LiveKeys::new(set)),
            metrics,
            clock,
            refresh,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The key-encryption key (TOTP secrets are sealed with it too).
    pub fn kek(&self) -> portcullis_keys::Kek {
        self.service.kek().clone()
    }

    /// The key service, shared with the admin console.
    pub fn service(&self) -> Arc<KeyService> {
        self.service.clone()
    }

    /// The keys in effect, shared with the handlers.
    pub fn live(&self) -> Arc<LiveKeys> {
        self.live.clone()
    }

    /// One round: rotate if this instance holds the lease and something is
    /// due, then re-read the keys (another instance or `portcullis keys`
    /// may have changed them). Failures keep the previous set and are logged.
    pub async fn refresh(&self) {
        match self.service.rotate_if_due(self.clock.now()).await {
            Ok(RotationOutcome::Applied(actions)) if !actions.is_empty() => {
                tracing::info!(actions = actions.len(), "signing keys rotated");
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "signing-key rotation failed; will retry"),
        }
        self.reload().await;
    }

    /// Re-reads the keys (another instance or `portcullis keys` may have
    /// changed them). A failure keeps the previous set and is logged.
    pub async fn reload(&self) {
        let previous = self.live.current();
        match self.service.load(Some(&previous)).await {
            Ok(set) => {
                self.metrics.update(&set, self.service.policy(), self.clock.now());
                self.live.replace(set);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot refresh the signing keys; serving the previous set")
            }
        }
    }

    /// Refreshes every `keys.refresh_interval_secs`, and when woken
    /// ([`Self::wake`]), until dropped.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(self.refresh);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: start() just loaded
        loop {
            tokio::select! {
                _ = ticker.tick() => self.refresh().await,
                // Only re-read: the schedule stays on its interval.
                () = self.wake.notified() => self.reload().await,
            }
        }
    }

    /// Has the refresher re-read the keys now (another instance changed
    /// them), not at its next interval.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
