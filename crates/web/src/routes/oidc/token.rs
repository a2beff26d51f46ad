//! `POST /token`, `POST /introspect`, `POST /revoke`: the client-authenticated
//! back channel. Bodies are parsed here (not by the page extractors) so
//! that every malformed request gets a JSON `invalid_request`.

use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::client_auth::{self, ClientCredentials, Endpoint};
use portcullis_protocol::grants;
use portcullis_protocol::{Client, OAuthError, access};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::token_form::{ClientFields, TokenForm};
use super::{INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH, client_credentials};
use crate::AppState;
use crate::errors::OAuthFailure;

/// Parses a form body; duplicates and non-form content are `invalid_request`.
fn parse_form<T: DeserializeOwned>(req: &HttpRequest, body: &web::Bytes) -> Result<T, OAuthFailure> {
    let form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form {
        return Err(OAuthFailure::Refused(
            OAuthError::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    super::token_form::parse_form(body)
        .map_err(|(error, description)| OAuthFailure::Refused(error, description))
}

fn credentials(req: &HttpRequest, fields: ClientFields) -> ClientCredentials {
    client_credentials(
        req,
        fields.client_id,
        fields.client_secret,
        fields.client_assertion_type,
        fields.client_assertion,
    )
}

/// `POST /token` (RFC 6749 §3.2): client authentication, then the grant.
pub(crate) async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let form: TokenForm = parse_form(&req, &body)?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let url = state.issuer.endpoint(TOKEN_PATH);
    let endpoint = Endpoint { token: &url, called: &url };
    let client = client_auth::authenticate(&ctx, &credentials(&req, form.client), endpoint)
        .await
        .map_err(|e| OAuthFailure::ClientAuth(e, ctx.now))?;
    let tokens = grants::exchange(&ctx, &client, &form.params).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(tokens))
}

#[derive(Deserialize)]
struct TokenRef {
    #[serde(flatten)]
    client: ClientFields,
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// Authenticates the caller of introspection/revocation (at `path`) and reads `token`.
async fn caller_and_token(
    req: &HttpRequest,
    state: &AppState,
    body: &web::Bytes,
    path: &str,
    confidential_only: bool,
) -> Result<(Client, String), OAuthFailure> {
    let form: TokenRef = parse_form(req, body)?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let (token_url, called) = (state.issuer.endpoint(TOKEN_PATH), state.issuer.endpoint(path));
    let endpoint = Endpoint { token: &token_url, called: &called };
    let client = client_auth::authenticate(&ctx, &credentials(req, form.client), endpoint)
        .await
        .map_err(|e| OAuthFailure::ClientAuth(e, ctx.now))?;
    if confidential_only && client.is_public() {
        return Err(OAuthFailure::Refused(
            OAuthError::InvalidClient,
            "introspection needs a confidential client",
        ));
    }
    let token = form
        .token
        .filter(|t| !t.is_empty())
        .ok_or(OAuthFailure::Refused(OAuthError::InvalidRequest, "token is required"))?;
    Ok((client, token))
}

/// `POST /introspect` (RFC 7662).
pub(crate) async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let (client, token) = caller_and_token(&req, &state, &body, INTROSPECT_PATH, true).await?;
    let keys = state.keys();
    let answer = access::introspect(&state.ctx(&keys), &client, &token).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(answer))
}

/// `POST /revoke` (RFC 7009): 200 whether or not the token was known.
pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let (client, token) = caller_and_token(&req, &state, &body, REVOKE_PATH, false).await?;
    let keys = state.keys();
    access::revoke(&state.ctx(&keys), &client, &token).await?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).finish())
}
