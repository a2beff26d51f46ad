//! The console's sessions and audit log. One call into `AdminConsole` each.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::AuthnError;
use portcullis_authn::admin::{AuditPage, PAGE_SIZE, SessionsPage};
use portcullis_store::{AuditFilter, AuditOutcome, SessionCursor};
use serde::Deserialize;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::{Change, REAUTH, Reader};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Requester, csrf_protected};
use crate::pages::render;
use crate::routes::oidc::authorize::see_other;

super::console_routes! {
    GET "/sessions" => sessions,
    POST "/sessions/{sid}/end" => end_session,
    GET "/audit" => audit,
    GET "/audit/export" => export,
}

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC")).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
struct SessionsView<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    rows: Vec<SessionLine>,
    next: Option<String>,
    notice: Option<&'a str>,
}

struct SessionLine {
    sid: String,
    user_id: String,
    username: String,
    created: String,
    last_seen: String,
    ip: String,
    user_agent: String,
    amr: String,
    acr: String,
}

/// `?after=…&done=…` of the sessions page.
#[derive(Deserialize)]
pub(crate) struct SessionsQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// A sessions cursor as carried in a link: `<unix nanoseconds>.<sid>`.
fn cursor_text(c: &SessionCursor) -> String {
    format!("{}.{}", c.created_at.unix_timestamp_nanos(), c.sid)
}

fn cursor(text: &str) -> Option<SessionCursor> {
    let (nanos, sid) = text.split_once('.')?;
    let created_at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some(SessionCursor { created_at, sid: sid.to_owned() })
}

/// `GET /admin/sessions`: every live session of a signed-in user, newest first.
pub(crate) async fn sessions(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, PageError> {
    let SessionsPage { sessions, next } =
        state.admin().sessions_page(&admin, cursor(&query.after), PAGE_SIZE).await?;
    let rows = sessions
        .into_iter()
        .map(|r| SessionLine {
            sid: r.session.sid,
            user_id: r.session.user_id.map(|u| u.to_string()).unwrap_or_default(),
            username: r.username,
            created: when(r.session.created_at),
            last_seen: when(r.session.last_seen_at),
            ip: r.session.ip.unwrap_or_default(),
            user_agent: r.session.user_agent.unwrap_or_default(),
            amr: r.session.amr.join(" "),
            acr: r.session.acr.unwrap_or_default(),
        })
        .collect();
    let page = SessionsView {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        rows,
        next: next.map(|c| format!("/admin/sessions?after={}", cursor_text(&c))),
        notice: (query.done == "ended").then_some("The session ended."),
    };
    render(StatusCode::OK, &page)
}

/// A console action's form.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf_token: String,
}
csrf_protected!(ActionForm);

/// `POST /admin/sessions/{sid}/end`.
pub(crate) async fn end_session(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    match state.admin().end_session(&admin, &path, &info).await {
        Ok(()) => Ok(see_other("/admin/sessions?done=ended")),
        Err(AuthnError::ReauthenticationRequired) => Err(PageError::SeeOther(REAUTH)),
        Err(AuthnError::UnknownSession) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// The audit log's filters as the page's form sends them.
#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    /// A user id.
    #[serde(default)]
    user: String,
    /// An event kind, or a family ending with `.`.
    #[serde(default)]
    kind: String,
    /// `success` or `failure`.
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    ip: String,
    /// `YYYY-MM-DDTHH:MM` (UTC), as `datetime-local` sends it.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The keyset cursor.
    #[serde(default)]
    before: String,
}

fn instant(text: &str) -> Result<Option<OffsetDateTime>, PageError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(text.trim(), &format)
        .map(|t| Some(t.assume_utc()))
        .map_err(|_| PageError::BadRequest("a time is YYYY-MM-DDTHH:MM (UTC)".into()))
}

impl AuditQuery {
    /// The store's filter; a malformed field is a 400 page.
    fn filter(&self) -> Result<AuditFilter, PageError> {
        let user_id = match self.user.trim() {
            "" => None,
            id => Some(id.parse::<Uuid>().map_err(|_| PageError::BadRequest("user is a user id".into()))?),
        };
        let outcome = match self.outcome.as_str() {
            "" => None,
            o => Some(
                AuditOutcome::parse(o)
                    .map_err(|_| PageError::BadRequest("outcome is success or failure".into()))?,
            ),
        };
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let before_id = match self.before.as_str() {
            "" => None,
            b => Some(b.parse::<i64>().map_err(|_| PageError::BadRequest("bad page".into()))?),
        };
        Ok(AuditFilter {
            user_id,
            kind: text(&self.kind),
            outcome,
            ip: text(&self.ip),
            from: instant(&self.from)?,
            to: instant(&self.to)?,
            before_id,
            limit: PAGE_SIZE,
        })
    }

    /// This query's parameters (without the cursor), for links.
    fn params(&self) -> String {
        let pairs = [
            ("user", self.user.as_str()),
            ("kind", &self.kind),
            ("outcome", &self.outcome),
            ("ip", &self.ip),
            ("from", &self.from),
            ("to", &self.to),
        ];
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditView<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    q: &'a AuditQuery,
    rows: Vec<AuditLine>,
    next: Option<String>,
    export: String,
}

struct AuditLine {
    at: String,
    kind: String,
    outcome: &'static str,
    user_id: String,
    ip: String,
    detail: String,
}

/// `GET /admin/audit`: the log, filtered, newest first, in keyset pages.
pub(crate) async fn audit(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let filter = query.filter()?;
    let AuditPage { events, next } = state.admin().audit_page(&admin, filter).await?;
    let rows = events
        .into_iter()
        .map(|e| AuditLine {
            at: when(e.event.at),
            kind: e.event.kind,
            outcome: e.event.outcome.as_str(),
            user_id: e.event.user_id.map(|u| u.to_string()).unwrap_or_default(),
            ip: e.event.ip.unwrap_or_default(),
            detail: e.event.detail.to_string(),
        })
        .collect();
    let params = query.params();
    let page = AuditView {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        q: &query,
        rows,
        next: next.map(|id| format!("/admin/audit?{params}&before={id}")),
        export: format!("/admin/audit/export?{params}"),
    };
    render(StatusCode::OK, &page)
}

/// `GET /admin/audit/export`: the filtered log as JSON Lines (a download).
pub(crate) async fn export(
    state: web::Data<AppState>,
    Requester(info): Requester,
    Reader(admin): Reader,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let filter = AuditFilter { before_id: None, ..query.filter()? };
    let lines = state.admin().export_audit(&admin, filter, &info).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/jsonl"))
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"portcullis-audit.jsonl\""))
        .body(lines))
}
