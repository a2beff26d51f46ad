//! Pushed authorization requests (RFC 9126): the client posts the
//! authorization request's parameters to `/par` (authenticated as at the
//! token endpoint), they are checked by the same rules as at `/authorize`
//! ([`validate`]) and kept for a short time ([`ProtocolConfig::pushed_request_ttl`]);
//! the browser then comes to `/authorize` with only `client_id` and the
//! `request_uri` that names them, which is used once.
//!
//! Pushed requests are kept beside pending ones (`auth_requests`), under a
//! key that is never a pending request's id (`par:` is not alphanumeric,
//! see [`super::is_request_id`]) and is the hash of the reference, not the
//! reference itself.
//!
//! [`ProtocolConfig::pushed_request_ttl`]: crate::ProtocolConfig::pushed_request_ttl

use portcullis_store::AuthRequestRow;

use super::{AuthorizeParams, RuleError, validate};
use crate::context::{Ctx, ProtocolError, reject};
use crate::tokens::{new_secret, secret_hash};
use crate::{Client, OAuthError};

/// The prefix of the `request_uri` of a pushed request (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The answer of `/par` (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushedRequest {
    /// `urn:ietf:params:oauth:request_uri:` and 256 random bits.
    pub request_uri: String,
    /// Seconds it may be used in.
    pub expires_in: i64,
}

/// The key a pushed request is stored under.
fn stored_id(reference: &str) -> String {
    format!("par:{}", secret_hash(reference))
}

/// What RFC 9126 §2.1 adds to the rules of an authorization request: a
/// pushed request is not itself a reference (`request_uri` is refused),
/// and a `client_id` it names is the client that authenticated.
pub fn check_pushed(params: &AuthorizeParams, client: &Client) -> Result<(), RuleError> {
    if params.request_uri.is_some() {
        return Err((OAuthError::InvalidRequest, "a pushed request may not carry request_uri"));
    }
    if params.client_id.as_deref().is_some_and(|id| id != client.client_id.as_str()) {
        return Err((OAuthError::InvalidRequest, "client_id differs from the authenticated client"));
    }
    Ok(())
}

/// `/par` for the authenticated `client`: the request checked by every
/// rule of `/authorize` ([`validate`]) and stored for
/// `config.pushed_request_ttl`. A refusal is the rule's OAuth error (sent
/// as JSON, never to the redirect URI).
#[tracing::instrument(skip_all, fields(client_id = %client.client_id))]
pub async fn push(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &AuthorizeParams,
) -> Result<PushedRequest, ProtocolError> {
    if let Err((error, description)) = check_pushed(params, client) {
        return reject(error, description);
    }
    let params = AuthorizeParams { client_id: Some(client.client_id.as_str().to_owned()), ..params.clone() };
    if let Err(e) = validate(&params, Some(client), &ctx.config.resources) {
        // A redirect URI that is not registered is a malformed request
        // here (RFC 9126 §2.3): there is no page to show it on.
        let error =
            if e.error == OAuthError::InvalidRedirectUri { OAuthError::InvalidRequest } else { e.error };
        return reject(error, e.description);
    }
    let Ok(raw) = serde_json::to_string(&params) else {
        return reject(OAuthError::InvalidRequest, "the request cannot be stored");
    };
    let reference = new_secret();
    let ttl = ctx.config.pushed_request_ttl;
    let row = AuthRequestRow {
        id: stored_id(&reference),
        client_id: client.client_id.as_str().to_owned(),
        request: raw,
        created_at: ctx.now,
        expires_at: ctx.now + ttl,
    };
    ctx.requests.create_auth_request(&row).await?;
    Ok(PushedRequest {
        request_uri: format!("{REQUEST_URI_PREFIX}{reference}"),
        expires_in: ttl.whole_seconds(),
    })
}

/// The parameters of the pushed request `request_uri`, taken: whatever
/// the outcome it cannot be used again (RFC 9126 §4 one-time use). `None`
/// when it is unknown, already used, expired, or pushed by another client
/// than `client_id` — an error page, never a redirect.
#[tracing::instrument(skip_all, fields(client_id = %client_id))]
pub async fn take_pushed(
    ctx: &Ctx<'_>,
    client_id: &str,
    request_uri: &str,
) -> Result<Option<AuthorizeParams>, ProtocolError> {
    let Some(reference) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else { return Ok(None) };
    if reference.is_empty() || reference.len() > 128 {
        return Ok(None);
    }
    let Some(row) = ctx.requests.take_auth_request(&stored_id(reference)).await? else { return Ok(None) };
    if row.client_id != client_id || ctx.now >= row.expires_at {
        return Ok(None);
    }
    Ok(serde_json::from_str(&row.request).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::confidential;

    #[test]
    fn a_pushed_request_is_not_a_reference_and_names_its_client() {
        let client = confidential();
        assert!(check_pushed(&AuthorizeParams::default(), &client).is_ok());
        let own = AuthorizeParams { client_id: Some(client.client_id.as_str().into()), ..Default::default() };
        assert!(check_pushed(&own, &client).is_ok());
        for bad in [
            AuthorizeParams { request_uri: Some(format!("{REQUEST_URI_PREFIX}x")), ..Default::default() },
            AuthorizeParams { client_id: Some("someone-else".into()), ..Default::default() },
        ] {
            assert_eq!(check_pushed(&bad, &client).expect_err("refused").0, OAuthError::InvalidRequest);
        }
    }

    #[test]
    fn a_stored_key_is_never_a_pending_request_id() {
        let id = stored_id("abc");
        assert!(!super::super::is_request_id(&id));
        assert_ne!(stored_id("abc"), stored_id("abd"));
        assert!(!id.contains("abc"), "the reference itself is not stored");
    }
}
