//! `/`: who is signed in, or a link to sign in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::pages::{LandingPage, PageError, render};
use crate::{AppState, Auth, session};

/// `GET /`.
pub(crate) async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, PageError> {
    let session = session::current(&req, &state, &auth).await?;
    let user = session::user_of(&state, &auth, session.as_ref()).await?;
    let csrf_token = session.as_ref().map_or("", |s| s.csrf_token.as_str());
    render(StatusCode::OK, &LandingPage { signed_in_as: user.as_ref().map(|u| u.shown_name()), csrf_token })
}
