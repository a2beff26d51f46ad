//! RP-Initiated Logout 1.0 (the request checks) and Back-Channel Logout 1.0
//! (the logout token).

use portcullis_keys::TokenSigner;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use portcullis_store::Session;

use crate::access::client_for_page;
use crate::context::{Ctx, ProtocolError};
use crate::interaction::SignIns;
use crate::tokens::unix;
use crate::{Client, RedirectUri};

/// The raw parameters of `/end_session`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndSessionParams {
    /// A previously issued ID token naming the user and the client.
    pub id_token_hint: Option<String>,
    /// Where to send the browser afterwards (must be registered).
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed to the post-logout redirect URI.
    pub state: Option<String>,
    /// The client, when no hint names it.
    pub client_id: Option<String>,
    /// Tolerated.
    pub logout_hint: Option<String>,
    /// Tolerated.
    pub ui_locales: Option<String>,
}

/// A checked logout request (the default: nobody known, no redirect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSession {
    /// The client asking, when known.
    pub client: Option<Client>,
    /// Where to redirect afterwards (registered for that client, `state` appended).
    pub redirect: Option<url::Url>,
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_sub: Option<String>,
    /// The `sid` of a valid `id_token_hint`.
    pub hinted_sid: Option<String>,
}

/// Why a logout request cannot be honoured as asked; the user still gets a
/// page (and may sign out there), never a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSessionRefusal {
    /// The hint is not an ID token we issued.
    BadHint,
    /// `client_id` and the hint's audience disagree.
    ClientMismatch,
    /// The redirect URI is not registered for the client (or no client is known).
    UnregisteredRedirect,
}

/// Checks a logout request. An expired `id_token_hint` is accepted (it only
/// names who is asking); a redirect happens only to a URI registered for
/// the client.
#[tracing::instrument(skip_all)]
pub async fn check_end_session(
    ctx: &Ctx<'_>,
    params: &EndSessionParams,
) -> Result<Result<EndSession, EndSessionRefusal>, ProtocolError> {
    let mut hinted_client = None;
    let (mut hinted_sub, mut hinted_sid) = (None, None);
    if let Some(hint) = params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        let Ok(verified) = ctx.keys.verify_jwt(hint) else { return Ok(Err(EndSessionRefusal::BadHint)) };
        let claims = verified.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        if text("iss").as_deref() != Some(ctx.issuer.as_str()) || verified.typ.as_deref() == Some("at+jwt") {
            return Ok(Err(EndSessionRefusal::BadHint));
        }
        hinted_client = match claims.get("aud") {
            Some(Value::String(a)) => Some(a.clone()),
            Some(Value::Array(list)) => {
                text("azp").or_else(|| list.first().and_then(Value::as_str).map(str::to_owned))
            }
            _ => None,
        };
        hinted_sub = text("sub");
        hinted_sid = text("sid");
    }
    let client_id = match (params.client_id.as_deref().filter(|c| !c.is_empty()), hinted_client) {
        (Some(a), Some(b)) if a != b => return Ok(Err(EndSessionRefusal::ClientMismatch)),
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b,
    };
    let client = match client_id {
        Some(id) => client_for_page(ctx, &id).await?,
        None => None,
    };
    let redirect = match params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        None => None,
        Some(raw) => {
            let registered = client.as_ref().is_some_and(|c| {
                RedirectUri::parse(raw)
                    .is_ok_and(|u| c.post_logout_redirect_uris.iter().any(|r| r.as_str() == u.as_str()))
            });
            if !registered {
                return Ok(Err(EndSessionRefusal::UnregisteredRedirect));
            }
            let mut url = url::Url::parse(raw).map_err(|_| ProtocolError::Rejected {
                error: crate::OAuthError::InvalidRequest,
                description: "post_logout_redirect_uri is malformed",
            })?;
            if let Some(state) = params.state.as_deref() {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url)
        }
    };
    Ok(Ok(EndSession { client, redirect, hinted_sub, hinted_sid }))
}

