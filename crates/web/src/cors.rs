//! CORS on the endpoints a browser-based app calls from its pages
//! (draft-ietf-oauth-browser-based-apps §6.3.3.4, OIDC Core §5.3), as
//! resource middleware: [`TOKEN_SIDE`] and [`USERINFO`] for the token,
//! revocation and UserInfo endpoints, [`ANYONE`] for discovery and the
//! JWKS. The sign-in pages, `/authorize` and every other page get no CORS:
//! a browser reaches them by navigating, never by `fetch`.
//!
//! Which origins the token side allows is `portcullis_protocol::cors`'s
//! rule (an origin some enabled client is allowed), answered from the set
//! [`AppState::cors`] keeps in memory. For an allowed origin, a preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) is answered `204` with
//! the methods, the request headers (`Authorization`, `Content-Type`,
//! `DPoP`) and `Access-Control-Max-Age`; every actual answer, errors
//! included, names the origin in `Access-Control-Allow-Origin` and exposes
//! `WWW-Authenticate` and `DPoP-Nonce` (a 401's challenge must be readable).
//! Any other origin gets no CORS header at all, so the browser refuses the
//! page the answer. The answers always say `Vary: Origin`. No
//! `Access-Control-Allow-Credentials`: these endpoints never read cookies.
//!
//! [`AppState::cors`]: crate::AppState

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpResponse, Resource, web};

use crate::AppState;

/// The request headers a page may send to the token side.
pub(crate) const ALLOW_HEADERS: &str = "authorization, content-type, dpop";

/// The answer headers a page may read besides the safelisted ones.
pub(crate) const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";

/// How long a browser may reuse a preflight's answer, in seconds: two
/// hours, Chromium's ceiling (Firefox allows a day). Only round trips are
/// at stake: an actual answer names the origin again, so an origin removed
/// meanwhile is refused at its next request all the same.
pub(crate) const MAX_AGE_SECS: &str = "7200";

/// Who may read an endpoint's answers from a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// Any page (`*`): public documents.
    Anyone,
    /// Pages of an origin some client is allowed.
    ClientOrigins,
}

/// The CORS policy of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cors {
    allowed: Allowed,
    /// `Access-Control-Allow-Methods`.
    methods: &'static str,
    /// `Access-Control-Allow-Headers`, if a page may send any.
    headers: Option<&'static str>,
}

/// `/token` and `/revoke`.
pub(crate) const TOKEN_SIDE: Cors =
    Cors { allowed: Allowed::ClientOrigins, methods: "POST", headers: Some(ALLOW_HEADERS) };

/// `/userinfo` (GET or POST, OIDC Core §5.3.1).
pub(crate) const USERINFO: Cors =
    Cors { allowed: Allowed::ClientOrigins, methods: "GET, POST", headers: Some(ALLOW_HEADERS) };

/// Discovery and the JWKS: public, readable from any page (a plain `GET`
/// needs no preflight; one that sends other headers is not allowed them).
pub(crate) const ANYONE: Cors = Cors { allowed: Allowed::Anyone, methods: "GET", headers: None };

/// The resource at `path`, answering CORS under `policy` (its routes are
/// added by the caller).
pub(crate) fn with_cors(
    path: &str,
    policy: Cors,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(from_fn(move |req, next| cors(req, next, policy)))
}

/// `OPTIONS` with `Origin` and `Access-Control-Request-Method` (Fetch
/// §3.2.2); any other `OPTIONS` goes on to the resource (and its 405).
fn is_preflight(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    req.method() == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// `Access-Control-Allow-Origin` for `req` under `policy`, if any.
async fn allow_origin(req: &ServiceRequest, policy: Cors) -> Option<HeaderValue> {
    if policy.allowed == Allowed::Anyone {
        return Some(HeaderValue::from_static("*"));
    }
    let origin = req.headers().get(header::ORIGIN)?;
    let state = req.app_data::<web::Data<AppState>>()?;
    match state.cors.allows(state.store.as_ref(), state.clock.now(), origin.to_str().ok()?).await {
        Ok(true) => Some(origin.clone()),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the clients' origins: answering without CORS");
            None
        }
    }
}

/// The headers every answer of a resource under `policy` carries.
fn vary(headers: &mut HeaderMap, policy: Cors) {
    if policy.allowed == Allowed::ClientOrigins {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Middleware: answers preflights under `policy`, and adds the CORS
/// headers to the resource's answers.
async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
    policy: Cors,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let allow = allow_origin(&req, policy).await;
    if is_preflight(&req) {
        let mut res = HttpResponse::NoContent().finish();
        let headers = res.headers_mut();
        if let Some(origin) = allow {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(policy.methods));
            if let Some(allowed) = policy.headers {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(allowed));
            }
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECS));
        }
        vary(headers, policy);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if let Some(origin) = allow {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if policy.allowed == Allowed::ClientOrigins {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
        }
    }
    vary(headers, policy);
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse};

    async fn answer(policy: Cors, req: TestRequest) -> ServiceResponse {
        let ok =
            || async { HttpResponse::Unauthorized().insert_header(("www-authenticate", "Bearer")).finish() };
        let app = init_service(App::new().service(with_cors("/r", policy).route(web::get().to(ok)))).await;
        call_service(&app, req.uri("/r").to_request()).await
    }

    fn get(res: &ServiceResponse, name: &str) -> Option<String> {
        res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    fn preflight() -> TestRequest {
        TestRequest::default()
            .method(Method::OPTIONS)
            .insert_header(("origin", "https://app.example"))
            .insert_header(("access-control-request-method", "GET"))
    }

    #[actix_web::test]
    async fn public_documents_answer_any_origin_and_its_preflight() {
        let res = answer(ANYONE, TestRequest::get().insert_header(("origin", "https://app.example"))).await;
        assert_eq!(get(&res, "access-control-allow-origin").as_deref(), Some("*"));
        assert_eq!(get(&res, "access-control-expose-headers"), None);
        let res = answer(ANYONE, preflight()).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(get(&res, "access-control-allow-origin").as_deref(), Some("*"));
        assert_eq!(get(&res, "access-control-allow-methods").as_deref(), Some("GET"));
        assert_eq!(get(&res, "access-control-allow-headers"), None);
        assert_eq!(get(&res, "access-control-max-age").as_deref(), Some(MAX_AGE_SECS));
    }

    #[actix_web::test]
    async fn the_token_side_names_no_origin_it_cannot_check() {
        // No application state: no client is known, so no origin is allowed.
        let res =
            answer(TOKEN_SIDE, TestRequest::get().insert_header(("origin", "https://app.example"))).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the resource still answers");
        assert_eq!(get(&res, "access-control-allow-origin"), None);
        assert_eq!(get(&res, "vary").as_deref(), Some("Origin"));
        let res = answer(TOKEN_SIDE, preflight()).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert!(res.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));
        assert_eq!(get(&res, "vary").as_deref(), Some("Origin"));
    }

    #[actix_web::test]
    async fn an_options_request_without_a_preflight_goes_to_the_resource() {
        let res = answer(ANYONE, TestRequest::default().method(Method::OPTIONS)).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
