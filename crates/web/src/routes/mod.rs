//! Route table. Each submodule owns one area and exposes its handlers.

mod account;
pub(crate) mod admin;
mod assets;
pub(crate) mod health;
pub(crate) mod keys;
mod landing;
mod login;
mod logout;
mod mfa;
pub(crate) mod oidc;
mod passkey;
mod recover;
mod setup;
mod upstream;

use actix_web::web;
use portcullis_protocol::device::VERIFICATION_PATH;

use crate::cors::{self, with_cors};
use crate::errors::{ApiError, PageError};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    // The machine-facing endpoints first: routing (and the route label of
    // the metrics) tries resources in this order.
    // Those a page calls with `fetch` answer CORS (`crate::cors`);
    // introspection is for resource servers, never pages.
    cfg.service(with_cors(oidc::TOKEN_PATH, cors::TOKEN_SIDE).route(web::post().to(oidc::token::token)))
        .service(with_cors(oidc::PAR_PATH, cors::TOKEN_SIDE).route(web::post().to(oidc::token::par)))
        .service(
            with_cors(oidc::USERINFO_PATH, cors::USERINFO)
                .route(web::get().to(oidc::userinfo::get))
                .route(web::post().to(oidc::userinfo::post)),
        )
        .route(oidc::INTROSPECT_PATH, web::post().to(oidc::token::introspect))
        .service(with_cors(keys::JWKS_PATH, cors::ANYONE).route(web::get().to(keys::jwks)))
        .service(
            with_cors("/.well-known/openid-configuration", cors::ANYONE)
                .route(web::get().to(keys::openid_configuration)),
        )
        .service(with_cors(oidc::REVOKE_PATH, cors::TOKEN_SIDE).route(web::post().to(oidc::token::revoke)))
        .route(oidc::DEVICE_AUTHORIZATION_PATH, web::post().to(oidc::device::device_authorization))
        .service(
            with_cors("/.well-known/oauth-authorization-server", cors::ANYONE)
                .route(web::get().to(keys::oauth_authorization_server)),
        );
    cfg.route("/healthz", web::get().to(health::healthz)).route("/readyz", web::get().to(health::readyz));
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|e, _| PageError::BadRequest(e.to_string()).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| PageError::BadRequest(e.to_string()).into()))
    .app_data(web::JsonConfig::default().limit(64 * 1024).error_handler(|e, _| {
        tracing::info!(error = %e, "malformed JSON body");
        ApiError::InvalidRequest.into()
    }))
    .route("/", web::get().to(landing::show))
    .route("/login", web::get().to(login::show))
    .route("/login", web::post().to(login::submit))
    .route("/logout", web::get().to(logout::show))
    .route("/logout", web::post().to(logout::submit))
    .route("/setup", web::get().to(setup::show))
    .route("/setup", web::post().to(setup::submit))
    .route("/login/mfa", web::get().to(mfa::show))
    .route("/login/mfa", web::post().to(mfa::submit))
    .route("/login/passkey/options", web::post().to(passkey::signin_options))
    .route("/login/passkey", web::post().to(passkey::signin))
    .route("/login/upstream/{id}", web::get().to(upstream::start))
    .route("/login/upstream/{id}/callback", web::get().to(upstream::callback))
    .route("/account", web::get().to(account::show))
    .route("/account/passkeys/options", web::post().to(passkey::register_options))
    .route("/account/passkeys", web::post().to(passkey::register))
    .route("/account/passkeys/{id}/delete", web::post().to(account::passkey_remove))
    .route("/account/totp", web::post().to(account::totp_begin))
    .route("/account/totp/confirm", web::post().to(account::totp_confirm))
    .route("/account/totp/delete", web::post().to(account::totp_remove))
    .route("/account/recovery-codes", web::post().to(account::recovery_regenerate))
    .route("/account/recovery-codes/initial", web::post().to(account::recovery_initial))
    .route("/account/password", web::post().to(account::password_change))
    .route("/account/sessions/end", web::post().to(account::session_end))
    .route("/account/apps/disconnect", web::post().to(account::app_disconnect))
    .route("/account/upstreams/link", web::post().to(account::upstream_link))
    .route("/account/upstreams/unlink", web::post().to(account::upstream_unlink))
    .route("/static/portcullis.css", web::get().to(assets::stylesheet))
    .route("/static/passkey.js", web::get().to(assets::passkey_script));
    recover::configure(cfg);
    admin::configure(cfg);
    cfg.route(oidc::AUTHORIZE_PATH, web::get().to(oidc::authorize::get))
        .route(oidc::AUTHORIZE_PATH, web::post().to(oidc::authorize::post))
        .route("/authorize/resume", web::get().to(oidc::authorize::resume))
        .route("/consent", web::get().to(oidc::consent::show))
        .route("/consent", web::post().to(oidc::consent::submit))
        .route(VERIFICATION_PATH, web::get().to(oidc::device::show))
        .route(VERIFICATION_PATH, web::post().to(oidc::device::submit))
        .route("/device/decide", web::post().to(oidc::device::decide))
        .route(oidc::END_SESSION_PATH, web::get().to(oidc::end_session::get))
        .route(oidc::END_SESSION_PATH, web::post().to(oidc::end_session::post))
        .route("/end_session/confirm", web::post().to(oidc::end_session::confirm));
}
