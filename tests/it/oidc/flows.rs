//! Acceptance 1: full flows with the `openidconnect` crate as the relying
//! party — code + PKCE + nonce, ID-token validation against the JWKS,
//! userinfo, refresh — for a confidential and a public client.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use portcullis_tests::oidc::{
    Browser, ClientSpec, Interact, Outcome, create_client, create_user, spawn_oidc_app,
};
use portcullis_tests::{Backend, both_backends};

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn code_flow_with_pkce_nonce_userinfo_and_refresh(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let alice = create_user(&app, "alice", &["staff"]).await;
    let redirect = "http://127.0.0.1:9/cb";
    let secret = create_client(&app, ClientSpec::confidential("webapp", redirect)).await.expect("secret");
    let http = http();

    let issuer = IssuerUrl::new(app.address.clone()).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("webapp".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.into()).expect("redirect"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("roles".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let back = Browser::new(&app).authorize(url.as_str(), Interact::As("alice")).await.redirect();
    assert!(back.as_str().starts_with(redirect), "{back}");
    assert_eq!(Outcome::param(&back, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(Outcome::param(&back, "iss").as_deref(), Some(app.address.as_str()), "RFC 9207 iss");
    let code = Outcome::param(&back, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("the ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), alice.id.to_string());
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert!(claims.auth_time().is_some());
    let amr: Vec<String> =
        claims.auth_method_refs().expect("amr").iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(amr, ["pwd"]);
    assert_eq!(claims.authorized_party().map(|a| a.as_str()), Some("webapp"));
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&expected_hash), "at_hash");

    let header = jsonwebtoken::decode_header(tokens.access_token().secret()).expect("a JWT access token");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret(), "rotated on use");
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
    let again: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo with the refreshed token");
    assert_eq!(again.subject().as_str(), alice.id.to_string());
    let refreshed_id = refreshed.id_token().expect("an ID token on refresh");
    let refreshed_claims =
        refreshed_id.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("the refreshed ID token verifies");
    assert_eq!(refreshed_claims.auth_time(), claims.auth_time(), "refresh keeps auth_time");
}

async fn public_client_with_a_loopback_redirect_on_any_port(backend: Backend) {
    let app = spawn_oidc_app(backend).await;
    let bob = create_user(&app, "bob", &[]).await;
    create_client(&app, ClientSpec::public("cli", "http://127.0.0.1/callback")).await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).expect("issuer"), &http)
            .await
            .expect("discovery");
    // RFC 8252 §7.3: a native app listens on an ephemeral port.
    let redirect = "http://127.0.0.1:53123/callback";
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new("cli".into()), None)
        .set_redirect_uri(RedirectUrl::new(redirect.into()).expect("redirect"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = Browser::new(&app).authorize(url.as_str(), Interact::As("bob")).await.redirect();
    assert!(back.as_str().starts_with(redirect), "{back}");
    let code = Outcome::param(&back, "code").expect("code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("a public client redeems with PKCE alone");
    let claims =
        tokens.id_token().expect("id token").claims(&client.id_token_verifier(), &nonce).expect("verifies");
    assert_eq!(claims.subject().as_str(), bob.id.to_string());
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("a public client refreshes");
    assert!(refreshed.refresh_token().is_some());
}

both_backends!(
    code_flow_with_pkce_nonce_userinfo_and_refresh,
    public_client_with_a_loopback_redirect_on_any_port
);
