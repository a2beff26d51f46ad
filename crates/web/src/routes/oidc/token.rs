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
use super::{
    INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH, client_auth_error, client_credentials, json_error,
    protocol_error,
};
use crate::AppState;

/// Parses a form body; duplicates and non-form content are `invalid_request`.
fn parse_form<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<T, (OAuthError, &'static str)> {
    let form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form {
        return Err((OAuthError::InvalidRequest, "the body must be application/x-www-form-urlencoded"));
    }
    super::token_form::parse_form(body)
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
pub(crate) async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let form: TokenForm = match parse_form(&req, &body) {
        Ok(f) => f,
        Err((error, description)) => return json_error(error, description),
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let url = state.issuer.endpoint(TOKEN_PATH);
    let endpoint = Endpoint { token: &url, called: &url };
    let client = match client_auth::authenticate(&ctx, &credentials(&req, form.client), endpoint).await {
        Ok(c) => c,
        Err(e) => return client_auth_error(&e, ctx.now),
    };
    match grants::exchange(&ctx, &client, &form.params).await {
        Ok(tokens) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(tokens),
        Err(e) => protocol_error(&e),
    }
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
) -> Result<(Client, String), HttpResponse> {
    let form: TokenRef = parse_form(req, body).map_err(|(e, d)| json_error(e, d))?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let (token_url, called) = (state.issuer.endpoint(TOKEN_PATH), state.issuer.endpoint(path));
    let endpoint = Endpoint { token: &token_url, called: &called };
    let client = client_auth::authenticate(&ctx, &credentials(req, form.client), endpoint)
        .await
        .map_err(|e| client_auth_error(&e, ctx.now))?;
    if confidential_only && client.is_public() {
        return Err(json_error(OAuthError::InvalidClient, "introspection needs a confidential client"));
    }
    let token = form
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| json_error(OAuthError::InvalidRequest, "token is required"))?;
    Ok((client, token))
}

/// `POST /introspect` (RFC 7662).
pub(crate) async fn introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let (client, token) = match caller_and_token(&req, &state, &body, INTROSPECT_PATH, true).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    match access::introspect(&ctx, &client, &token).await {
        Ok(answer) => HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(answer),
        Err(e) => protocol_error(&e),
    }
}

/// `POST /revoke` (RFC 7009): 200 whether or not the token was known.
pub(crate) async fn revoke(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let (client, token) = match caller_and_token(&req, &state, &body, REVOKE_PATH, false).await {
        Ok(x) => x,
        Err(res) => return res,
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    match access::revoke(&ctx, &client, &token).await {
        Ok(()) => HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).finish(),
        Err(e) => protocol_error(&e),
    }
}
