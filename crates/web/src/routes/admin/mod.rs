//! `/admin`: the administrators' console (server-rendered; every form
//! CSRF-checked; `Cache-Control: no-store`). Who may enter is decided at
//! every request by `portcullis_authn::admin::AdminConsole::access`: an
//! enabled administrator whose session used a second factor, authenticated
//! within 15 minutes to read and 5 minutes to change. Anyone else gets
//! 404 — the console does not exist for them.
//!
//! Every route is declared once in [`routes!`]: it is registered from
//! there and listed in [`ROUTES`], which the access tests walk, so a route
//! added without the gate cannot pass them.

mod users;

use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

pub(crate) use crate::extract::{AdminChange as Change, AdminReader as Reader, REAUTH_ADMIN as REAUTH};

/// Declares the console's routes once (paths below `/admin`): registered
/// by `configure`, listed in `ROUTES`.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),+ $(,)?) => {
        /// Every console route: (method, path pattern).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), concat!("/admin", $path))),+];

        pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
            let no_store = DefaultHeaders::new().add((CACHE_CONTROL, HeaderValue::from_static("no-store")));
            cfg.service(
                web::scope("/admin")
                    .wrap(no_store)
                    $(.route($path, web::method(actix_web::http::Method::$method).to($handler)))+
            );
        }
    };
}

routes! {
    GET "" => users::dashboard,
    GET "/users" => users::list,
    GET "/users/{id}" => users::show,
    POST "/users/{id}/disable" => users::disable,
    POST "/users/{id}/enable" => users::enable,
    POST "/users/{id}/reset-second-factors" => users::reset_second_factors,
    POST "/users/{id}/require-second-factor" => users::require_second_factor,
    POST "/users/{id}/end-sessions" => users::end_sessions,
}
