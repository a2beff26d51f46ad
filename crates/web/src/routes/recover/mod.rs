//! The recovery pages: `/recover` (forgot password) and the reset link,
//! `/verify-email`, `/account/email` (change of address) and the magic
//! sign-in link (`/login/magic`). Each form carries the session's CSRF
//! token; a bad, used or expired link is a friendly page, never a 500.

mod email_change;
mod magic;
mod reset;
mod verify;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::errors::PageError;
use crate::pages::render;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/recover", web::get().to(reset::show_request))
        .route("/recover", web::post().to(reset::submit_request))
        .route("/recover/reset", web::get().to(reset::show_reset))
        .route("/recover/reset", web::post().to(reset::submit_reset))
        .route("/verify-email", web::get().to(verify::show))
        .route("/verify-email", web::post().to(verify::submit))
        .route("/account/email", web::get().to(email_change::show))
        .route("/account/email", web::post().to(email_change::submit))
        .route("/login/magic", web::post().to(magic::request))
        .route("/login/magic", web::get().to(magic::open))
        .route("/login/magic/confirm", web::post().to(magic::confirm));
}

/// `?token=…` (and, for magic links, `&request=…`).
#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    request: String,
}
crate::extract::names_request!(TokenQuery);

#[derive(Template)]
#[template(path = "pages/link_invalid.html")]
struct LinkInvalidPage<'a> {
    again: &'a str,
    again_label: &'a str,
}

/// The page for an unknown, used or expired link (400), offering `again`.
fn invalid_link(again: &str, again_label: &str) -> Result<HttpResponse, PageError> {
    render(StatusCode::BAD_REQUEST, &LinkInvalidPage { again, again_label })
}
