//! `POST /token`, `POST /par`, `POST /introspect`, `POST /revoke`: the client-authenticated
//! back channel. Bodies are parsed here (not by the page extractors) so
//! that every malformed request gets a JSON `invalid_request`.

use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::OAuthError;
use portcullis_protocol::back_channel;
use portcullis_protocol::client_auth::ClientCredentials;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::token_form::{ClientFields, TokenForm};
use super::{DPOP_NONCE_HEADER, client_credentials, dpop_proofs};
use crate::AppState;
use crate::errors::OAuthFailure;
use portcullis_protocol::dpop::DpopRequest;

/// Parses a form body; duplicates and non-form content are `invalid_request`.
pub(super) fn parse_form<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<T, OAuthFailure> {
    form_content(req)?;
    super::token_form::parse_form(body)
        .map_err(|(error, description)| OAuthFailure::Refused(error, description))
}

/// The body is `application/x-www-form-urlencoded`; otherwise `invalid_request`.
fn form_content(req: &HttpRequest) -> Result<(), OAuthFailure> {
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
    Ok(())
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

/// `POST /token` (RFC 6749 §3.2): client authentication, then the DPoP
/// proof if any, then the grant. Every answer carries a fresh `DPoP-Nonce`
/// (RFC 9449 §8): the next proof needs it.
pub(crate) async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let nonce = state.dpop.nonce(ctx.now);
    let form: TokenForm = parse_form(&req, &body).map_err(|e| e.with_dpop_nonce(nonce.clone()))?;
    let endpoint = state.publication.token_endpoint();
    let proofs = dpop_proofs(&req);
    let proof =
        DpopRequest { proofs: &proofs, method: req.method().as_str(), uri: state.publication.token_url() };
    let tokens = back_channel::token(&ctx, &credentials(&req, form.client), endpoint, &form.params, &proof)
        .await
        .map_err(|e| OAuthFailure::back_channel(e, ctx.now).with_dpop_nonce(nonce.clone()))?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((DPOP_NONCE_HEADER, nonce))
        .json(tokens))
}

/// `POST /par` (RFC 9126 §2): client authentication, then the
/// authorization request checked by the rules of `/authorize` and stored;
/// `201` with its `request_uri`. Errors are JSON, never redirects.
pub(crate) async fn par(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    form_content(&req)?;
    let form = super::token_form::parse_par_form(&body)
        .map_err(|(error, description)| OAuthFailure::Refused(error, description))?;
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let endpoint = state.publication.par_endpoint();
    let pushed = back_channel::push(&ctx, &credentials(&req, form.client), endpoint, &form.params)
        .await
        .map_err(|e| OAuthFailure::back_channel(e, ctx.now))?;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(pushed))
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
