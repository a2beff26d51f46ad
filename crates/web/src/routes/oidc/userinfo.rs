//! `GET`/`POST /userinfo` (OIDC Core §5.3): a bearer token in the
//! `Authorization` header or the form body (RFC 6750 §2.1, §2.2), never the
//! query. Errors carry `WWW-Authenticate: Bearer` (RFC 6750 §3).

use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::{OAuthError, ProtocolError, access};
use serde::Deserialize;

use crate::AppState;
use crate::errors::OAuthFailure;

#[derive(Deserialize)]
struct BodyToken {
    access_token: Option<String>,
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
pub(crate) async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, OAuthFailure> {
    respond(&req, &state, None).await
}

/// `POST /userinfo` (token in the header or as `access_token` in a form body).
pub(crate) async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthFailure> {
    let form_token = if body.is_empty() {
        None
    } else {
        match serde_urlencoded::from_bytes::<BodyToken>(&body) {
            Ok(form) => form.access_token,
            Err(_) => {
                return Err(OAuthFailure::Bearer(Some((
                    OAuthError::InvalidRequest,
                    "the form is malformed",
                ))));
            }
        }
    };
    respond(&req, &state, form_token).await
}

async fn respond(
    req: &HttpRequest,
    state: &AppState,
    form_token: Option<String>,
) -> Result<HttpResponse, OAuthFailure> {
    let in_query =
        url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "access_token");
    if in_query {
        let refusal = (OAuthError::InvalidRequest, "access tokens are not accepted in the query");
        return Err(OAuthFailure::Bearer(Some(refusal)));
    }
    let header_token = bearer(req).map_err(|refusal| OAuthFailure::Bearer(Some(refusal)))?;
    let token = match (header_token, form_token) {
        (Some(_), Some(_)) => {
            let refusal = (OAuthError::InvalidRequest, "send the token in one place only");
            return Err(OAuthFailure::Bearer(Some(refusal)));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(OAuthFailure::Bearer(None)),
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let result = match access::check_access_token(&ctx, &token).await {
        Ok(valid) => access::userinfo(&valid, ctx.issuer),
        Err(e) => Err(e),
    };
    match result {
        Ok(claims) => Ok(HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(claims)),
        Err(ProtocolError::Rejected { error, description }) => {
            Err(OAuthFailure::Bearer(Some((error, description))))
        }
        Err(e) => Err(OAuthFailure::Protocol(e)),
    }
}
