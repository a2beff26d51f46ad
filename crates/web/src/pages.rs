//! Server-rendered pages (askama, `web/templates/`) and the one mapping from
//! page errors to friendly HTTP answers.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Template)]
#[template(path = "pages/login.html")]
pub(crate) struct LoginPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) message: Option<&'a str>,
    pub(crate) notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pages/landing.html")]
pub(crate) struct LandingPage<'a> {
    pub(crate) signed_in_as: Option<&'a str>,
    pub(crate) csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/logout.html")]
pub(crate) struct LogoutPage<'a> {
    pub(crate) csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
pub(crate) struct SetupPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) token: &'a str,
    pub(crate) username: &'a str,
    pub(crate) email: &'a str,
    pub(crate) min_length: usize,
    pub(crate) message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// Renders `page` with `status`.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, PageError> {
    let html = page.render().map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(HttpResponse::build(status).content_type(ContentType::html()).body(html))
}

/// Why a page cannot be shown; each maps to a friendly page, never a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// The CSRF token is missing or wrong.
    #[error("forbidden: bad or missing CSRF token")]
    Csrf,
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The setup link is unknown, used or expired.
    #[error("invalid setup link")]
    SetupLink,
    /// Something failed on our side (logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<portcullis_store::StoreError> for PageError {
    fn from(e: portcullis_store::StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<portcullis_authn::AuthnError> for PageError {
    fn from(e: portcullis_authn::AuthnError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Csrf | Self::SetupLink => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            Self::Csrf => (
                "Request refused",
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ),
            Self::BadRequest(_) => ("Bad request", "The request could not be understood."),
            Self::SetupLink => {
                ("Setup link not valid", "This setup link is unknown, already used or expired.")
            }
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                ("Something went wrong", "Please try again in a moment.")
            }
        };
        let html = ErrorPage { title, message }.render().unwrap_or_else(|_| title.to_owned());
        HttpResponse::build(self.status_code()).content_type(ContentType::html()).body(html)
    }
}
