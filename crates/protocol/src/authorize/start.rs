//! The start of an authorization request: the client looked up, every
//! rule checked, the request stored as pending — or refused, on a page
//! until the redirect URI is verified, at the client afterwards.

use url::Url;

use super::{
    AuthorizeError, AuthorizeParams, Pending, check_client_id, check_pushed_required, error_url,
    response_url, store_pending, take_pushed, validate,
};
use crate::{Ctx, ProtocolError};

/// How a new authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Back to the client with the error: its redirect URI is verified.
    Redirect(Url),
    /// On a page (a fixed description): the client or its redirect URI is
    /// not verified, so nothing may be sent to it (RFC 6749 §4.1.2.1).
    Page(&'static str),
}

/// Why a `request_uri` is refused: one page for every case, so that it
/// tells nobody which requests exist.
const UNUSABLE_REQUEST_URI: &str =
    "the request_uri is unknown, expired, already used or another client's: start again at the application";

/// Starts an authorization request: takes the pushed request a
/// `request_uri` names (RFC 9126 §4: then only it counts, the other
/// parameters but `client_id` are ignored), looks the client up, runs
/// every rule in order ([`validate`]; a client that must push its requests
/// came with a pushed one) and stores the request as pending. A refusal is
/// [`Refused`]; an error is the store's or the keys'.
#[tracing::instrument(skip_all, fields(client_id = ?params.client_id))]
pub async fn start(
    ctx: &Ctx<'_>,
    params: &AuthorizeParams,
) -> Result<Result<Pending, Refused>, ProtocolError> {
    let id = match check_client_id(params) {
        Ok(id) => id,
        Err(e) => return Ok(Err(refused(ctx, &e))),
    };
    let pushed = match &params.request_uri {
        None => None,
        Some(uri) => match take_pushed(ctx, id.as_str(), uri).await? {
            Some(pushed) => Some(pushed),
            None => return Ok(Err(Refused::Page(UNUSABLE_REQUEST_URI))),
        },
    };
    let params = pushed.as_ref().unwrap_or(params);
    let client = crate::access::client_for_page(ctx, id.as_str()).await?;
    let request = match validate(params, client.as_ref(), &ctx.config.resources) {
        Ok(request) => request,
        Err(e) => return Ok(Err(refused(ctx, &e))),
    };
    let Some(client) = client else { return Ok(Err(Refused::Page("unknown client"))) };
    if let Err((error, description)) = check_pushed_required(&client, pushed.is_some()) {
        return Ok(Err(Refused::Redirect(error_url(ctx, &request, error, description))));
    }
    store_pending(ctx, params, request, client).await.map(Ok)
}

/// Where a refusal goes: the verified redirect URI when there is one and
/// the error may be redirected, else a page.
fn refused(ctx: &Ctx<'_>, e: &AuthorizeError) -> Refused {
    match &e.redirect {
        Some(target) if e.may_redirect() => {
            let pairs = [("error", e.error.code()), ("error_description", e.description)];
            Refused::Redirect(response_url(ctx, &target.redirect_uri, target.state.as_deref(), &pairs))
        }
        _ => Refused::Page(e.description),
    }
}
