//! The seam between the protocol and sign-in (node-oidc-provider calls it an
//! interaction): the protocol asks for an authentication satisfying the
//! request's `prompt`, `max_age` and `acr_values`; the sign-in side answers
//! with an [`Authentication`] (user, auth_time, amr, acr) bound to a browser
//! session. [`next_step`] decides what the request needs next.

use portcullis_store::Session;
use std::future::Future;
use time::OffsetDateTime;

pub use portcullis_core::signin::{Authentication, Missing, SignInState};

/// The sign-in side, as the protocol asks it: where a browser's sign-in
/// stands. `authn` knows; `web` hands its answer over (the protocol does
/// not depend on `authn`).
pub trait SignIns {
    /// The sign-in state of `browser` (`None`: no session).
    fn state(&self, browser: Option<&Session>) -> impl Future<Output = Result<SignInState, SignInError>>;

    /// Signs `browser` out (RP-initiated logout by `client_id`, if known):
    /// the session ends with its back-channel logouts, audited.
    fn sign_out(
        &self,
        browser: &Session,
        client_id: Option<&str>,
    ) -> impl Future<Output = Result<(), SignInError>>;
}

/// A failure of the sign-in side (its own error, kept for the mapping).
pub type SignInError = Box<dyn std::error::Error + Send + Sync>;

use crate::authorize::AuthorizationRequest;
use crate::{Client, OAuthError, ScopeSet};

/// What an authorization request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The user must sign in (again).
    Login,
    /// The sign-in started needs the user's second factor.
    SecondFactor,
    /// The user must enroll a second factor the policy requires.
    Enroll,
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
/// browser's sign-in `state` and the user's stored `consent` for the
/// client. With `prompt=none` any needed interaction is an error instead
/// (`login_required` for a sign-in, `interaction_required` for an
/// enrollment or a step-up, `consent_required`), sent to the redirect URI.
/// Only a [`SignInState::Complete`] sign-in ever reaches [`Step::Issue`].
///
/// An authentication at or after `requested_at` is fresh for this request:
/// it satisfies `prompt=login` and any `max_age` (including 0), so
/// resuming after sign-in never loops.
pub fn next_step(
    request: &AuthorizationRequest,
    requested_at: OffsetDateTime,
    client: &Client,
    state: &SignInState,
    consent: Option<&ScopeSet>,
    now: OffsetDateTime,
) -> Result<Step, (OAuthError, &'static str)> {
    let interactive = |step: Step, error: OAuthError, why: &'static str| {
        if request.prompt.none { Err((error, why)) } else { Ok(step) }
    };
    let auth = match state {
        SignInState::Anonymous => {
            return interactive(Step::Login, OAuthError::LoginRequired, "the user is not signed in");
        }
        SignInState::Incomplete { missing: Missing::SecondFactor, .. } => {
            return interactive(Step::SecondFactor, OAuthError::LoginRequired, "the sign-in is not complete");
        }
        SignInState::Incomplete { missing: Missing::Enrollment, .. } => {
            return interactive(
                Step::Enroll,
                OAuthError::InteractionRequired,
                "the user must set up a second factor",
            );
        }
        SignInState::Complete(auth) => auth,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{AuthorizeParams, validate};
    use crate::client::tests::confidential;
    use time::macros::datetime;

    fn request(prompt: Option<&str>) -> AuthorizationRequest {
        let params = AuthorizeParams {
            client_id: Some("rp".into()),
            redirect_uri: Some("https://rp.example/cb".into()),
            response_type: Some("code".into()),
            scope: Some("openid".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            prompt: prompt.map(str::to_owned),
            ..AuthorizeParams::default()
        };
        validate(&params, Some(&confidential()), &crate::Resources::default()).expect("valid")
    }

    #[test]
    fn only_a_complete_sign_in_reaches_the_code() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let client = confidential();
        let user_id = uuid::Uuid::nil();
        let second = SignInState::Incomplete { user_id, missing: Missing::SecondFactor };
        let enroll = SignInState::Incomplete { user_id, missing: Missing::Enrollment };
        let complete = SignInState::Complete(Authentication {
            user_id,
            sid: "sid".into(),
            auth_time: now,
            amr: vec!["pwd".into()],
            acr: Some(crate::acr::ACR_SINGLE_FACTOR.into()),
        });
        let step = |prompt, state: &SignInState| {
            let request = request(prompt);
            next_step(&request, now, &client, state, Some(&request.scopes), now)
        };
        assert_eq!(step(None, &SignInState::Anonymous), Ok(Step::Login));
        assert_eq!(step(None, &second), Ok(Step::SecondFactor));
        assert_eq!(step(None, &enroll), Ok(Step::Enroll));
        assert_eq!(step(None, &complete), Ok(Step::Issue));
        let error = |prompt, state| step(prompt, state).map_err(|(e, _)| e);
        assert_eq!(error(Some("none"), &SignInState::Anonymous), Err(OAuthError::LoginRequired));
        assert_eq!(error(Some("none"), &second), Err(OAuthError::LoginRequired));
        assert_eq!(error(Some("none"), &enroll), Err(OAuthError::InteractionRequired));
        assert_eq!(error(Some("none"), &complete), Ok(Step::Issue));
    }
}
