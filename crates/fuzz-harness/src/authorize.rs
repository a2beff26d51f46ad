//! `/authorize`: the query (GET) or form (POST) → `AuthorizeParams` →
//! `check_client_id` → the client looked up by that id → `validate`, as
//! `web::routes::oidc::authorize::start` does; then what the endpoint does
//! with the outcome: an accepted request is stored as JSON and validated
//! again on resume, and every answer is a redirect built on the verified URI.

use portcullis_protocol::authorize::{AuthorizeParams, check_client_id, validate};
use portcullis_protocol::{Client, RedirectUri, Resources};

use crate::Outcome;
use crate::fixtures::fixtures;

/// Runs one `/authorize` request (query string or form body).
pub fn authorize_query(data: &[u8]) -> Outcome {
    // The endpoint reads the query or form with `AuthorizeParams::from_urlencoded`.
    let Ok(params) = AuthorizeParams::from_urlencoded(data) else {
        return Outcome::Rejected;
    };
    let f = fixtures();
    let resources = Resources::default();

    // Without a client nothing is accepted, and nothing is redirected.
    let unknown = validate(&params, None, &resources);
    assert!(matches!(&unknown, Err(e) if e.redirect.is_none()), "validated without a client: {unknown:?}");

    let id = match check_client_id(&params) {
        Ok(id) => id,
        Err(e) => {
            assert!(e.redirect.is_none(), "redirected before the client was known: {e:?}");
            return Outcome::Rejected;
        }
    };
    // A client other than the one named is never accepted nor redirected to.
    for other in f.clients.iter().filter(|c| c.client_id != id) {
        let result = validate(&params, Some(other), &resources);
        assert!(
            matches!(&result, Err(e) if e.redirect.is_none()),
            "validated for {}: {result:?}",
            other.client_id
        );
    }

    let client = f.client(id.as_str());
    match validate(&params, client, &resources) {
        Err(e) => {
            if let Some(target) = &e.redirect {
                let client = client.expect("an error with a redirect has a verified client");
                assert!(registered(client, &target.redirect_uri), "error sent to {}", target.redirect_uri);
                if e.may_redirect() {
                    let pairs = [("error", e.error.code()), ("error_description", e.description)];
                    redirect(&target.redirect_uri, target.state.as_deref(), &pairs);
                }
            }
            Outcome::Rejected
        }
        Ok(request) => {
            let client = client.expect("an accepted request has a client");
            assert!(registered(client, &request.redirect_uri), "code sent to {}", request.redirect_uri);
            assert!(!request.scopes.is_empty() && request.scopes.is_subset(&client.scopes));
            // Stored as pending (JSON), read back and validated again on resume.
            let stored = serde_json::to_string(&params).expect("parameters serialise");
            let resumed: AuthorizeParams = serde_json::from_str(&stored).expect("stored parameters parse");
            assert_eq!(resumed, params, "the stored request differs");
            assert_eq!(
                validate(&resumed, Some(client), &resources),
                Ok(request.clone()),
                "resuming changes the request"
            );
            redirect(&request.redirect_uri, request.state.as_deref(), &[("code", "SplxlOBeZQQYbYS6WxSbIA")]);
            Outcome::Accepted
        }
    }
}

/// Whether `uri` is one `client` registered (exactly, or a loopback URI on
/// another port for a public client, RFC 8252 §7.3).
fn registered(client: &Client, uri: &RedirectUri) -> bool {
    client
        .redirect_uris
        .iter()
        .any(|r| r.as_str() == uri.as_str() || client.is_public() && r.matches_loopback_any_port(uri))
}

/// The authorization response as the web crate's `respond` builds it: the
/// verified redirect URI with `pairs`, `state` and `iss` appended to its
/// query. The client must get its `state` back exactly.
fn redirect(redirect_uri: &RedirectUri, state: Option<&str>, pairs: &[(&str, &str)]) {
    let mut url = redirect_uri.url().clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(s) = state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", crate::fixtures::ISSUER);
    }
    let back: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let tail = &back[back.len().saturating_sub(pairs.len() + usize::from(state.is_some()) + 1)..];
    let mut expected: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    if let Some(s) = state {
        expected.push(("state".into(), s.to_owned()));
    }
    expected.push(("iss".into(), crate::fixtures::ISSUER.to_owned()));
    assert_eq!(tail, expected.as_slice(), "the redirect does not carry the parameters back: {url}");
}
