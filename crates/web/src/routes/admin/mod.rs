//! `/admin`: the administrators' console (server-rendered; every form
//! CSRF-checked; `Cache-Control: no-store`). Who may enter is decided at
//! every request by `portcullis_authn::admin::AdminConsole::access`: an
//! enabled administrator whose session used a second factor, authenticated
//! within 15 minutes to read and 5 minutes to change. Anyone else gets
//! 404 — the console does not exist for them.
//!
//! The admin REST API, with the same operations, is [`api`], under
//! `/admin/api/v1`.
//!
//! Every route is declared once, in its module's `console_routes!`: it is
//! registered from there and listed in [`routes()`], which the access tests
//! walk, so a route added without the gate cannot pass them.

mod activity;
pub(crate) mod api;
mod clients;
mod groups;
mod keys;
mod users;

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub(crate) use crate::extract::{AdminChange as Change, AdminReader as Reader, REAUTH_ADMIN as REAUTH};

/// Declares a console module's routes once (paths below `/admin`): its
/// `configure` registers them, its `ROUTES` lists them.
macro_rules! console_routes {
    ($($method:ident $path:literal => $handler:path),+ $(,)?) => {
        /// This module's console routes: (method, path pattern).
        pub(crate) const ROUTES: &[(&str, &str)] = &[$((stringify!($method), concat!("/admin", $path))),+];

        /// Registers this module's routes (on the `/admin` scope).
        pub(crate) fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            $(cfg.route($path, actix_web::web::method(actix_web::http::Method::$method).to($handler));)+
        }
    };
}
pub(crate) use console_routes;

/// Every console route: (method, path pattern).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    [users::ROUTES, groups::ROUTES, activity::ROUTES, keys::ROUTES, clients::ROUTES].concat()
}

/// Mounts the console: every answer `Cache-Control: no-store`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    let no_store = DefaultHeaders::new().add((CACHE_CONTROL, HeaderValue::from_static("no-store")));
    cfg.service(
        web::scope("/admin")
            .wrap(no_store)
            .configure(api::configure)
            .configure(users::configure)
            .configure(groups::configure)
            .configure(activity::configure)
            .configure(keys::configure)
            .configure(clients::configure),
    );
}
