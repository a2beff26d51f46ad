//! The front channel's operations, one per page: each loads the pending
//! request it names, asks the sign-in side ([`SignIns`]) where the browser
//! stands, and decides where the browser goes next ([`Resumed`]).

use portcullis_store::Session;

use super::{AuthorizeParams, Next, Pending, Refused, consent, load_pending, resume, start};
use crate::interaction::SignIns;
use crate::{Ctx, ProtocolError};

/// Where a pending request's browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// The request's id (the interaction pages carry it).
    pub request: String,
    /// The next step.
    pub next: Next,
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub enum ConsentPrompt {
    /// Ask the fully signed-in user about `pending`'s client and scopes.
    Ask(Box<Pending>),
    /// The browser is not fully signed in: resume the request (it says
    /// what is missing).
    Resume(String),
}

/// Where `pending` goes for `browser`, as the sign-in side reports it.
async fn proceed(
    ctx: &Ctx<'_>,
    pending: &Pending,
    sign_ins: &impl SignIns,
    browser: Option<&Session>,
) -> Result<Resumed, ProtocolError> {
    let state = sign_ins.state(browser).await.map_err(ProtocolError::SignIn)?;
    let next = resume(ctx, pending, &state).await?;
    Ok(Resumed { request: pending.id.clone(), next })
}

/// `/authorize`: a new request checked and stored ([`start`]), then its
/// first step for `browser` — or how it was refused.
#[tracing::instrument(skip_all, fields(client_id = ?params.client_id))]
pub async fn authorize(
    ctx: &Ctx<'_>,
    params: &AuthorizeParams,
    sign_ins: &impl SignIns,
    browser: Option<&Session>,
) -> Result<Result<Resumed, Refused>, ProtocolError> {
    match start(ctx, params).await? {
        Ok(pending) => proceed(ctx, &pending, sign_ins, browser).await.map(Ok),
        Err(refused) => Ok(Err(refused)),
    }
}

/// `/authorize/resume`: the next step of the live request `id` for
/// `browser`; `None` when it is unknown or expired.
#[tracing::instrument(skip_all, fields(request = %id))]
pub async fn resume_request(
    ctx: &Ctx<'_>,
    id: &str,
    sign_ins: &impl SignIns,
    browser: Option<&Session>,
) -> Result<Option<Resumed>, ProtocolError> {
    let Some(pending) = load_pending(ctx, id).await? else { return Ok(None) };
    proceed(ctx, &pending, sign_ins, browser).await.map(Some)
}

/// The consent page of the live request `id`: ask only a complete sign-in;
/// `None` when the request is unknown or expired.
#[tracing::instrument(skip_all, fields(request = %id))]
pub async fn consent_prompt(
    ctx: &Ctx<'_>,
    id: &str,
    sign_ins: &impl SignIns,
    browser: Option<&Session>,
) -> Result<Option<ConsentPrompt>, ProtocolError> {
    let Some(pending) = load_pending(ctx, id).await? else { return Ok(None) };
    let state = sign_ins.state(browser).await.map_err(ProtocolError::SignIn)?;
    Ok(Some(match (browser, state.complete()) {
        (Some(_), Some(_)) => ConsentPrompt::Ask(Box::new(pending)),
        _ => ConsentPrompt::Resume(pending.id),
    }))
}

/// The user's answer on the consent page of the live request `id` (see
/// [`consent`]); `None` when it is unknown or expired.
#[tracing::instrument(skip_all, fields(request = %id, allow))]
pub async fn decide(
    ctx: &Ctx<'_>,
    id: &str,
    sign_ins: &impl SignIns,
    browser: &Session,
    allow: bool,
) -> Result<Option<Resumed>, ProtocolError> {
    let Some(pending) = load_pending(ctx, id).await? else { return Ok(None) };
    let state = sign_ins.state(Some(browser)).await.map_err(ProtocolError::SignIn)?;
    let next = consent(ctx, &pending, &state, allow).await?;
    Ok(Some(Resumed { request: pending.id, next }))
}
