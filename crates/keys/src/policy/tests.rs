//! Unit tests of each rule, and the year-long simulation (acceptance 1).

use super::*;
use proptest::prelude::*;
use std::sync::OnceLock;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn policy() -> Policy {
    Policy {
        algorithms: vec![Algorithm::Rs256, Algorithm::Es256],
        rotation_period: Duration::days(30),
        lead_time: Duration::hours(2),
        retire_after: Duration::hours(25),
    }
}

fn key(kid: &str, alg: Algorithm, state: SigningKeyState, activates_at: OffsetDateTime) -> KeyMeta {
    KeyMeta { kid: kid.into(), alg, state, created_at: START, activates_at, retired_at: None }
}

#[test]
fn first_start_creates_an_active_key_per_algorithm() {
    let actions = plan(&[], START, &policy());
    assert_eq!(
        actions,
        vec![
            Action::Generate { alg: Algorithm::Rs256, activates_at: START },
            Action::Generate { alg: Algorithm::Es256, activates_at: START },
        ]
    );
}

#[test]
fn the_successor_is_staged_lead_time_before_the_period_ends() {
    let p = Policy { algorithms: vec![Algorithm::Es256], ..policy() };
    let keys = [key("a", Algorithm::Es256, SigningKeyState::Active, START)];
    let due = START + p.rotation_period - p.lead_time;
    assert_eq!(plan(&keys, due - Duration::seconds(1), &p), vec![]);
    assert_eq!(
        plan(&keys, due, &p),
        vec![Action::Generate { alg: Algorithm::Es256, activates_at: due + p.lead_time }]
    );
    assert_eq!(next_rotation(&keys, &p), Some(START + p.rotation_period));
}

#[test]
fn a_due_staged_key_activates_and_the_old_one_retires() {
    let p = Policy { algorithms: vec![Algorithm::Es256], ..policy() };
    let at = START + Duration::days(30);
    let keys = [
        key("old", Algorithm::Es256, SigningKeyState::Active, START),
        key("new", Algorithm::Es256, SigningKeyState::Staged, at),
    ];
    assert_eq!(plan(&keys, at - Duration::seconds(1), &p), vec![]);
    assert_eq!(next_rotation(&keys, &p), Some(at));
    assert_eq!(
        plan(&keys, at, &p),
        vec![Action::Retire { kid: "old".into() }, Action::Activate { kid: "new".into() }]
    );
}

#[test]
fn without_an_active_key_the_staged_one_activates_at_once() {
    let p = Policy { algorithms: vec![Algorithm::Rs256], ..policy() };
    let keys = [key("next", Algorithm::Rs256, SigningKeyState::Staged, START + Duration::hours(1))];
    assert_eq!(plan(&keys, START, &p), vec![Action::Activate { kid: "next".into() }]);
}

#[test]
fn retired_and_revoked_keys_are_removed_after_retire_after() {
    let p = Policy { algorithms: vec![], ..policy() };
    let mut retired = key("r", Algorithm::Rs256, SigningKeyState::Retired, START);
    retired.retired_at = Some(START);
    let mut revoked = key("v", Algorithm::Es256, SigningKeyState::Revoked, START);
    revoked.retired_at = Some(START + Duration::hours(1));
    let keys = [retired, revoked];
    assert_eq!(plan(&keys, START + p.retire_after - Duration::seconds(1), &p), vec![]);
    assert_eq!(plan(&keys, START + p.retire_after, &p), vec![Action::Remove { kid: "r".into() }]);
}

#[test]
fn unconfigured_algorithms_are_wound_down() {
    let p = Policy { algorithms: vec![Algorithm::Rs256], ..policy() };
    let keys = [
        key("rs", Algorithm::Rs256, SigningKeyState::Active, START),
        key("ed", Algorithm::EdDsa, SigningKeyState::Active, START),
        key("ed2", Algorithm::EdDsa, SigningKeyState::Staged, START + Duration::days(1)),
    ];
    assert_eq!(
        plan(&keys, START + Duration::hours(1), &p),
        vec![Action::Retire { kid: "ed".into() }, Action::Remove { kid: "ed2".into() }]
    );
}

// ---- The simulation: a year of scheduled rotations ------------------------

/// Simulation parameters: the production defaults.
const MAX_AGE: Duration = Duration::hours(1);
/// The rotation task's period; also how stale an instance's view may be.
const REFRESH: Duration = Duration::seconds(60);
/// The longest token lifetime.
const TOKEN_LIFETIME: Duration = Duration::hours(24);

fn sim_policy() -> Policy {
    Policy {
        algorithms: vec![Algorithm::Rs256, Algorithm::Es256],
        rotation_period: Duration::days(30),
        lead_time: MAX_AGE * 2,
        retire_after: TOKEN_LIFETIME + REFRESH + Duration::minutes(5),
    }
}

