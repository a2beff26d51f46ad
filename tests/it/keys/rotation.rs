use portcullis_keys::{Action, Algorithm, Kek, KeyService, Policy, RotationOutcome};
use portcullis_tests::{Backend, both_backends, test_store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn policy() -> Policy {
    Policy {
        algorithms: vec![Algorithm::Rs256, Algorithm::Es256],
        rotation_period: Duration::days(30),
        lead_time: Duration::hours(2),
        retire_after: Duration::hours(25),
    }
}

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// Acceptance 3: two instances on one database, both due to rotate at the
/// same moment: exactly one new key per algorithm.
async fn two_instances_due_together_create_exactly_one_key(backend: Backend) {
    let (store_a, db) = test_store(backend).await;
    let store_b = db.open().await;
    let kek = Kek::generate();
    let a = KeyService::new(store_a, kek.clone(), policy(), "instance-a".into(), Duration::seconds(30));
    let b = KeyService::new(store_b, kek, policy(), "instance-b".into(), Duration::seconds(30));
    let first = a.rotate_if_due(T0).await.expect("bootstrap");
    assert!(matches!(first, RotationOutcome::Applied(ref actions) if actions.len() == 2), "{first:?}");

    // Both due (the lease of the bootstrap long expired), run in parallel.
    let due = T0 + Duration::days(30) - Duration::hours(2) + Duration::minutes(1);
    let (ra, rb) = (a.clone(), b.clone());
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { ra.rotate_if_due(due).await }),
        tokio::spawn(async move { rb.rotate_if_due(due).await })
    );
    let outcomes = [ra.expect("task").expect("rotation a"), rb.expect("task").expect("rotation b")];

    assert_eq!(outcomes.iter().filter(|o| **o == RotationOutcome::NotLeader).count(), 1, "{outcomes:?}");
    let generated = outcomes
        .iter()
        .flat_map(|o| match o {
            RotationOutcome::Applied(actions) => actions.clone(),
            RotationOutcome::NotLeader => vec![],
        })
        .filter(|a| matches!(a, Action::Generate { .. }))
        .count();
    assert_eq!(generated, 2);
    assert_eq!(db.count("SELECT kid FROM signing_keys WHERE state = 'staged'").await, 2);
    assert_eq!(db.count("SELECT alg FROM signing_keys WHERE state = 'staged' GROUP BY alg").await, 2);

    // Once the winner's lease lapses the other instance takes over and finds
    // nothing left to do.
    let later = due + Duration::minutes(5);
    let (again_a, again_b) =
        (a.rotate_if_due(later).await.expect("a"), b.rotate_if_due(later).await.expect("b"));
    for outcome in [again_a, again_b] {
        assert!(
            matches!(outcome, RotationOutcome::Applied(ref x) if x.is_empty())
                || outcome == RotationOutcome::NotLeader
        );
    }
    assert_eq!(db.count("SELECT kid FROM signing_keys").await, 4);
}

/// The staged keys activate when due; the old ones stay published, then go.
async fn scheduled_rotation_walks_the_lifecycle(backend: Backend) {
    let (store, db) = test_store(backend).await;
    let service = KeyService::new(store, Kek::generate(), policy(), "solo".into(), Duration::seconds(30));
    service.rotate_if_due(T0).await.expect("bootstrap");
    let first = service.load(None).await.expect("load");
    let old = first.active_kid(Algorithm::Es256).expect("active").to_owned();

    let stage_at = T0 + Duration::days(30) - Duration::hours(2);
    service.rotate_if_due(stage_at).await.expect("stage");
    let staged = service.load(None).await.expect("load");
    assert_eq!(staged.active_kid(Algorithm::Es256), Some(old.as_str()), "staged keys do not sign");

    service.rotate_if_due(stage_at + Duration::hours(2)).await.expect("activate");
    let rotated = service.load(None).await.expect("load");
    let new = rotated.active_kid(Algorithm::Es256).expect("active").to_owned();
    assert_ne!(new, old);
    let jwks: serde_json::Value = serde_json::from_slice(&rotated.jwks()).expect("json");
    assert!(
        jwks["keys"].as_array().expect("keys").iter().any(|k| k["kid"] == old.as_str()),
        "retired stays published"
    );

    service.rotate_if_due(stage_at + Duration::hours(2) + Duration::hours(25)).await.expect("remove");
    assert_eq!(db.count(&format!("SELECT kid FROM signing_keys WHERE kid = '{old}'")).await, 0);
    assert_eq!(db.count("SELECT kid FROM signing_keys").await, 2);
}

both_backends!(two_instances_due_together_create_exactly_one_key, scheduled_rotation_walks_the_lifecycle);
