//! `GET /jwks`: precomputed bytes, a strong ETag, conditional GET.

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;

/// True when `If-None-Match` names `etag` (or is `*`). Comparison is weak,
/// as RFC 9110 §13.1.2 requires for this header.
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// `GET /jwks`: the public keys of every staged, active and retired key.
pub(crate) async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let set = state.keys.current();
    let cache_control = state.publication.jwks_cache_control();
    let mut res = if not_modified(req.headers(), set.etag()) {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok().content_type("application/json").body(web::Bytes::from_owner(set.jwks()))
    };
    let headers = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(set.etag()) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, cache_control);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn if_none_match_matches_lists_weak_tags_and_star() {
        assert!(not_modified(&with("\"abc\""), "\"abc\""));
        assert!(not_modified(&with("\"x\", W/\"abc\""), "\"abc\""));
        assert!(not_modified(&with("*"), "\"abc\""));
        assert!(!not_modified(&with("\"abd\""), "\"abc\""));
        assert!(!not_modified(&HeaderMap::new(), "\"abc\""));
    }
}
