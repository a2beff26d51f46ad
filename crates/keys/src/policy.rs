//! The key lifecycle as a pure function: given the stored keys and the time,
//! [`plan`] says what to do. No I/O, no clock: the simulation in its tests
//! drives it through a year of rotations.
//!
//! A key is generated `staged` (published, not signing) `lead_time` before it
//! activates, so every verifier that caches the JWKS for up to its max-age
//! knows it before the first token it signs. When it activates, the previous
//! key is `retired`: still published for `retire_after` (the longest token
//! lifetime plus a margin), then removed.

use portcullis_store::SigningKeyState;
use time::{Duration, OffsetDateTime};

use crate::Algorithm;

/// What the lifecycle needs to know about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMeta {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: Algorithm,
    /// State.
    pub state: SigningKeyState,
    /// When it was generated.
    pub created_at: OffsetDateTime,
    /// When it activates (staged) or activated.
    pub activates_at: OffsetDateTime,
    /// When it was retired or revoked.
    pub retired_at: Option<OffsetDateTime>,
}

/// The rotation schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Algorithms with an active key (the others are wound down).
    pub algorithms: Vec<Algorithm>,
    /// How long a key signs before its successor takes over.
    pub rotation_period: Duration,
    /// How long a successor is published before it signs: at least the JWKS
    /// max-age plus the refresh interval.
    pub lead_time: Duration,
    /// How long a retired key stays published: the longest token lifetime
    /// plus the refresh interval and a margin.
    pub retire_after: Duration,
}

/// One step of the lifecycle, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Generate a key for `alg`: staged until `activates_at`, or active at
    /// once when `activates_at` is not after now (there is nothing to overlap).
    Generate {
        /// Algorithm.
        alg: Algorithm,
        /// When it starts signing.
        activates_at: OffsetDateTime,
    },
    /// Staged → active.
    Activate {
        /// Key id.
        kid: String,
    },
    /// Active → retired.
    Retire {
        /// Key id.
        kid: String,
    },
    /// Delete a retired, revoked or never-activated key.
    Remove {
        /// Key id.
        kid: String,
    },
}

/// What to do now, for `keys` under `policy`.
pub fn plan(keys: &[KeyMeta], now: OffsetDateTime, policy: &Policy) -> Vec<Action> {
    let mut actions = Vec::new();
    for alg in &policy.algorithms {
        plan_algorithm(keys, *alg, now, policy, &mut actions);
    }
    wind_down_unconfigured(keys, policy, &mut actions);
    remove_expired(keys, now, policy, &mut actions);
    actions
}

fn of(keys: &[KeyMeta], alg: Algorithm, state: SigningKeyState) -> impl Iterator<Item = &KeyMeta> {
    keys.iter().filter(move |k| k.alg == alg && k.state == state)
}

/// One active key per configured algorithm: bootstrap, stage the successor
/// `lead_time` before the period ends, and switch when it is due.
fn plan_algorithm(
    keys: &[KeyMeta],
    alg: Algorithm,
    now: OffsetDateTime,
    policy: &Policy,
    out: &mut Vec<Action>,
) {
    let active: Vec<&KeyMeta> = of(keys, alg, SigningKeyState::Active).collect();
    let staged = of(keys, alg, SigningKeyState::Staged).min_by_key(|k| k.activates_at);
    let newest_active = active.iter().max_by_key(|k| k.activates_at);
    match (newest_active, staged) {
        (_, Some(next)) if next.activates_at <= now || active.is_empty() => {
            out.extend(active.iter().map(|k| Action::Retire { kid: k.kid.clone() }));
            out.push(Action::Activate { kid: next.kid.clone() });
        }
        (None, None) => out.push(Action::Generate { alg, activates_at: now }),
        (Some(current), None) if now >= current.activates_at + policy.rotation_period - policy.lead_time => {
            out.push(Action::Generate { alg, activates_at: now + policy.lead_time });
        }
        _ => {}
    }
}

/// Keys of algorithms no longer configured stop signing; unused staged ones go.
fn wind_down_unconfigured(keys: &[KeyMeta], policy: &Policy, out: &mut Vec<Action>) {
    for key in keys.iter().filter(|k| !policy.algorithms.contains(&k.alg)) {
        match key.state {
            SigningKeyState::Active => out.push(Action::Retire { kid: key.kid.clone() }),
            SigningKeyState::Staged => out.push(Action::Remove { kid: key.kid.clone() }),
            SigningKeyState::Retired | SigningKeyState::Revoked => {}
        }
    }
}

/// Retired and revoked keys are deleted once `retire_after` has passed.
fn remove_expired(keys: &[KeyMeta], now: OffsetDateTime, policy: &Policy, out: &mut Vec<Action>) {
    for key in keys {
        let ended = matches!(key.state, SigningKeyState::Retired | SigningKeyState::Revoked);
        if ended && key.retired_at.is_some_and(|at| at + policy.retire_after <= now) {
            out.push(Action::Remove { kid: key.kid.clone() });
        }
    }
}

/// When the next scheduled activation happens (the earliest over the
/// configured algorithms), if any key exists.
pub fn next_rotation(keys: &[KeyMeta], policy: &Policy) -> Option<OffsetDateTime> {
    policy
        .algorithms
        .iter()
        .filter_map(|alg| {
            let staged = of(keys, *alg, SigningKeyState::Staged).map(|k| k.activates_at).min();
            let active = of(keys, *alg, SigningKeyState::Active).map(|k| k.activates_at).max();
            staged.or_else(|| active.map(|at| at + policy.rotation_period))
        })
        .min()
}

#[cfg(test)]
mod tests;
