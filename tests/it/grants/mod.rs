//! The protocol's storage (authorization requests, consents, grants, codes,
//! refresh tokens, JWT ids, session ends and the back-channel logout queue),
//! on both backends.

mod devices;
mod logout;
mod repos;

use portcullis_store::{ClientRecord, CodeRow, GrantRow, NewUser, RefreshTokenRow, Session, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The instant the fixtures start at (whole seconds, as stored).
pub(crate) const T0: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

/// Creates a user; returns its id.
pub(crate) async fn user(store: &dyn Store, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    store
        .create_user(&NewUser {
            id,
            username: name.into(),
            email: format!("{name}@example.com"),
            email_verified: true,
            display_name: None,
            roles: vec![],
            password_hash: None,
            created_at: T0,
        })
        .await
        .expect("create user");
    id
}

/// Creates a confidential client, with a back-channel logout URI or not.
pub(crate) async fn client(store: &dyn Store, client_id: &str, backchannel: bool) {
    store
        .create_client(&ClientRecord {
            client_id: client_id.into(),
            name: client_id.into(),
            client_secret_sha256: Some("ab".repeat(32)),
            redirect_uris: vec![format!("https://{client_id}.example/cb")],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: vec!["openid".into(), "offline_access".into()],
            require_consent: true,
            backchannel_logout_uri: backchannel.then(|| format!("https://{client_id}.example/bcl")),
            jwks: None,
            id_token_signed_response_alg: "RS256".into(),
            access_token_ttl_secs: 300,
            from_config: false,
            previous_secret_sha256: None,
            previous_secret_expires_at: None,
            disabled: false,
            admin_api: false,
            allowed_origins: vec![],
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            resources: vec![],
            created_at: T0,
            updated_at: T0,
        })
        .await
        .expect("create client");
}

/// A live grant (30 days) of `client_id` to `user_id`, from session `sid`.
pub(crate) fn grant(
    id: &str,
    client_id: &str,
    user_id: Uuid,
    sid: Option<&str>,
    session_bound: bool,
) -> GrantRow {
    GrantRow {
        id: id.into(),
        client_id: client_id.into(),
        user_id,
        sid: sid.map(Into::into),
        session_bound,
        scopes: vec!["openid".into(), "profile".into()],
        auth_time: T0 - Duration::minutes(1),
        amr: vec!["pwd".into(), "otp".into()],
        acr: Some("urn:example:mfa".into()),
        created_at: T0,
        expires_at: T0 + Duration::days(30),
        revoked_at: None,
        resources: vec![],
    }
}

/// A fresh code (60 s) for `grant`.
pub(crate) fn code(code_hash: &str, grant: &GrantRow) -> CodeRow {
    CodeRow {
        code_hash: code_hash.into(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        redirect_uri: format!("https://{}.example/cb", grant.client_id),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        created_at: T0,
        expires_at: T0 + Duration::seconds(60),
        consumed_at: None,
    }
}

/// A fresh refresh token (14 days) of `grant`.
pub(crate) fn refresh(token_hash: &str, grant: &GrantRow, created_at: OffsetDateTime) -> RefreshTokenRow {
    RefreshTokenRow {
        token_hash: token_hash.into(),
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        scopes: vec!["openid".into()],
        created_at,
        expires_at: created_at + Duration::days(14),
        rotated_at: None,
        dpop_jkt: None,
    }
}

/// A signed-in session (or an anonymous one, without a user).
pub(crate) fn session(id_hash: &str, sid: &str, user_id: Option<Uuid>) -> Session {
    Session {
        id_hash: id_hash.into(),
        sid: sid.into(),
        csrf_token: format!("csrf-{id_hash}"),
        user_id,
        auth_time: user_id.map(|_| T0),
        amr: if user_id.is_some() { vec!["pwd".into()] } else { vec![] },
        acr: None,
        upstream_id: None,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("test".into()),
        created_at: T0,
        last_seen_at: T0,
    }
}
