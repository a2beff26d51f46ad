//! The start of an authorization request: the client looked up, every
//! rule checked, the request stored as pending — or refused, on a page
//! until the redirect URI is verified, at the client afterwards.

use url::Url;

use super::{
    AuthorizeError, AuthorizeParams, Pending, check_client_id, response_url, store_pending, validate,
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

/// Starts an authorization request: looks the client up, runs every rule
/// in order ([`validate`]) and stores the request as pending. A refusal is
/// [`Refused`]; an error is the store's or the keys'.
#[tracing::instrument(skip_all, fields(client_id = ?params.client_id))]
pub async fn start(
    ctx: &Ctx<'_>,
    params: &AuthorizeParams,
) -> Result<Result<Pending, Refused>, ProtocolError> {
    let client = match check_client_id(params) {
        Ok(id) => crate::access::client_for_page(ctx, id.as_str()).await?,
        Err(e) => return Ok(Err(refused(ctx, &e))),
    };
    let request = match validate(params, client.as_ref()) {
        Ok(request) => request,
        Err(e) => return Ok(Err(refused(ctx, &e))),
    };
    let Some(client) = client else { return Ok(Err(Refused::Page("unknown client"))) };
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
