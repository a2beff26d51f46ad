//! The console's signing keys: the list and schedule, rotate now, revoke
//! with a typed confirmation. One call into `portcullis_keys::KeysConsole` each.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::RequestInfo;
use portcullis_authn::admin::Admin;
use portcullis_keys::{Actor, Algorithm, KeyError, KeysOverview};
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Change, REAUTH, Reader};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Requester, csrf_protected};
use crate::pages::render;
use crate::routes::oidc::authorize::see_other;

super::console_routes! {
    GET "/keys" => list,
    POST "/keys/rotate" => rotate,
    POST "/keys/{kid}/revoke" => revoke,
}

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).ok())
        .unwrap_or_else(|| "—".to_owned())
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    keys: Vec<KeyLine>,
    next_rotation: String,
    algorithms: Vec<&'static str>,
    notice: Option<&'a str>,
}

struct KeyLine {
    kid: String,
    alg: &'static str,
    state: &'static str,
    created: String,
    activates: String,
    retired: String,
    revocable: bool,
}

/// `?done=…` after a change.
#[derive(Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /admin/keys`.
pub(crate) async fn list(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let KeysOverview { keys, next_rotation, algorithms } = state.keys_console().overview().await?;
    let keys = keys
        .into_iter()
        .map(|k| KeyLine {
            revocable: k.state != portcullis_store::SigningKeyState::Revoked,
            kid: k.kid,
            alg: k.alg.as_str(),
            state: k.state.as_str(),
            created: when(Some(k.created_at)),
            activates: when(Some(k.activates_at)),
            retired: when(k.retired_at),
        })
        .collect();
    let notice = match query.done.as_str() {
        "rotated" => {
            Some("A new key signs from now on; the previous one still verifies until it is removed.")
        }
        "revoked" => Some("The key was revoked: tokens it signed no longer verify."),
        _ => None,
    };
    let page = KeysPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        keys,
        next_rotation: when(next_rotation),
        algorithms: algorithms.iter().map(|a| a.as_str()).collect(),
        notice,
    };
    render(StatusCode::OK, &page)
}

/// A keys form.
#[derive(Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    alg: String,
    /// The typed confirmation of a revocation (the kid).
    #[serde(default)]
    confirm: String,
}
csrf_protected!(KeyForm);

fn actor(admin: &Admin, info: RequestInfo) -> Actor {
    Actor { user_id: Some(admin.user.id.to_string()), ip: info.ip, user_agent: info.user_agent }
}

fn after<T>(done: &str, result: Result<T, KeyError>) -> Result<HttpResponse, PageError> {
    match result {
        Ok(_) => Ok(see_other(&format!("/admin/keys?done={done}"))),
        Err(KeyError::Refused(why)) => Err(PageError::BadRequest(why)),
        Err(KeyError::UnknownKey(_)) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/keys/rotate` (`alg`): a new key signs at once.
pub(crate) async fn rotate(
    state: web::Data<AppState>,
    Requester(info): Requester,
    Change { admin, form }: Change<KeyForm>,
) -> Result<HttpResponse, PageError> {
    admin.may_change().map_err(|_| PageError::SeeOther(REAUTH))?;
    let alg = Algorithm::parse(&form.alg).ok_or_else(|| PageError::BadRequest("unknown algorithm".into()))?;
    let now = state.clock.now();
    after("rotated", state.keys_console().rotate_now(alg, &actor(&admin, info), now).await)
}

/// `POST /admin/keys/{kid}/revoke` (`confirm`: the kid, typed).
pub(crate) async fn revoke(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<KeyForm>,
) -> Result<HttpResponse, PageError> {
    admin.may_change().map_err(|_| PageError::SeeOther(REAUTH))?;
    let now = state.clock.now();
    after("revoked", state.keys_console().revoke(&path, &form.confirm, &actor(&admin, info), now).await)
}
