//! The seam between the protocol and sign-in (node-oidc-provider calls it an
//! interaction): the protocol asks for an authentication satisfying the
//! request's `prompt`, `max_age` and `acr_values`; the sign-in side answers
//! with an [`Authentication`] (user, auth_time, amr, acr) bound to a browser
//! session. [`next_step`] decides what the request needs next.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::authorize::AuthorizationRequest;
use crate::{Client, OAuthError, ScopeSet};

/// What the sign-in side reports about the browser's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The signed-in user.
    pub user_id: Uuid,
    /// The session's public id (`sid`).
    pub sid: String,
    /// When the user last authenticated.
    pub auth_time: OffsetDateTime,
    /// How (RFC 8176).
    pub amr: Vec<String>,
    /// The authentication context class reached, if any.
    pub acr: Option<String>,
}

/// What an authorization request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The user must sign in (again).
    Login,
    /// The user is signed in, but must prove a stronger factor
    /// (`acr_values` asks for more than the session reached).
    StepUp,
    /// The user must consent to the client and scopes.
    Consent,
    /// Everything is satisfied: issue the code.
    Issue,
}

/// The scope whose grant outlives the browser session (OIDC Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Decides the next step of `request`, received at `requested_at`, for the
/// browser's `auth` (if signed in) and the user's stored `consent` for the
/// client. With `prompt=none` any needed interaction is an error instead
/// (`login_required`, `consent_required`), sent to the redirect URI.
///
/// An authentication at or after `requested_at` is fresh for this request:
/// it satisfies `prompt=login` and any `max_age` (including 0), so
/// resuming after sign-in never loops.
pub fn next_step(
    request: &AuthorizationRequest,
    requested_at: OffsetDateTime,
    client: &Client,
    auth: Option<&Authentication>,
    consent: Option<&ScopeSet>,
    now: OffsetDateTime,
) -> Result<Step, (OAuthError, &'static str)> {
    let interactive = |step: Step, error: OAuthError, why: &'static str| {
        if request.prompt.none { Err((error, why)) } else { Ok(step) }
    };
    let Some(auth) = auth else {
        return interactive(Step::Login, OAuthError::LoginRequired, "the user is not signed in");
    };
    let fresh = auth.auth_time >= requested_at;
    if request.prompt.login && !fresh {
        return Ok(Step::Login);
    }
    if let Some(max_age) = request.max_age {
        let age = (now - auth.auth_time).whole_seconds();
        let too_old = i64::try_from(max_age).is_ok_and(|max| age > max);
        if too_old && !fresh {
            return interactive(Step::Login, OAuthError::LoginRequired, "the authentication is too old");
        }
    }
    if crate::acr::satisfies(auth.acr.as_deref(), &request.acr_values) == Some(false) {
        return interactive(
            Step::StepUp,
            OAuthError::InteractionRequired,
            "a stronger authentication is needed",
        );
    }
    if needs_consent(request, client, consent) {
        return interactive(Step::Consent, OAuthError::ConsentRequired, "the user must consent");
    }
    Ok(Step::Issue)
}

/// Consent is needed when the client requires it and the stored consent
/// does not cover the scopes (or `prompt=consent`), and always for
/// `offline_access` not yet consented to, whatever the client.
pub fn needs_consent(request: &AuthorizationRequest, client: &Client, consent: Option<&ScopeSet>) -> bool {
    let covered = consent.is_some_and(|c| request.scopes.is_subset(c));
    if request.prompt.consent && !request.prompt.none {
        return true;
    }
    if request.scopes.contains(OFFLINE_ACCESS) && !covered {
        return true;
    }
    client.require_consent && !covered
}
