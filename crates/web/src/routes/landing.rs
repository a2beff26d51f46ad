//! `/`: who is signed in, or a link to sign in.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::AppState;
use crate::errors::PageError;
use crate::extract::CurrentSession;
use crate::pages::{LandingPage, render};

/// `GET /`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    CurrentSession(session): CurrentSession,
) -> Result<HttpResponse, PageError> {
    let user = state.sessions().user_of(session.as_ref()).await?;
    let csrf_token = session.as_ref().map_or("", |s| s.csrf_token.as_str());
    render(StatusCode::OK, &LandingPage { signed_in_as: user.as_ref().map(|u| u.shown_name()), csrf_token })
}
