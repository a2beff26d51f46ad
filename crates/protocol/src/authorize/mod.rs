//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): raw
//! parameters in, a typed [`AuthorizationRequest`] or an [`AuthorizeError`] out.
//!
//! [`validate`] calls one `check_*` per rule, in order. Until the client and
//! the redirect URI are verified, errors carry no redirect target and must be
//! shown on a page (RFC 6749 §4.1.2.1); afterwards they go to the redirect URI.

mod checks;
mod form;
mod front;
mod pending;
mod pushed;
mod start;
#[cfg(test)]
mod tests;

pub use front::{ConsentPrompt, Resumed, authorize, consent_prompt, decide, resume_request};
pub use pending::{
    Next, Pending, consent, error_url, is_request_id, load_pending, response_url, resume, store_pending,
};
pub use pushed::{PushedRequest, REQUEST_URI_PREFIX, check_pushed, push, take_pushed};
pub use start::{Refused, start};

pub use checks::{
    allowed_scopes, check_client, check_client_grant, check_max_age, check_pkce, check_prompt,
    check_pushed_required, check_redirect_uri, check_request_objects, check_resources, check_response_type,
    check_scope,
};

use crate::{Client, ClientId, CodeChallenge, OAuthError, RedirectUri, ResourceId, Resources, ScopeSet};

/// The raw query or form parameters of `/authorize`, as received. Also what
/// a pending request stores: resuming it re-runs [`validate`], so a client
/// changed or removed meanwhile is noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizeParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`, copied into the ID token.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age`.
    pub max_age: Option<String>,
    /// `login_hint` (tolerated).
    pub login_hint: Option<String>,
    /// `acr_values` (tolerated).
    pub acr_values: Option<String>,
    /// `ui_locales` (tolerated).
    pub ui_locales: Option<String>,
    /// `request` (refused).
    pub request: Option<String>,
    /// `request_uri` (refused).
    pub request_uri: Option<String>,
    /// `claims` (refused).
    pub claims: Option<String>,
    /// `resource` (RFC 8707), each value given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
}

/// The `prompt` values (OIDC Core §3.1.2.1). `select_account` acts as `login`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no interaction at all; fail instead.
    pub none: bool,
    /// `login` (or `select_account`): sign in again.
    pub login: bool,
    /// `consent`: ask for consent again.
    pub consent: bool,
}

/// A verified authorization request, ready for the sign-in seam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The verified client.
    pub client_id: ClientId,
    /// The verified redirect URI, exactly as requested.
    pub redirect_uri: RedirectUri,
    /// The granted-to-ask scopes (a subset of the client's).
    pub scopes: ScopeSet,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// The S256 challenge.
    pub code_challenge: CodeChallenge,
    /// The prompt values.
    pub prompt: Prompt,
    /// Maximum authentication age in seconds.
    pub max_age: Option<u64>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `acr_values`, split on spaces.
    pub acr_values: Vec<String>,
    /// `ui_locales`, split on spaces.
    pub ui_locales: Vec<String>,
    /// The resource servers (RFC 8707) the tokens of this authorization
    /// may be for, each once.
    pub resources: Vec<ResourceId>,
}

impl AuthorizationRequest {
    /// An OpenID Connect request (scope `openid`), as opposed to plain OAuth.
    pub fn is_oidc(&self) -> bool {
        self.scopes.is_oidc()
    }
}

/// Where a redirectable error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The verified redirect URI.
    pub redirect_uri: RedirectUri,
    /// `state` to echo back.
    pub state: Option<String>,
}

/// A refused authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeError {
    /// The RFC error code.
    pub error: OAuthError,
    /// A fixed description of the rule that failed (no user input echoed).
    pub description: &'static str,
    /// Where to send it, only once the client and redirect URI are verified.
    pub redirect: Option<Box<ErrorRedirect>>,
}

impl AuthorizeError {
    /// An error shown on a page (client or redirect URI not verified).
    pub fn page(error: OAuthError, description: &'static str) -> Self {
        Self { error, description, redirect: None }
    }

    /// Whether this error may be sent to the redirect URI.
    pub fn may_redirect(&self) -> bool {
        self.redirect.is_some() && self.error.may_redirect()
    }
}

/// A rule failure after the redirect URI is verified: code and description.
pub type RuleError = (OAuthError, &'static str);

/// Runs every check in order: the one list of rules of an authorization
/// request, whether it comes to `/authorize` or is pushed (`/par`).
/// `client` is what the store holds for `params.client_id` (the caller
/// looks it up after [`check_client_id`]); `resources` are the configured
/// resource servers.
#[tracing::instrument(skip_all, fields(client_id = ?params.client_id))]
pub fn validate(
    params: &AuthorizeParams,
    client: Option<&Client>,
    resources: &Resources,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client = check_client(params, client)?;
    let redirect_uri = check_redirect_uri(params, client)?;
    let redirect = |(error, description): RuleError| AuthorizeError {
        error,
        description,
        redirect: Some(Box::new(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: params.state.clone(),
        })),
    };
    check_request_objects(params).map_err(redirect)?;
    check_response_type(params).map_err(redirect)?;
    check_client_grant(client).map_err(redirect)?;
    let code_challenge = check_pkce(params).map_err(redirect)?;
    let scopes = check_scope(params, client).map_err(redirect)?;
    let prompt = check_prompt(params).map_err(redirect)?;
    let max_age = check_max_age(params).map_err(redirect)?;
    let resources = check_resources(params, client, resources).map_err(redirect)?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scopes,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
        acr_values: split(params.acr_values.as_deref()),
        ui_locales: split(params.ui_locales.as_deref()),
        resources,
    })
}

/// Parses `client_id` so the caller can look the client up; a page error if absent or malformed.
pub fn check_client_id(params: &AuthorizeParams) -> Result<ClientId, AuthorizeError> {
    let raw = params
        .client_id
        .as_deref()
        .ok_or_else(|| AuthorizeError::page(OAuthError::InvalidRequest, "client_id is required"))?;
    ClientId::parse(raw).map_err(|_| AuthorizeError::page(OAuthError::InvalidClient, "unknown client"))
}

fn split(s: Option<&str>) -> Vec<String> {
    s.map(|s| s.split(' ').filter(|t| !t.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}
