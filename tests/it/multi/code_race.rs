//! Acceptance 5 of issue 18: 20 concurrent redemptions of one authorization
//! code spread over both instances: exactly one succeeds, and the second
//! use revokes the grant (RFC 9700 §4.5.3.1): the winner's access and
//! refresh tokens are refused on both instances.

use portcullis_tests::oidc::Browser;
use portcullis_tests::{Backend, both_backends};

use super::{active, code_at, field, pair, redeem, refresh, userinfo};

const RACERS: usize = 20;

async fn one_code_raced_over_both_instances_is_redeemed_once(backend: Backend) {
    let cluster = pair(backend).await;
    let browser = Browser::at(&cluster.proxy.address);
    let (code, verifier) = code_at(&cluster.proxy.address, &browser, "alice").await;

    let races = (0..RACERS).map(|i| redeem(&cluster.apps[i % 2], &code, &verifier));
    let results = futures_util::future::join_all(races).await;
    let winners: Vec<_> = results.iter().filter(|(status, _)| *status == 200).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != 200) {
        assert_eq!((*status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }

    let tokens = &winners[0].1;
    let (access, refresh_token) = (field(tokens, "access_token"), field(tokens, "refresh_token"));
    for app in &cluster.apps {
        assert_eq!(userinfo(app, &access).await, 401, "the grant was revoked");
        assert!(!active(app, &access).await);
        let (status, body) = refresh(app, &refresh_token).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }
}

both_backends!(one_code_raced_over_both_instances_is_redeemed_once);
