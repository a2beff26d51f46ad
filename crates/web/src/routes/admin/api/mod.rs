//! `/admin/api/v1`: the admin REST API — the console's operations as JSON,
//! for automation (provisioning, scripts, directory sync).
//!
//! Who may call it is decided before any handler runs, by [`gate`] (in
//! `extract`: a middleware on the whole scope, so a route cannot be added
//! without it):
//! - an RFC 9068 access token (`Authorization: Bearer …`) from the
//!   client-credentials grant with the `admin` scope, of a client that is,
//!   at this moment, enabled and marked `admin_api`
//!   (`portcullis_protocol::access::admin_api_client`); or
//! - an administrator's browser session, as the console's pages accept it
//!   (second factor, authenticated within 15 minutes to read and 5 to
//!   change), plus — for anything but `GET` — the session's CSRF token in
//!   the `X-CSRF-Token` header.
//!
//! No credentials: 401. A signed-in non-administrator: 404, as for the
//! pages. Errors are RFC 9457 problem details ([`AdminApiError`]). Lists
//! take `limit` (1–200, default 50) and an opaque `cursor`, and answer
//! `{"items": [...], "next": "…" | null}`. Users and groups carry an `ETag`;
//! `PATCH` needs `If-Match` (428 without, 412 when stale, nothing written).
//! The OpenAPI 3.1 document is generated from the handlers' annotations
//! ([`ApiDoc`]) and served at `/admin/api/v1/openapi.json`.

mod activity;
mod clients;
mod groups;
mod users;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::{Ready, ready};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::errors::AdminApiError;
pub(crate) use crate::extract::{Caller, gate};

/// Where the API lives.
pub(crate) const BASE: &str = "/admin/api/v1";

pub(crate) use crate::extract::CSRF_HEADER;

/// Declares an API module's routes once (paths below [`BASE`]): its
/// `configure` registers them, its `ROUTES` lists them.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),+ $(,)?) => {
        /// This module's API routes: (method, path pattern).
        pub(crate) const ROUTES: &[(&str, &str)] = &[$((stringify!($method), concat!("/admin/api/v1", $path))),+];

        /// Registers this module's routes (on the API scope).
        pub(crate) fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            $(cfg.route($path, actix_web::web::method(actix_web::http::Method::$method).to($handler));)+
        }
    };
}
pub(crate) use api_routes;

/// Every API route behind the gate: (method, path pattern).
pub fn routes() -> Vec<(&'static str, &'static str)> {
    [users::ROUTES, groups::ROUTES, clients::ROUTES, activity::ROUTES].concat()
}

/// Mounts the API (inside the `/admin` scope): the OpenAPI document, then
/// every route behind [`gate`].
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    let problem = |why: String| actix_web::Error::from(AdminApiError::Invalid(why));
    cfg.route("/api/v1/openapi.json", web::get().to(openapi));
    cfg.service(
        web::scope("/api/v1")
            .wrap(from_fn(gate))
            .app_data(
                web::JsonConfig::default()
                    .limit(64 * 1024)
                    .error_handler(move |e, _| problem(format!("the JSON body: {e}"))),
            )
            .app_data(
                web::QueryConfig::default().error_handler(move |e, _| problem(format!("the query: {e}"))),
            )
            .app_data(web::PathConfig::default().error_handler(move |e, _| problem(format!("the path: {e}"))))
            .configure(users::configure)
            .configure(groups::configure)
            .configure(clients::configure)
            .configure(activity::configure),
    );
}

/// `GET /admin/api/v1/openapi.json`: the API's OpenAPI 3.1 document (the
/// same for every installation: it is generated from this code).
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document())
}

/// The OpenAPI document as served.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned())
}

/// The version an update is based on: the `If-Match` entity tag (428
/// without one, 412 for `*` or a weak tag: name a version).
#[derive(Debug)]
pub(crate) struct IfMatch(pub(crate) String);

impl FromRequest for IfMatch {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let Some(value) = req.headers().get(header::IF_MATCH) else {
            return ready(Err(AdminApiError::IfMatchRequired.into()));
        };
        let tag = value
            .to_str()
            .ok()
            .and_then(|v| v.split(',').map(str::trim).find(|t| t.starts_with('"')))
            .and_then(|t| t.strip_prefix('"')?.strip_suffix('"'))
            .map(str::to_owned);
        ready(tag.map(Self).ok_or_else(|| AdminApiError::Stale.into()))
    }
}

/// `value` with its `ETag` (a strong tag over `version`).
pub(crate) fn tagged<T: Serialize>(
    status: actix_web::http::StatusCode,
    value: &T,
    version: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.insert_header((header::ETAG, tag));
    }
    response.json(value)
}

/// `limit` and `cursor` of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many items (1–200; default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Where the page starts: the `next` of the previous page.
    cursor: Option<String>,
}

impl PageQuery {
    /// The page size asked for (the console's operations clamp it).
    pub(crate) fn limit(&self) -> Result<u32, AdminApiError> {
        match self.limit {
            None => Ok(portcullis_authn::admin::PAGE_SIZE),
            Some(n @ 1..=portcullis_authn::admin::MAX_PAGE_SIZE) => Ok(n),
            Some(_) => Err(AdminApiError::Invalid("limit is 1 to 200".into())),
        }
    }

