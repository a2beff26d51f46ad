//! Key metrics: seconds until the next rotation, keys per algorithm and state.

use portcullis_keys::{Algorithm, KeySet, Policy, next_rotation};
use portcullis_store::SigningKeyState;
use prometheus::{Gauge, IntGaugeVec, Opts, Registry};
use time::OffsetDateTime;

const STATES: [SigningKeyState; 4] =
    [SigningKeyState::Staged, SigningKeyState::Active, SigningKeyState::Retired, SigningKeyState::Revoked];

/// The gauges, registered once.
#[derive(Debug, Clone)]
pub(crate) struct KeyMetrics {
    next_rotation: Gauge,
    keys: IntGaugeVec,
}

impl KeyMetrics {
    pub(crate) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let next_rotation = Gauge::with_opts(Opts::new(
            "portcullis_signing_key_next_rotation_seconds",
            "Seconds until the next scheduled signing-key activation",
        ))?;
        let keys = IntGaugeVec::new(
            Opts::new("portcullis_signing_keys", "Stored signing keys by algorithm and state"),
            &["alg", "state"],
        )?;
        registry.register(Box::new(next_rotation.clone()))?;
        registry.register(Box::new(keys.clone()))?;
        Ok(Self { next_rotation, keys })
    }

    pub(crate) fn update(&self, set: &KeySet, policy: &Policy, now: OffsetDateTime) {
        if let Some(at) = next_rotation(set.keys(), policy) {
            self.next_rotation.set((at - now).as_seconds_f64().max(0.0));
        }
        for alg in Algorithm::ALL {
            for state in STATES {
                let n = set.keys().iter().filter(|k| k.alg == alg && k.state == state).count();
                self.keys.with_label_values(&[alg.as_str(), state.as_str()]).set(n as i64);
            }
        }
    }
}