/// Where `/end_session` leaves a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessionStep {
    /// Done: redirect to the registered post-logout URI, or the signed-out page.
    Done {
        /// The checked request (its client and redirect).
        logout: EndSession,
        /// A session was signed out (its cookie is to be cleared).
        signed_out: bool,
    },
    /// A user is signed in whom the request does not name (or the request
    /// was refused): they confirm first — a cross-site request must not
    /// sign anyone out.
    Confirm {
        /// The checked request (empty when refused).
        logout: EndSession,
        /// Why the request cannot be honoured as asked, if so.
        refusal: Option<EndSessionRefusal>,
    },
}

/// `/end_session` for `browser`: with an `id_token_hint` naming its signed-in
/// user (and session) the browser is signed out at once ([`SignIns::sign_out`]);
/// a signed-in browser the request does not name confirms first; nobody
/// signed in is done.
#[tracing::instrument(skip_all)]
pub async fn end_session(
    ctx: &Ctx<'_>,
    params: &EndSessionParams,
    sign_ins: &impl SignIns,
    browser: Option<&Session>,
) -> Result<EndSessionStep, ProtocolError> {
    let (logout, refusal) = match check_end_session(ctx, params).await? {
        Ok(logout) => (logout, None),
        Err(refusal) => (EndSession::default(), Some(refusal)),
    };
    let Some(session) = browser.filter(|s| s.user_id.is_some()) else {
        return Ok(EndSessionStep::Done { logout, signed_out: false });
    };
    let hint_matches = logout.hinted_sub.as_deref() == session.user_id.map(|u| u.to_string()).as_deref()
        && logout.hinted_sid.as_deref().is_none_or(|sid| sid == session.sid);
    if !hint_matches || refusal.is_some() {
        return Ok(EndSessionStep::Confirm { logout, refusal });
    }
    sign_out(&logout, sign_ins, session).await?;
    Ok(EndSessionStep::Done { logout, signed_out: true })
}

/// The user confirmed signing `browser` out: the request (as the
/// confirmation page carried it; empty fields are absent) is checked again,
/// the browser signed out, and the checked request returned (empty when
/// refused now: no redirect).
#[tracing::instrument(skip_all)]
pub async fn confirm_end_session(
    ctx: &Ctx<'_>,
    params: EndSessionParams,
    sign_ins: &impl SignIns,
    browser: &Session,
) -> Result<EndSession, ProtocolError> {
    let params = EndSessionParams {
        id_token_hint: params.id_token_hint.filter(|s| !s.is_empty()),
        post_logout_redirect_uri: params.post_logout_redirect_uri.filter(|s| !s.is_empty()),
        state: params.state.filter(|s| !s.is_empty()),
        client_id: params.client_id.filter(|s| !s.is_empty()),
        ..EndSessionParams::default()
    };
    let logout = check_end_session(ctx, &params).await?.unwrap_or_default();
    sign_out(&logout, sign_ins, browser).await?;
    Ok(logout)
}

async fn sign_out(
    logout: &EndSession,
    sign_ins: &impl SignIns,
    browser: &Session,
) -> Result<(), ProtocolError> {
    let client_id = logout.client.as_ref().map(|c| c.client_id.as_str());
    sign_ins.sign_out(browser, client_id).await.map_err(ProtocolError::SignIn)
}

/// The event a logout token carries (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Signs a logout token (`typ: logout+jwt`) for `client` about the user's
/// ended session `sid`, valid two minutes, with the client's ID token algorithm.
pub fn logout_token(
    ctx: &Ctx<'_>,
    client: &Client,
    user_id: Uuid,
    sid: &str,
) -> Result<String, ProtocolError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(ctx.issuer.as_str()));
    claims.insert("sub".into(), json!(user_id.to_string()));
    claims.insert("aud".into(), json!(client.client_id.as_str()));
    claims.insert("iat".into(), json!(unix(ctx.now)));
    claims.insert("exp".into(), json!(unix(ctx.now) + 120));
    claims.insert("jti".into(), json!(portcullis_core::random::hex_id()));
    claims.insert("sid".into(), json!(sid));
    claims.insert("events".into(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    Ok(ctx.keys.sign_jwt(client.id_token_signed_response_alg.algorithm(), "logout+jwt", &claims)?)
}
