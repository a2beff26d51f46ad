//! The client-authenticated back channel — `/token`, `/par`,
//! `/device_authorization`, `/introspect`, `/revoke` — each as one call: the
//! client authenticates, then the grant, introspection or revocation runs. The rules between the two (only a
//! confidential client introspects; a token is required) live here, not in
//! the handler.

use crate::authorize::{self, AuthorizeParams, PushedRequest};
use crate::client_auth::{self, ClientAuthError, ClientCredentials, Endpoint};
use crate::dpop::{self, DpopRequest};
use crate::{Ctx, OAuthError, ProtocolError, TokenResponse, access, device, grants};
use serde_json::{Map, Value};

/// Why a back-channel call failed.
#[derive(Debug, thiserror::Error)]
pub enum BackChannelError {
    /// The client did not authenticate (or is backing off).
    #[error("client authentication failed: {}", .0.error)]
    ClientAuth(ClientAuthError),
    /// Refused before the operation, with a fixed description.
    #[error("{description}", description = .1)]
    Refused(OAuthError, &'static str),
    /// The operation failed: refused, or an internal failure.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl From<ClientAuthError> for BackChannelError {
    fn from(e: ClientAuthError) -> Self {
        Self::ClientAuth(e)
    }
}

/// `POST /token` (RFC 6749 §3.2): client authentication, then the DPoP
/// proof if any (RFC 9449 §5), then the grant.
pub async fn token(
    ctx: &Ctx<'_>,
    credentials: &ClientCredentials,
    endpoint: Endpoint<'_>,
    params: &grants::TokenParams,
    proof: &DpopRequest<'_>,
) -> Result<TokenResponse, BackChannelError> {
    let client = client_auth::authenticate(ctx, credentials, endpoint).await?;
    let jkt = dpop::token_proof(ctx.dpop, ctx.now, &client, proof)?;
    Ok(grants::exchange(ctx, &client, params, jkt.as_ref()).await?)
}

/// `POST /par` (RFC 9126 §2): client authentication as at the token
/// endpoint, then the authorization request checked and stored.
pub async fn push(
    ctx: &Ctx<'_>,
    credentials: &ClientCredentials,
    endpoint: Endpoint<'_>,
    params: &AuthorizeParams,
) -> Result<PushedRequest, BackChannelError> {
    let client = client_auth::authenticate(ctx, credentials, endpoint).await?;
    Ok(authorize::push(ctx, &client, params).await?)
}

/// `POST /device_authorization` (RFC 8628 §3.1): client authentication as
/// at the token endpoint, then a new device authorization.
pub async fn device_authorization(
    ctx: &Ctx<'_>,
    credentials: &ClientCredentials,
    endpoint: Endpoint<'_>,
    scope: Option<&str>,
) -> Result<device::DeviceAuthorizationResponse, BackChannelError> {
    let client = client_auth::authenticate(ctx, credentials, endpoint).await?;
    Ok(device::start(ctx, &client, scope).await?)
}

/// `POST /introspect` (RFC 7662 §2.1): a confidential client asks about `token`.
pub async fn introspect(
    ctx: &Ctx<'_>,
    credentials: &ClientCredentials,
    endpoint: Endpoint<'_>,
    token: Option<&str>,
) -> Result<Map<String, Value>, BackChannelError> {
    let client = client_auth::authenticate(ctx, credentials, endpoint).await?;
    if client.is_public() {
        return Err(BackChannelError::Refused(
            OAuthError::InvalidClient,
            "introspection needs a confidential client",
        ));
    }
    Ok(access::introspect(ctx, &client, required(token)?).await?)
}

/// `POST /revoke` (RFC 7009 §2.1): the client revokes one of its tokens;
/// `Ok` whether or not the token was known.
pub async fn revoke(
    ctx: &Ctx<'_>,
    credentials: &ClientCredentials,
    endpoint: Endpoint<'_>,
    token: Option<&str>,
) -> Result<(), BackChannelError> {
    let client = client_auth::authenticate(ctx, credentials, endpoint).await?;
    Ok(access::revoke(ctx, &client, required(token)?).await?)
}

/// The `token` parameter, which both endpoints require.
fn required(token: Option<&str>) -> Result<&str, BackChannelError> {
    token
        .filter(|t| !t.is_empty())
        .ok_or(BackChannelError::Refused(OAuthError::InvalidRequest, "token is required"))
}