/// Applies actions as the key service does, to an in-memory key list.
fn apply(keys: &mut Vec<KeyMeta>, actions: &[Action], now: OffsetDateTime, next_id: &mut u32) {
    for action in actions {
        match action {
            Action::Generate { alg, activates_at } => {
                *next_id += 1;
                let state =
                    if *activates_at <= now { SigningKeyState::Active } else { SigningKeyState::Staged };
                keys.push(KeyMeta {
                    kid: format!("k{next_id}"),
                    alg: *alg,
                    state,
                    created_at: now,
                    activates_at: *activates_at,
                    retired_at: None,
                });
            }
            Action::Activate { kid } => {
                let k = keys.iter_mut().find(|k| &k.kid == kid).expect("known");
                k.state = SigningKeyState::Active;
                k.activates_at = now;
            }
            Action::Retire { kid } => {
                let k = keys.iter_mut().find(|k| &k.kid == kid).expect("known");
                k.state = SigningKeyState::Retired;
                k.retired_at = Some(now);
            }
            Action::Remove { kid } => keys.retain(|k| &k.kid != kid),
        }
    }
}

/// The key set after each change: `(from, keys)`, in time order.
fn history() -> &'static Vec<(OffsetDateTime, Vec<KeyMeta>)> {
    static HISTORY: OnceLock<Vec<(OffsetDateTime, Vec<KeyMeta>)>> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let policy = sim_policy();
        let (mut keys, mut next_id, mut out) = (Vec::new(), 0, Vec::new());
        let mut now = START;
        while now <= START + Duration::days(366) + TOKEN_LIFETIME {
            let actions = plan(&keys, now, &policy);
            if !actions.is_empty() {
                apply(&mut keys, &actions, now, &mut next_id);
                out.push((now, keys.clone()));
            }
            now += REFRESH;
        }
        out
    })
}

/// The stored key set at `at` (before the first start: none).
fn keys_at(at: OffsetDateTime) -> &'static [KeyMeta] {
    let h = history();
    match h.partition_point(|(from, _)| *from <= at) {
        0 => &[],
        i => &h[i - 1].1,
    }
}

fn signing_kid(at: OffsetDateTime, alg: Algorithm) -> Option<&'static str> {
    keys_at(at).iter().find(|k| k.alg == alg && k.state == SigningKeyState::Active).map(|k| k.kid.as_str())
}

fn published(at: OffsetDateTime, kid: &str) -> bool {
    keys_at(at).iter().any(|k| k.kid == kid && k.state.is_published())
}

#[test]
fn the_simulated_year_rotates_every_period_and_keeps_the_jwks_small() {
    let h = history();
    let rotations = activations(Algorithm::Rs256).len();
    assert!((12..=13).contains(&rotations), "{rotations} RS256 rotations in a year");
    assert!(h.iter().all(|(_, keys)| keys.iter().filter(|k| k.state.is_published()).count() <= 6));
    assert!(h.iter().all(|(at, _)| *at < START || signing_kid(*at, Algorithm::Es256).is_some()));
}

/// The moments the active key of `alg` changed.
fn activations(alg: Algorithm) -> Vec<OffsetDateTime> {
    history()
        .windows(2)
        .filter(|w| signing_kid(w[1].0, alg) != signing_kid(w[0].0, alg))
        .map(|w| w[1].0)
        .collect()
}

/// Seconds in `0..=range`, with both ends drawn often (boundaries are where
/// overlap bugs live).
fn seconds(range: Duration) -> impl Strategy<Value = i64> {
    let max = range.whole_seconds();
    prop_oneof![Just(0), Just(max), 0..=max]
}

/// A signing moment: anywhere in the year, or within ten minutes or two days
/// of a rotation (a rotation is where a key starts and another stops signing).
fn signing_moment() -> impl Strategy<Value = (bool, usize, i64)> {
    (any::<bool>(), 0..64usize, prop_oneof![-600..=600i64, -2 * 86_400..=2 * 86_400i64])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Acceptance 1: a token signed at any moment of the year, by whichever key
    /// the signing instance saw as active (its view up to REFRESH stale),
    /// verifies at any moment of its lifetime against any JWKS fetched at most
    /// MAX_AGE before the verification (served from a view up to REFRESH stale).
    #[test]
    fn a_token_verifies_for_its_whole_lifetime_against_any_cached_jwks(
        (near_rotation, rotation, offset) in signing_moment(),
        anywhere in 0..=365 * 86_400i64,
        signer_lag in seconds(REFRESH),
        lifetime in seconds(TOKEN_LIFETIME),
        cache_age in seconds(MAX_AGE),
        server_lag in seconds(REFRESH),
        es256 in any::<bool>(),
    ) {
        let alg = if es256 { Algorithm::Es256 } else { Algorithm::Rs256 };
        let rotations = activations(alg);
        let signed_at = if near_rotation {
            rotations[rotation % rotations.len()] + Duration::seconds(offset)
        } else {
            START + Duration::seconds(anywhere)
        };
        let Some(kid) = signing_kid(signed_at - Duration::seconds(signer_lag), alg) else {
            // The instance had not loaded any key yet: it cannot sign.
            return Ok(());
        };
        let verified_at = signed_at + Duration::seconds(lifetime);
        let fetched_at = (verified_at - Duration::seconds(cache_age)).max(START);
        let served_from = (fetched_at - Duration::seconds(server_lag)).max(START);
        prop_assert!(
            published(served_from, kid),
            "token signed {signed_at} by {kid}, verified {verified_at} with JWKS of {served_from}"
        );
    }
}
