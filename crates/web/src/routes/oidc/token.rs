//! `POST /token`, `POST /introspect`, `POST /revoke`: the client-authenticated
//! back channel. Bodies are parsed here (not by the page extractors) so
//! that every malformed request gets a JSON `invalid_request`.

use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::OAuthError;
use portcullis_protocol::back_channel;
use portcullis_protocol::client_auth::ClientCredentials;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client_credentials;
use super::token_form::{ClientFields, TokenForm};
use crate::AppState;
use crate::errors::OAuthFailure;

/// Parses a form body; duplicates and non-form content are `invalid_request`.
pub(super) fn parse_form<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<T, OAuthFailure> {
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

pub(super) fn credentials(req: &HttpRequest, fields: ClientFields) -> ClientCredentials {
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
    let endpoint = state.publication.token_endpoint();
    let tokens = back_channel::token(&ctx, &credentials(&req, form.client), endpoint, &form.params)
        .await
        .map_err(|e| OAuthFailure::back_channel(e, ctx.now))?;
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

/// `POST /introspect` (RFC 7662).
pub(crate) async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let form: TokenRef = parse_form(&req, &body)?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let endpoint = state.publication.introspection_endpoint();
    let answer =
        back_channel::introspect(&ctx, &credentials(&req, form.client), endpoint, form.token.as_deref())
            .await
            .map_err(|e| OAuthFailure::back_channel(e, ctx.now))?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(answer))
}

/// `POST /revoke` (RFC 7009): 200 whether or not the token was known.
pub(crate) async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let form: TokenRef = parse_form(&req, &body)?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let endpoint = state.publication.revocation_endpoint();
    back_channel::revoke(&ctx, &credentials(&req, form.client), endpoint, form.token.as_deref())
        .await
        .map_err(|e| OAuthFailure::back_channel(e, ctx.now))?;
    Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).finish())
}