    /// The position `cursor` carries (made by [`cursor`] with `kind`); 400
    /// for one that is not.
    pub(crate) fn after(&self, kind: &str) -> Result<Option<String>, AdminApiError> {
        let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) else { return Ok(None) };
        let bad = || AdminApiError::Invalid("cursor is not one this API made".into());
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (k, position) = text.split_once('|').ok_or_else(bad)?;
        if k != kind || position.chars().any(char::is_control) {
            return Err(bad());
        }
        Ok(Some(position.to_owned()))
    }
}

/// An opaque cursor for `position` in a list of `kind`.
pub(crate) fn cursor(kind: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}|{position}"))
}

/// One page of `items` in the order of `key`: those after `after`, at most
/// `limit`, and the cursor of the next page (lists the store gives whole:
/// groups, clients, keys, a user's sessions).
pub(crate) fn page_of<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    after: Option<&str>,
    limit: u32,
    kind: &str,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .map(|item| (key(&item), item))
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    let limit = limit as usize;
    let next = (rest.len() > limit).then(|| cursor(kind, &rest[limit - 1].0));
    rest.truncate(limit);
    (rest.into_iter().map(|(_, item)| item).collect(), next)
}

/// A text parameter: trimmed, blank is none; 400 for control characters
/// or more than 256 characters.
pub(crate) fn text(value: Option<&str>, name: &str) -> Result<Option<String>, AdminApiError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > 256 || value.chars().any(char::is_control) {
        return Err(AdminApiError::Invalid(format!("{name} is at most 256 printable characters")));
    }
    Ok(Some(value.to_owned()))
}

/// A path segment naming a thing by its own id (client, session, key):
/// 404 for one no id can be.
pub(crate) fn segment(value: &str) -> Result<&str, AdminApiError> {
    if value.is_empty() || value.len() > 512 || value.chars().any(char::is_control) {
        return Err(AdminApiError::NotFound);
    }
    Ok(value)
}

/// A user or group id from the path: 404 for anything but a UUID.
pub(crate) fn uuid(value: &str) -> Result<uuid::Uuid, AdminApiError> {
    value.parse().map_err(|_| AdminApiError::NotFound)
}

/// An instant as the API writes it (RFC 3339, UTC).
pub(crate) fn instant(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A list's answer.
#[derive(Debug, Serialize)]
pub(crate) struct List<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
}

/// Declares the schema of a list of `$item` (utoipa: one named type each).
macro_rules! list_schema {
    ($name:ident, $item:ty) => {
        /// A page of items and the cursor of the next page (`null`: the last page).
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub(crate) struct $name {
            items: Vec<$item>,
            /// Pass as `cursor` for the next page; `null` on the last page.
            next: Option<String>,
        }
    };
}
pub(crate) use list_schema;

/// An RFC 9457 problem, as every error of this API is answered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Problem {
    /// `urn:portcullis:problem:<code>`.
    r#type: String,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, for a person.
    detail: String,
    /// The stable code (`invalid_request`, `invalid_token`, `not_found`, …).
    code: String,
}

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis admin API",
        version = "1",
        description = "Users, groups, clients, sessions, signing keys and the audit log of a Portcullis identity provider."
    ),
    paths(
        users::list,
        users::create,
        users::show,
        users::edit,
        users::delete,
        users::disable,
        users::enable,
        users::password_reset,
        users::reset_second_factors,
        users::require_second_factor,
        users::sessions,
        users::end_sessions,
        users::clients,
        users::revoke_client,
        groups::list,
        groups::create,
        groups::show,
        groups::rename,
        groups::delete,
        groups::add_member,
        groups::remove_member,
        clients::list,
        clients::register,
        clients::show,
        clients::delete,
        clients::rotate_secret,
        clients::disable,
        clients::enable,
        activity::sessions,
        activity::end_session,
        activity::keys,
        activity::rotate_key,
        activity::revoke_key,
        activity::audit,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub(crate) struct ApiDoc;

/// What every operation shares, added to the document once: the security
/// schemes and the problem responses.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An RFC 9068 access token from the client_credentials grant with scope `admin` \
                         (clients marked admin_api only).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::SESSION_COOKIE,
                "An administrator's browser session (second factor; 15 minutes to read, 5 to change).",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                CSRF_HEADER,
                "The session's CSRF token, on every call but GET (session callers only).",
            ))),
        );
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                        .build(),
                )
                .build()
        };
        let common = [
            ("400", "Malformed request (invalid_request)"),
            ("401", "No usable credentials (invalid_token)"),
            (
                "403",
                "Not allowed (insufficient_scope, csrf, reauthentication_required, second_factor_required)",
            ),
            ("404", "No such resource"),
            ("429", "Too many requests"),
            ("503", "The database cannot be reached"),
        ];
        let changes = [
            ("409", "Conflicts with the current state"),
            ("412", "If-Match names an outdated version: nothing was written"),
            ("422", "Refused by a rule of the change"),
            ("428", "If-Match is required"),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, true),
            ];
            for (operation, changing) in operations {
                let Some(operation) = operation else { continue };
                // Unique ids: the handlers' names repeat across resources.
                if let (Some(tag), Some(id)) =
                    (operation.tags.as_ref().and_then(|t| t.first()), &operation.operation_id)
                {
                    operation.operation_id = Some(format!("{tag}_{id}"));
                }
                let extra: &[(&str, &str)] = if changing { &changes } else { &[] };
                for (status, description) in common.iter().chain(extra) {
                    if !operation.responses.responses.contains_key(*status) {
                        operation
                            .responses
                            .responses
                            .insert((*status).to_owned(), problem(description).into());
                    }
                }
            }
        }
    }
}
