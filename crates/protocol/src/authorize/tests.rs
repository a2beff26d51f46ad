use super::*;
use crate::GrantType;
use crate::client::tests::{confidential, public};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params() -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some("rp".into()),
        redirect_uri: Some("https://rp.example/cb".into()),
        response_type: Some("code".into()),
        scope: Some("openid email".into()),
        state: Some("st".into()),
        nonce: Some("n".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        ..AuthorizeParams::default()
    }
}

fn refused(p: &AuthorizeParams) -> AuthorizeError {
    validate(p, Some(&confidential()), &Resources::default()).expect_err("must be refused")
}

fn assert_redirected(err: &AuthorizeError, code: OAuthError) {
    assert_eq!(err.error, code, "{err:?}");
    assert!(err.may_redirect(), "{err:?}");
    let target = err.redirect.as_ref().expect("redirect target");
    assert_eq!(target.redirect_uri.as_str(), "https://rp.example/cb");
    assert_eq!(target.state.as_deref(), Some("st"));
}

fn assert_page(err: &AuthorizeError, code: OAuthError) {
    assert_eq!(err.error, code, "{err:?}");
    assert!(!err.may_redirect(), "{err:?}");
    assert!(err.redirect.is_none());
}

#[test]
fn a_valid_request_is_typed() {
    let req = validate(&params(), Some(&confidential()), &Resources::default()).expect("valid");
    assert_eq!(req.client_id.as_str(), "rp");
    assert_eq!(req.redirect_uri.as_str(), "https://rp.example/cb");
    assert_eq!(req.scopes.to_string(), "email openid");
    assert!(req.is_oidc());
    assert_eq!(req.code_challenge.as_str(), CHALLENGE);
    assert_eq!(req.state.as_deref(), Some("st"));
    assert_eq!(req.nonce.as_deref(), Some("n"));
    assert_eq!(req.prompt, Prompt::default());
    assert_eq!(req.max_age, None);
}

#[test]
fn plain_oauth_without_openid_is_allowed() {
    let p = AuthorizeParams { scope: Some("email".into()), ..params() };
    assert!(!validate(&p, Some(&confidential()), &Resources::default()).expect("valid").is_oidc());
}

#[test]
fn tolerated_parameters_are_carried() {
    let p = AuthorizeParams {
        login_hint: Some("alice".into()),
        acr_values: Some("urn:a urn:b".into()),
        ui_locales: Some("fr en".into()),
        ..params()
    };
    let req = validate(&p, Some(&confidential()), &Resources::default()).expect("valid");
    assert_eq!(req.login_hint.as_deref(), Some("alice"));
    assert_eq!(req.acr_values, ["urn:a", "urn:b"]);
    assert_eq!(req.ui_locales, ["fr", "en"]);
}

// check_client
#[test]
fn missing_or_unknown_client_is_a_page() {
    assert_page(&refused(&AuthorizeParams { client_id: None, ..params() }), OAuthError::InvalidRequest);
    assert_page(
        &refused(&AuthorizeParams { client_id: Some("other".into()), ..params() }),
        OAuthError::InvalidClient,
    );
    assert_page(
        &refused(&AuthorizeParams { client_id: Some("bad id".into()), ..params() }),
        OAuthError::InvalidClient,
    );
    assert_page(
        &validate(&params(), None, &Resources::default()).expect_err("no client"),
        OAuthError::InvalidClient,
    );
}

// check_redirect_uri
#[test]
fn redirect_uri_mismatch_is_a_page_never_a_redirect() {
    for uri in [
        None,
        Some("https://rp.example/cb/"),
        Some("https://rp.example/cb?x=1"),
        Some("https://RP.example/cb"),
        Some("https://evil.example/cb"),
        Some("not a uri"),
        Some("https://rp.example/cb#f"),
    ] {
        let err = refused(&AuthorizeParams { redirect_uri: uri.map(Into::into), ..params() });
        assert_page(&err, OAuthError::InvalidRedirectUri);
    }
}

#[test]
fn redirect_uri_errors_win_over_later_rules() {
    let p = AuthorizeParams {
        redirect_uri: Some("https://evil.example/".into()),
        response_type: Some("token".into()),
        ..params()
    };
    assert_page(&refused(&p), OAuthError::InvalidRedirectUri);
}

fn native(uri: &str) -> AuthorizeParams {
    AuthorizeParams { client_id: Some("native".into()), redirect_uri: Some(uri.into()), ..params() }
}

