//! The client-credentials grant (RFC 6749 §4.4): confidential clients only,
//! no user, no refresh token, no ID token. This is the hot path of machine
//! clients: no store access beyond the client lookup done by authentication.

use crate::context::{Ctx, ProtocolError, reject};
use crate::dpop::Jkt;
use crate::grants::{TokenParams, audience};
use crate::interaction::OFFLINE_ACCESS;
use crate::tokens::{self, TokenResponse};
use crate::{Client, OAuthError, Scope, ScopeSet};

/// The scope of the admin API: granted only through this grant, and only
/// to clients marked `admin_api`.
pub const ADMIN_SCOPE: &str = "admin";

/// The checks before signing: a confidential client, and the scopes it
/// asked for (all of its own but `openid` and `offline_access` when none).
/// `admin` only for an `admin_api` client, whatever its scope list says.
pub fn requested_scopes(client: &Client, params: &TokenParams) -> Result<ScopeSet, ProtocolError> {
    if client.is_public() {
        return reject(OAuthError::UnauthorizedClient, "client_credentials needs a confidential client");
    }
    let user_scopes = |s: &str| s == Scope::OPENID || s == OFFLINE_ACCESS;
    let refused = |s: &str| user_scopes(s) || (s == ADMIN_SCOPE && !client.admin_api);
    match params.scope.as_deref() {
        None | Some("") => {
            ScopeSet::from_tokens(client.scopes.iter().filter(|s| !refused(s))).map_err(|_| {
                ProtocolError::Rejected { error: OAuthError::InvalidScope, description: "bad scope" }
            })
        }
        Some(raw) => match ScopeSet::parse(raw) {
            Ok(asked) if asked.is_subset(&client.scopes) && !asked.iter().any(refused) => Ok(asked),
            _ => reject(OAuthError::InvalidScope, "scope is not allowed for this client"),
        },
    }
}

pub(crate) async fn exchange(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &TokenParams,
    jkt: Option<&Jkt>,
) -> Result<TokenResponse, ProtocolError> {
    let audience = audience(ctx, client, params, None)?;
    let scopes = audience.scopes(&requested_scopes(client, params)?);
    let access =
        tokens::access_token(ctx, client, client.client_id.as_str(), &scopes, None, audience, jkt).await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: tokens::token_type(jkt),
        expires_in: access.expires_in,
        scope: scopes.to_string(),
        refresh_token: None,
        id_token: None,
    })
}
