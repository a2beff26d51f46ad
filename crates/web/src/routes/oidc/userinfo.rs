//! `GET`/`POST /userinfo` (OIDC Core §5.3): a bearer token in the
//! `Authorization` header or the form body (RFC 6750 §2.1, §2.2), never the
//! query. Errors carry `WWW-Authenticate: Bearer` (RFC 6750 §3).

use actix_web::http::header::{self, CACHE_CONTROL, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::{OAuthError, ProtocolError, access};
use serde::Deserialize;

use super::{json_error, protocol_error};
use crate::AppState;

#[derive(Deserialize)]
struct BodyToken {
    access_token: Option<String>,
}

/// A 401/403/400 with the `WWW-Authenticate: Bearer` challenge.
fn challenge(error: Option<(OAuthError, &str)>) -> HttpResponse {
    let Some((error, description)) = error else {
        // No credentials at all: the bare challenge (RFC 6750 §3.1).
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"portcullis\""))
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish();
    };
    let value = format!(
        "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
        error.code(),
        description
    );
    let mut res = json_error(error, description);
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, (OAuthError, &'static str)> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err((OAuthError::InvalidRequest, "malformed Authorization header")),
    }
}

/// `GET /userinfo`.
pub(crate) async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(&req, &state, None).await
}

/// `POST /userinfo` (token in the header or as `access_token` in a form body).
pub(crate) async fn post(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let form_token = if body.is_empty() {
        None
    } else {
        match serde_urlencoded::from_bytes::<BodyToken>(&body) {
            Ok(form) => form.access_token,
            Err(_) => return challenge(Some((OAuthError::InvalidRequest, "the form is malformed"))),
        }
    };
    respond(&req, &state, form_token).await
}

async fn respond(req: &HttpRequest, state: &AppState, form_token: Option<String>) -> HttpResponse {
    let in_query =
        url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "access_token");
    if in_query {
        return challenge(Some((OAuthError::InvalidRequest, "access tokens are not accepted in the query")));
    }
    let header_token = match bearer(req) {
        Ok(t) => t,
        Err(refusal) => return challenge(Some(refusal)),
    };
    let token = match (header_token, form_token) {
        (Some(_), Some(_)) => {
            return challenge(Some((OAuthError::InvalidRequest, "send the token in one place only")));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return challenge(None),
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let result = match access::check_access_token(&ctx, &token).await {
        Ok(valid) => access::userinfo(&valid),
        Err(e) => Err(e),
    };
    match result {
        Ok(claims) => HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(claims),
        Err(ProtocolError::Rejected { error, description }) => challenge(Some((error, description))),
        Err(e) => protocol_error(&e),
    }
}
