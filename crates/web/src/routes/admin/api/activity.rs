//! `sessions`, `keys` and `audit`: live sessions (end one), the signing
//! keys (rotate now, revoke), the audit log (filtered, newest first).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_authn::admin::{AuditPage, SessionsPage};
use portcullis_keys::{Algorithm, KeysOverview};
use portcullis_store::{AuditFilter, AuditOutcome, SessionCursor};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::users::SessionList;
use super::users::SessionOut;
use super::{Caller, List, PageQuery, instant, list_schema, segment, text};
use crate::AppState;
use crate::errors::AdminApiError;

super::api_routes! {
    GET "/sessions" => sessions,
    DELETE "/sessions/{sid}" => end_session,
    GET "/keys" => keys,
    POST "/keys/rotate" => rotate_key,
    POST "/keys/{kid}/revoke" => revoke_key,
    GET "/audit" => audit,
}

type Answer = Result<HttpResponse, AdminApiError>;

/// A sessions cursor's position: `<unix nanoseconds>.<sid>`.
fn session_cursor(text: &str) -> Result<SessionCursor, AdminApiError> {
    let bad = || AdminApiError::Invalid("cursor is not one this API made".into());
    let (nanos, sid) = text.split_once('.').ok_or_else(bad)?;
    let created_at =
        OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok(SessionCursor { created_at, sid: sid.to_owned() })
}

/// Every live session of a signed-in user, newest first.
#[utoipa::path(get, path = "/admin/api/v1/sessions", tag = "sessions", params(PageQuery),
    responses((status = 200, description = "A page of sessions", body = SessionList)))]
pub(crate) async fn sessions(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> Answer {
    let limit = page.limit()?;
    let after = page.after("sessions")?.as_deref().map(session_cursor).transpose()?;
    let SessionsPage { sessions, next } = state.admin().sessions_page(caller.by(), after, limit).await?;
    let items = sessions.iter().map(|row| SessionOut::of(&row.session, &row.username)).collect();
    let next = next
        .map(|c| super::cursor("sessions", &format!("{}.{}", c.created_at.unix_timestamp_nanos(), c.sid)));
    Ok(HttpResponse::Ok().json(List { items, next }))
}

/// Ends one session (with its back-channel logouts).
#[utoipa::path(delete, path = "/admin/api/v1/sessions/{sid}", tag = "sessions", params(("sid" = String, Path)),
    responses((status = 204, description = "Ended")))]
pub(crate) async fn end_session(
    state: web::Data<AppState>,
    caller: Caller,
    sid: web::Path<String>,
) -> Answer {
    state.admin().end_session(caller.by(), segment(&sid)?, &caller.info).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A signing key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyOut {
    kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    alg: String,
    /// `next`, `active`, `retired` or `revoked`.
    state: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    activates_at: String,
    #[schema(format = DateTime)]
    retired_at: Option<String>,
}

/// The signing keys and the schedule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeysOut {
    /// Every stored key, oldest first.
    items: Vec<KeyOut>,
    /// Always null: the list is whole.
    next: Option<String>,
    /// When the next scheduled activation happens, if any.
    #[schema(format = DateTime)]
    next_rotation: Option<String>,
}

/// Which algorithm to rotate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateKeyIn {
    /// `RS256`, `ES256` or `EdDSA` (default: the first configured).
    #[serde(default)]
    alg: Option<String>,
}

/// The key that signs now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotatedKey {
    kid: String,
}

/// What a revocation did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RevokedKey {
    /// The key that signs in its place (when it was signing).
    replacement: Option<String>,
}

/// The signing keys (kid, algorithm, state, dates) and the next rotation.
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys",
    responses((status = 200, description = "The keys", body = KeysOut)))]
pub(crate) async fn keys(state: web::Data<AppState>, _caller: Caller) -> Answer {
    let KeysOverview { keys, next_rotation, .. } = state.keys_console().overview().await?;
    let items = keys
        .into_iter()
        .map(|k| KeyOut {
            kid: k.kid,
            alg: k.alg.as_str().to_owned(),
            state: k.state.as_str().to_owned(),
            created_at: instant(k.created_at),
            activates_at: instant(k.activates_at),
            retired_at: k.retired_at.map(instant),
        })
        .collect();
    Ok(HttpResponse::Ok().json(KeysOut { items, next: None, next_rotation: next_rotation.map(instant) }))
}

