//! One function per authorization-request rule, called in order by
//! [`super::validate`].

use super::{AuthorizeError, AuthorizeParams, Prompt, RuleError, check_client_id};
use crate::{Client, CodeChallenge, GrantType, OAuthError, RedirectUri, ResourceId, Resources, ScopeSet};

/// The client exists and is the one named by `client_id`; otherwise an error page.
pub fn check_client<'c>(
    params: &AuthorizeParams,
    client: Option<&'c Client>,
) -> Result<&'c Client, AuthorizeError> {
    let id = check_client_id(params)?;
    match client {
        Some(c) if c.client_id == id => Ok(c),
        _ => Err(AuthorizeError::page(OAuthError::InvalidClient, "unknown client")),
    }
}

/// `redirect_uri` is present and equals a registered one as a string; for
/// public (native) clients a loopback URI may use any port (RFC 8252 §7.3).
/// Otherwise an error page: never redirect to an unverified URI.
pub fn check_redirect_uri(params: &AuthorizeParams, client: &Client) -> Result<RedirectUri, AuthorizeError> {
    let page = |d| AuthorizeError::page(OAuthError::InvalidRedirectUri, d);
    let raw = params.redirect_uri.as_deref().ok_or_else(|| page("redirect_uri is required"))?;
    let requested = RedirectUri::parse(raw).map_err(|_| page("redirect_uri is malformed"))?;
    let exact = client.redirect_uris.iter().any(|r| r.as_str() == requested.as_str());
    let loopback =
        client.is_public() && client.redirect_uris.iter().any(|r| r.matches_loopback_any_port(&requested));
    if exact || loopback { Ok(requested) } else { Err(page("redirect_uri is not registered")) }
}

/// `request` and `claims` are not supported (OIDC Core §6, §5.5), nor is
/// `request_uri` other than a pushed request's (which `/authorize` takes
/// before the checks, and a pushed request may not carry, RFC 9126 §2.1).
pub fn check_request_objects(params: &AuthorizeParams) -> Result<(), RuleError> {
    if params.request.is_some() {
        return Err((OAuthError::RequestNotSupported, "the request parameter is not supported"));
    }
    if params.request_uri.is_some() {
        return Err((OAuthError::RequestUriNotSupported, "the request_uri parameter is not supported"));
    }
    if params.claims.is_some() {
        return Err((OAuthError::RequestNotSupported, "the claims parameter is not supported"));
    }
    Ok(())
}

/// `response_type` is exactly `code`; anything else is `unsupported_response_type`.
pub fn check_response_type(params: &AuthorizeParams) -> Result<(), RuleError> {
    match params.response_type.as_deref() {
        None | Some("") => Err((OAuthError::InvalidRequest, "response_type is required")),
        Some("code") => Ok(()),
        Some(_) => Err((OAuthError::UnsupportedResponseType, "only response_type=code is supported")),
    }
}

/// The client is registered for the `authorization_code` grant.
pub fn check_client_grant(client: &Client) -> Result<(), RuleError> {
    if client.allows_grant(GrantType::AuthorizationCode) {
        Ok(())
    } else {
        Err((OAuthError::UnauthorizedClient, "the client may not use the authorization code grant"))
    }
}

/// PKCE with S256 is required for every client; `plain` (and an absent
/// method, which means `plain`, RFC 7636 §4.3) is refused; the challenge is 43 base64url characters.
pub fn check_pkce(params: &AuthorizeParams) -> Result<CodeChallenge, RuleError> {
    let challenge =
        params.code_challenge.as_deref().ok_or((OAuthError::InvalidRequest, "code_challenge is required"))?;
    match params.code_challenge_method.as_deref() {
        Some("S256") => {}
        None => return Err((OAuthError::InvalidRequest, "code_challenge_method=S256 is required")),
        Some(_) => return Err((OAuthError::InvalidRequest, "only code_challenge_method=S256 is supported")),
    }
    CodeChallenge::parse_s256(challenge)
        .map_err(|_| (OAuthError::InvalidRequest, "code_challenge is malformed"))
}

/// `scope` is present, well formed and a subset of the client's scopes.
pub fn check_scope(params: &AuthorizeParams, client: &Client) -> Result<ScopeSet, RuleError> {
    allowed_scopes(params.scope.as_deref(), client)
}

/// The rule of [`check_scope`] over a raw `scope` (also what a device asks
/// for at the device authorization endpoint).
pub fn allowed_scopes(raw: Option<&str>, client: &Client) -> Result<ScopeSet, RuleError> {
    let raw = raw.unwrap_or("");
    let scopes = ScopeSet::parse(raw).map_err(|_| (OAuthError::InvalidScope, "scope is malformed"))?;
    if scopes.is_empty() {
        return Err((OAuthError::InvalidScope, "scope is required"));
    }
    if !scopes.is_subset(&client.scopes) {
        return Err((OAuthError::InvalidScope, "scope exceeds what the client may request"));
    }
    // A user's token never carries the admin API's power.
    if scopes.contains(crate::grants::client_credentials::ADMIN_SCOPE) {
        return Err((OAuthError::InvalidScope, "the admin scope is granted only to admin_api clients"));
    }
    Ok(scopes)
}

/// `prompt`, a space-delimited list (OIDC Core §3.1.2.1), holds only
/// `none`, `login`, `consent`, `select_account`, and `none` stands alone.
/// A doubled, leading or trailing space delimits no value: empty items are
/// skipped, not refused.
pub fn check_prompt(params: &AuthorizeParams) -> Result<Prompt, RuleError> {
    let mut prompt = Prompt::default();
    let Some(raw) = params.prompt.as_deref() else {
        return Ok(prompt);
    };
    let mut count = 0;
    for value in raw.split(' ').filter(|v| !v.is_empty()) {
        count += 1;
        match value {
            "none" => prompt.none = true,
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => return Err((OAuthError::InvalidRequest, "prompt has an unknown value")),
        }
    }
    if prompt.none && count > 1 {
        return Err((OAuthError::InvalidRequest, "prompt=none cannot be combined with other values"));
    }
    Ok(prompt)
}

/// `max_age`, when present, is a non-negative integer of seconds.
pub fn check_max_age(params: &AuthorizeParams) -> Result<Option<u64>, RuleError> {
    match params.max_age.as_deref() {
        None => Ok(None),
        Some(raw) if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) => {
            raw.parse().map(Some).map_err(|_| (OAuthError::InvalidRequest, "max_age is too large"))
        }
        Some(_) => Err((OAuthError::InvalidRequest, "max_age must be a non-negative integer")),
    }
}

/// Every `resource` (RFC 8707 §2) is an absolute URI without a fragment,
/// names a configured resource server and one the client may ask for;
/// `invalid_target` otherwise. Each is kept once, in order.
pub fn check_resources(
    params: &AuthorizeParams,
    client: &Client,
    resources: &Resources,
) -> Result<Vec<ResourceId>, RuleError> {
    crate::resource::check_resources(&params.resource, client, resources)
}

/// A client registered with `require_pushed_authorization_requests` sends
/// its requests through the pushed authorization request endpoint only
/// (RFC 9126 §5): `/authorize` takes them by `request_uri`.
pub fn check_pushed_required(client: &Client, pushed: bool) -> Result<(), RuleError> {
    if client.require_pushed_authorization_requests && !pushed {
        return Err((OAuthError::InvalidRequest, "this client must push its authorization requests (PAR)"));
    }
    Ok(())
}
