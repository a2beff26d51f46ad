//! Security headers on every response of the public listener.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// No inline script or style, nothing from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The CSP of a page whose form ends in a redirect to `target` (a verified
/// redirect URI): browsers apply `form-action` to the whole redirect chain
/// of the submission, so the target's origin (or scheme, for native apps)
/// must be allowed too.
pub(crate) fn csp_allowing_redirect_to(target: &url::Url) -> Option<HeaderValue> {
    csp_allowing_redirects_to(std::slice::from_ref(target))
}

/// [`csp_allowing_redirect_to`] for several targets; `None` when there is
/// none, or one cannot be written as a source.
pub(crate) fn csp_allowing_redirects_to(targets: &[url::Url]) -> Option<HeaderValue> {
    let mut sources = String::new();
    for target in targets {
        let source = match target.origin() {
            url::Origin::Tuple(..) => target.origin().ascii_serialization(),
            url::Origin::Opaque(_) => format!("{}:", target.scheme()),
        };
        if source.bytes().any(|b| b == b';' || b == b',' || b.is_ascii_whitespace() || b == b'\'') {
            return None;
        }
        sources.push(' ');
        sources.push_str(&source);
    }
    if sources.is_empty() {
        return None;
    }
    let csp = CONTENT_SECURITY_POLICY.replace("form-action 'self'", &format!("form-action 'self'{sources}"));
    HeaderValue::from_str(&csp).ok()
}

/// `Strict-Transport-Security` for an `https` issuer: a browser that saw it
/// uses only https for the issuer's host for a year, so a network attacker
/// cannot strip TLS from a later visit (RFC 6797). A year is common practice
/// and what OWASP recommends; shorter values leave gaps between visits.
/// `includeSubDomains` covers the hosts under the issuer's (rarely anything
/// but the identity provider's own), so none of them can be used over plain
/// http to plant cookies for the issuer's domain or to phish in its name.
/// No `preload`: entering a domain into browsers' built-in lists is the
/// operator's decision about the whole domain, not this server's.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Which headers [`security_headers`] adds beyond the fixed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPolicy {
    /// Send [`STRICT_TRANSPORT_SECURITY`]: the issuer is `https`. (With an
    /// `http` issuer — loopback development — browsers ignore it anyway,
    /// and it would pin `localhost` to https for a year.)
    pub hsts: bool,
}

impl HeaderPolicy {
    /// The policy for `issuer`: HSTS when it is `https`.
    pub fn for_issuer(issuer: &portcullis_core::Issuer) -> Self {
        Self { hsts: issuer.url().scheme() == "https" }
    }
}

/// Middleware: CSP, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
/// `X-Content-Type-Options: nosniff`, `Strict-Transport-Security` when
/// `policy` says so, and `Cache-Control: no-store` unless the handler chose
/// a caching policy (static files).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
    policy: HeaderPolicy,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if policy.hsts {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
    // A page that resumes an authorization request widens `form-action` to
    // the verified redirect URI (see `csp_allowing_redirect_to`); all others get the default.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