#[test]
fn public_clients_may_use_any_loopback_port() {
    let client = public();
    assert!(validate(&native("http://127.0.0.1/cb"), Some(&client), &Resources::default()).is_ok());
    let req = validate(&native("http://127.0.0.1:50123/cb"), Some(&client), &Resources::default())
        .expect("any port");
    assert_eq!(req.redirect_uri.as_str(), "http://127.0.0.1:50123/cb");
    for bad in [
        "http://127.0.0.1:50123/other",
        "http://localhost:50123/cb",
        "http://[::1]:50123/cb",
        "https://127.0.0.1:5/cb",
    ] {
        assert_page(
            &validate(&native(bad), Some(&client), &Resources::default()).expect_err(bad),
            OAuthError::InvalidRedirectUri,
        );
    }
}

#[test]
fn ipv6_loopback_any_port() {
    let client =
        Client { redirect_uris: vec![RedirectUri::parse("http://[::1]/cb").expect("valid")], ..public() };
    assert!(validate(&native("http://[::1]:4711/cb"), Some(&client), &Resources::default()).is_ok());
}

#[test]
fn confidential_clients_get_no_loopback_port_leniency() {
    let client = Client {
        redirect_uris: vec![RedirectUri::parse("http://127.0.0.1/cb").expect("valid")],
        ..confidential()
    };
    let p = AuthorizeParams { redirect_uri: Some("http://127.0.0.1:9999/cb".into()), ..params() };
    assert_page(
        &validate(&p, Some(&client), &Resources::default()).expect_err("port differs"),
        OAuthError::InvalidRedirectUri,
    );
}

// check_request_objects
#[test]
fn request_objects_and_claims_are_refused() {
    let err = refused(&AuthorizeParams { request: Some("eyJ...".into()), ..params() });
    assert_redirected(&err, OAuthError::RequestNotSupported);
    let err = refused(&AuthorizeParams { request_uri: Some("https://rp.example/r".into()), ..params() });
    assert_redirected(&err, OAuthError::RequestUriNotSupported);
    let err = refused(&AuthorizeParams { claims: Some("{}".into()), ..params() });
    assert_redirected(&err, OAuthError::RequestNotSupported);
}

// check_response_type
#[test]
fn only_response_type_code_is_supported() {
    for rt in ["token", "id_token", "code id_token", "code token", "none", "CODE"] {
        let err = refused(&AuthorizeParams { response_type: Some(rt.into()), ..params() });
        assert_redirected(&err, OAuthError::UnsupportedResponseType);
    }
    assert_redirected(
        &refused(&AuthorizeParams { response_type: None, ..params() }),
        OAuthError::InvalidRequest,
    );
}

// check_client_grant
#[test]
fn clients_without_the_code_grant_are_unauthorized() {
    let client = Client { grant_types: vec![GrantType::ClientCredentials], ..confidential() };
    let err = validate(&params(), Some(&client), &Resources::default()).expect_err("no code grant");
    assert_redirected(&err, OAuthError::UnauthorizedClient);
}

// check_pkce
#[test]
fn pkce_s256_is_required() {
    assert_redirected(
        &refused(&AuthorizeParams { code_challenge: None, ..params() }),
        OAuthError::InvalidRequest,
    );
    assert_redirected(
        &refused(&AuthorizeParams { code_challenge_method: None, ..params() }),
        OAuthError::InvalidRequest,
    );
    for m in ["plain", "s256", "S512"] {
        let err = refused(&AuthorizeParams { code_challenge_method: Some(m.into()), ..params() });
        assert_redirected(&err, OAuthError::InvalidRequest);
    }
    for c in
        ["short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"]
    {
        let err = refused(&AuthorizeParams { code_challenge: Some(c.into()), ..params() });
        assert_redirected(&err, OAuthError::InvalidRequest);
    }
}

#[test]
fn pkce_is_required_for_public_clients_too() {
    let p = AuthorizeParams {
        code_challenge: None,
        code_challenge_method: None,
        ..native("http://127.0.0.1/cb")
    };
    let err = validate(&p, Some(&public()), &Resources::default()).expect_err("no pkce");
    assert_eq!(err.error, OAuthError::InvalidRequest);
    assert!(err.may_redirect());
}

// check_scope
#[test]
fn scope_must_be_a_subset_of_the_clients() {
    for s in [None, Some(""), Some("openid admin"), Some("openid  email"), Some("bad\"scope")] {
        let err = refused(&AuthorizeParams { scope: s.map(Into::into), ..params() });
        assert_redirected(&err, OAuthError::InvalidScope);
    }
}

