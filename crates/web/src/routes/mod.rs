//! Route table. Each submodule owns one area and exposes its handlers.

mod assets;
mod health;
pub(crate) mod keys;
mod landing;
mod login;
mod logout;
pub(crate) mod oidc;
mod recover;
mod setup;

use actix_web::web;

use crate::pages::PageError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz)).route("/readyz", web::get().to(health::readyz));
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|e, _| PageError::BadRequest(e.to_string()).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| PageError::BadRequest(e.to_string()).into()))
    .route("/", web::get().to(landing::show))
    .route("/login", web::get().to(login::show))
    .route("/login", web::post().to(login::submit))
    .route("/logout", web::get().to(logout::show))
    .route("/logout", web::post().to(logout::submit))
    .route("/setup", web::get().to(setup::show))
    .route("/setup", web::post().to(setup::submit))
    .route("/static/portcullis.css", web::get().to(assets::stylesheet));
    recover::configure(cfg);
    cfg.route(keys::JWKS_PATH, web::get().to(keys::jwks))
        .route("/.well-known/openid-configuration", web::get().to(keys::openid_configuration))
        .route("/.well-known/oauth-authorization-server", web::get().to(keys::oauth_authorization_server));
    cfg.route(oidc::AUTHORIZE_PATH, web::get().to(oidc::authorize::get))
        .route(oidc::AUTHORIZE_PATH, web::post().to(oidc::authorize::post))
        .route("/authorize/resume", web::get().to(oidc::authorize::resume))
        .route("/consent", web::get().to(oidc::consent::show))
        .route("/consent", web::post().to(oidc::consent::submit))
        .route(oidc::TOKEN_PATH, web::post().to(oidc::token::token))
        .route(oidc::INTROSPECT_PATH, web::post().to(oidc::token::introspect))
        .route(oidc::REVOKE_PATH, web::post().to(oidc::token::revoke))
        .route(oidc::USERINFO_PATH, web::get().to(oidc::userinfo::get))
        .route(oidc::USERINFO_PATH, web::post().to(oidc::userinfo::post))
        .route(oidc::END_SESSION_PATH, web::get().to(oidc::end_session::get))
        .route(oidc::END_SESSION_PATH, web::post().to(oidc::end_session::post))
        .route("/end_session/confirm", web::post().to(oidc::end_session::confirm));
}
