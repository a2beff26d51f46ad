//! `/static/…`: the stylesheet and the passkey script, compiled in (no build step).

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};

const STYLESHEET: &str = include_str!("../../../../web/static/portcullis.css");

/// `GET /static/portcullis.css`.
pub(crate) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

const PASSKEY_SCRIPT: &str = include_str!("../../../../web/static/passkey.js");

/// `GET /static/passkey.js`.
pub(crate) async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(PASSKEY_SCRIPT)
}