/// Rotates now: a new key signs at once; the previous one still verifies until it is removed.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys", request_body = RotateKeyIn,
    responses((status = 201, description = "Rotated", body = RotatedKey)))]
pub(crate) async fn rotate_key(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RotateKeyIn>,
) -> Answer {
    let console = state.keys_console();
    let alg = match body.alg.as_deref() {
        None => console.service.policy().algorithms.first().copied().unwrap_or(Algorithm::Rs256),
        Some(alg) => {
            Algorithm::parse(alg).ok_or_else(|| AdminApiError::Unprocessable("unknown algorithm".into()))?
        }
    };
    let kid = console.rotate_now(alg, &caller.keys_actor()?, state.clock.now()).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(RotatedKey { kid }))
}

/// Revokes a key: tokens signed with it stop validating at once.
#[utoipa::path(post, path = "/admin/api/v1/keys/{kid}/revoke", tag = "keys", params(("kid" = String, Path)),
    responses((status = 200, description = "Revoked", body = RevokedKey)))]
pub(crate) async fn revoke_key(state: web::Data<AppState>, caller: Caller, kid: web::Path<String>) -> Answer {
    let kid = segment(&kid)?;
    let actor = caller.keys_actor()?;
    let replacement = state.keys_console().revoke(kid, kid, &actor, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(RevokedKey { replacement }))
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditOut {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    /// What happened (`signin.success`, `user.disabled`, …).
    kind: String,
    /// `success` or `failure`.
    outcome: String,
    /// The user it is about, if any.
    user_id: Option<Uuid>,
    ip: Option<String>,
    user_agent: Option<String>,
    /// Details; `actor` names who made an admin change (a user id,
    /// `client:<id>` or `cli`).
    detail: serde_json::Value,
}

list_schema!(AuditList, AuditOut);

/// The audit log's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Events about this user.
    user: Option<Uuid>,
    /// Events of this kind.
    kind: Option<String>,
    /// `success` or `failure`.
    outcome: Option<String>,
    /// Events from this address.
    ip: Option<String>,
    /// At or after this instant (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Before this instant (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
}

fn rfc3339(value: Option<&str>, name: &str) -> Result<Option<OffsetDateTime>, AdminApiError> {
    value
        .map(|v| OffsetDateTime::parse(v.trim(), &Rfc3339))
        .transpose()
        .map_err(|_| AdminApiError::Invalid(format!("{name} is an RFC 3339 instant")))
}

/// The audit log, newest first, filtered.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", params(AuditQuery, PageQuery),
    responses((status = 200, description = "A page of events", body = AuditList)))]
pub(crate) async fn audit(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
    page: web::Query<PageQuery>,
) -> Answer {
    let before_id = match page.after("audit")? {
        None => None,
        Some(id) => Some(id.parse::<i64>().map_err(|_| AdminApiError::Invalid("bad cursor".into()))?),
    };
    let outcome = match text(query.outcome.as_deref(), "outcome")? {
        None => None,
        Some(o) => Some(
            AuditOutcome::parse(&o)
                .map_err(|_| AdminApiError::Invalid("outcome is success or failure".into()))?,
        ),
    };
    let filter = AuditFilter {
        user_id: query.user,
        kind: text(query.kind.as_deref(), "kind")?,
        outcome,
        ip: text(query.ip.as_deref(), "ip")?,
        from: rfc3339(query.from.as_deref(), "from")?,
        to: rfc3339(query.to.as_deref(), "to")?,
        before_id,
        limit: page.limit()?,
    };
    let AuditPage { events, next } = state.admin().audit_page(caller.by(), filter).await?;
    let items = events
        .into_iter()
        .map(|e| AuditOut {
            id: e.id,
            at: instant(e.event.at),
            kind: e.event.kind,
            outcome: e.event.outcome.as_str().to_owned(),
            user_id: e.event.user_id,
            ip: e.event.ip,
            user_agent: e.event.user_agent,
            detail: e.event.detail,
        })
        .collect();
    Ok(HttpResponse::Ok().json(List { items, next: next.map(|id| super::cursor("audit", &id.to_string())) }))
}