// check_prompt
#[test]
fn prompt_values_are_parsed() {
    let prompt = |p: &str| {
        validate(
            &AuthorizeParams { prompt: Some(p.into()), ..params() },
            Some(&confidential()),
            &Resources::default(),
        )
    };
    assert_eq!(prompt("none").expect("valid").prompt, Prompt { none: true, ..Prompt::default() });
    assert_eq!(
        prompt("login consent").expect("valid").prompt,
        Prompt { login: true, consent: true, none: false }
    );
    assert_eq!(prompt("select_account").expect("valid").prompt, Prompt { login: true, ..Prompt::default() });
    assert_eq!(prompt("").expect("valid").prompt, Prompt::default());
    for bad in ["none login", "consent none", "bogus", "none  login"] {
        assert_redirected(&prompt(bad).expect_err(bad), OAuthError::InvalidRequest);
    }
}

#[test]
fn prompt_is_a_space_delimited_list_whatever_the_spacing() {
    let prompt = |p: &str| {
        validate(
            &AuthorizeParams { prompt: Some(p.into()), ..params() },
            Some(&confidential()),
            &Resources::default(),
        )
    };
    let both = Prompt { login: true, consent: true, none: false };
    for spaced in ["login  consent", "login consent ", " login consent", "login   consent  "] {
        assert_eq!(prompt(spaced).expect(spaced).prompt, both, "{spaced:?}");
    }
    assert_eq!(prompt("none ").expect("trailing space").prompt, Prompt { none: true, ..Prompt::default() });
    assert_eq!(prompt(" ").expect("only a space").prompt, Prompt::default());
}

// check_max_age
#[test]
fn max_age_is_a_non_negative_integer() {
    let max_age = |m: &str| {
        validate(
            &AuthorizeParams { max_age: Some(m.into()), ..params() },
            Some(&confidential()),
            &Resources::default(),
        )
    };
    assert_eq!(max_age("0").expect("valid").max_age, Some(0));
    assert_eq!(max_age("3600").expect("valid").max_age, Some(3600));
    for bad in ["-1", "", "1.5", "abc", "99999999999999999999999"] {
        assert_redirected(&max_age(bad).expect_err(bad), OAuthError::InvalidRequest);
    }
}

#[test]
fn descriptions_never_echo_input() {
    let err = refused(&AuthorizeParams { scope: Some("<script>".into()), ..params() });
    assert!(!err.description.contains("<script>"));
}

#[test]
fn resources_are_checked_with_the_other_rules_and_kept() {
    use crate::resource::Resource;
    let api = Resource {
        identifier: crate::ResourceId::parse("https://api.example/").expect("id"),
        scopes: ScopeSet::parse("read").expect("scopes"),
        access_token_ttl_secs: None,
        access_token_alg: None,
    };
    let resources = Resources::new(vec![api.clone()]).expect("resources");
    let client = Client { resources: vec![api.identifier.clone()], ..confidential() };
    let with =
        |r: &[&str]| AuthorizeParams { resource: r.iter().map(|s| (*s).to_owned()).collect(), ..params() };
    let req = validate(&with(&["https://api.example/", "https://api.example/"]), Some(&client), &resources)
        .expect("allowed");
    assert_eq!(req.resources, std::slice::from_ref(&api.identifier));
    assert!(validate(&params(), Some(&client), &resources).expect("none").resources.is_empty());
    for bad in ["https://other.example/", "https://api.example/#f", "relative"] {
        let err = validate(&with(&[bad]), Some(&client), &resources).expect_err(bad);
        assert_eq!(err.error, OAuthError::InvalidTarget, "{bad}");
        assert!(err.may_redirect(), "the redirect URI is verified: {bad}");
    }
    let not_allowed = validate(&with(&["https://api.example/"]), Some(&confidential()), &resources);
    assert_eq!(not_allowed.expect_err("not the client's").error, OAuthError::InvalidTarget);
}

#[test]
fn a_client_that_must_push_needs_a_pushed_request() {
    let strict = Client { require_pushed_authorization_requests: true, ..confidential() };
    assert_eq!(check_pushed_required(&strict, false).expect_err("not pushed").0, OAuthError::InvalidRequest);
    assert!(check_pushed_required(&strict, true).is_ok());
    assert!(check_pushed_required(&confidential(), false).is_ok());
}
