//! `GET`/`POST /userinfo` (OIDC Core §5.3): a bearer token in the
//! `Authorization` header or the form body (RFC 6750 §2.1, §2.2), never the
//! query — or a DPoP-bound token with `Authorization: DPoP` and a `DPoP`
//! proof (RFC 9449 §7). Errors carry `WWW-Authenticate: Bearer` (RFC 6750
//! §3), or `DPoP` (RFC 9449 §7.1) where DPoP is involved.

use actix_web::http::header::{self, CACHE_CONTROL};
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_protocol::access::{self, ResourceRefusal};
use portcullis_protocol::dpop::{DpopRequest, Scheme};
use portcullis_protocol::{OAuthError, ProtocolError};
use serde::Deserialize;

use super::{DPOP_NONCE_HEADER, dpop_proofs};
use crate::AppState;
use crate::errors::OAuthFailure;

#[derive(Deserialize)]
struct BodyToken {
    access_token: Option<String>,
}

/// The token of the `Authorization` header and its scheme: `Bearer`
/// (RFC 6750 §2.1) or `DPoP` (RFC 9449 §7.1).
fn authorization(req: &HttpRequest) -> Result<Option<(Scheme, String)>, (OAuthError, &'static str)> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().unwrap_or_default();
    let (scheme, token) = value.split_once(' ').unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        return Err((OAuthError::InvalidRequest, "malformed Authorization header"));
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some((Scheme::Bearer, token.to_owned())))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Ok(Some((Scheme::Dpop, token.to_owned())))
    } else {
        Err((OAuthError::InvalidRequest, "malformed Authorization header"))
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
    let header_token = authorization(req).map_err(|refusal| OAuthFailure::Bearer(Some(refusal)))?;
    let (scheme, token) = match (header_token, form_token) {
        (Some(_), Some(_)) => {
            let refusal = (OAuthError::InvalidRequest, "send the token in one place only");
            return Err(OAuthFailure::Bearer(Some(refusal)));
        }
        (Some(presented), None) => presented,
        (None, Some(t)) => (Scheme::Bearer, t),
        (None, None) => return Err(OAuthFailure::Bearer(None)),
    };
    let keys = state.keys();
    let ctx = state.ctx(&keys);
    let proofs = dpop_proofs(req);
    let proof =
        DpopRequest { proofs: &proofs, method: req.method().as_str(), uri: state.publication.userinfo_url() };
    let nonce = state.dpop.nonce(ctx.now);
    match access::userinfo_request(&ctx, scheme, &token, &proof).await {
        Ok(claims) => {
            let mut res = HttpResponse::Ok();
            res.insert_header((CACHE_CONTROL, "no-store"));
            if scheme == Scheme::Dpop {
                res.insert_header((DPOP_NONCE_HEADER, nonce));
            }
            Ok(res.json(claims))
        }
        Err(ResourceRefusal { error: ProtocolError::Rejected { error, description }, dpop: true }) => {
            Err(OAuthFailure::Dpop((error, description)).with_dpop_nonce(nonce))
        }
        Err(ResourceRefusal { error: ProtocolError::Rejected { error, description }, dpop: false }) => {
            Err(OAuthFailure::Bearer(Some((error, description))))
        }
        Err(ResourceRefusal { error, .. }) => Err(OAuthFailure::Protocol(error)),
    }
}
