//! The console's sessions and audit log: pages of each, ending a session,
//! and the filtered log as JSON Lines.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use portcullis_store::{AuditEvent, AuditFilter, Effects, Session, SessionCursor, SessionQuery};
use serde_json::json;
use uuid::Uuid;

use super::{AdminConsole, By, page_size};
use crate::AuthnError;
use crate::audit::{RequestInfo, logged};

/// A live session with its user's name.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The session.
    pub session: Session,
    /// Its user's username.
    pub username: String,
}

/// One page of live sessions, newest first.
#[derive(Debug, Clone)]
pub struct SessionsPage {
    /// The sessions.
    pub sessions: Vec<SessionRow>,
    /// Where the next page starts, if there is one.
    pub next: Option<SessionCursor>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// The id the next page starts before, if there is one.
    pub next: Option<i64>,
}

/// At most this many events in one export.
pub const EXPORT_LIMIT: usize = 100_000;

impl AdminConsole<'_> {
    /// A page of at most `limit` live sessions of signed-in users, after `after`.
    #[tracing::instrument(skip_all)]
    pub async fn sessions_page(
        &self,
        _by: impl Into<By<'_>>,
        after: Option<SessionCursor>,
        limit: u32,
    ) -> Result<SessionsPage, AuthnError> {
        let limit = page_size(limit);
        let i = &self.interaction;
        let now = i.clock.now();
        let query = SessionQuery {
            idle_before: now - i.sessions.idle_timeout,
            created_before: now - i.sessions.absolute_timeout,
            after,
            limit: limit as u32 + 1,
        };
        let mut sessions = i.store.list_sessions(&query).await?;
        let next = if sessions.len() > limit {
            sessions.truncate(limit);
            sessions.last().map(SessionCursor::from)
        } else {
            None
        };
        let mut names: HashMap<Uuid, String> = HashMap::new();
        let mut rows = Vec::with_capacity(sessions.len());
        for session in sessions {
            let Some(user_id) = session.user_id else { continue };
            if let Entry::Vacant(slot) = names.entry(user_id) {
                slot.insert(i.store.find_user(user_id).await?.map(|u| u.username).unwrap_or_default());
            }
            let username = names.get(&user_id).cloned().unwrap_or_default();
            rows.push(SessionRow { session, username });
        }
        Ok(SessionsPage { sessions: rows, next })
    }

    /// Ends the session `sid` (with its back-channel logouts), audited;
    /// `UnknownSession` when there is none.
    #[tracing::instrument(skip_all)]
    pub async fn end_session(
        &self,
        by: impl Into<By<'_>>,
        sid: &str,
        request: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let by = by.into();
        by.may_change()?;
        let i = &self.interaction;
        let session = i.store.find_session_by_sid(sid).await?.ok_or(AuthnError::UnknownSession)?;
        let audit =
            [self.event(by, "session.ended", session.user_id, request, json!({ "sid": session.sid }))];
        if i.store.end_session(&session.id_hash, i.clock.now(), &Effects::audit(&audit)).await?.is_none() {
            return Err(AuthnError::UnknownSession);
        }
        logged(&audit, None);
        Ok(())
    }

    /// A page of the audit log matching `filter` (its `limit`, within
    /// `1..=MAX_PAGE_SIZE`, is the page size).
    #[tracing::instrument(skip_all)]
    pub async fn audit_page(
        &self,
        _by: impl Into<By<'_>>,
        filter: AuditFilter,
    ) -> Result<AuditPage, AuthnError> {
        let limit = page_size(filter.limit);
        let query = AuditFilter { limit: limit as u32 + 1, ..filter };
        let mut events = self.interaction.store.query_audit(&query).await?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { events, next })
    }

    /// Every event matching `filter` (newest first, at most
    /// [`EXPORT_LIMIT`]) as JSON Lines, one object per line; the export
    /// itself is audited.
    #[tracing::instrument(skip_all)]
    pub async fn export_audit(
        &self,
        by: impl Into<By<'_>>,
        filter: AuditFilter,
        request: &RequestInfo,
    ) -> Result<String, AuthnError> {
        let store = self.interaction.store;
        let mut out = String::new();
        let mut query = AuditFilter { limit: 1000, before_id: None, ..filter };
        let mut count = 0;
        loop {
            let page = store.query_audit(&query).await?;
            for e in &page {
                let line = json!({
                    "id": e.id,
                    "at": e.event.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    "kind": e.event.kind,
                    "outcome": e.event.outcome.as_str(),
                    "user_id": e.event.user_id,
                    "ip": e.event.ip,
                    "user_agent": e.event.user_agent,
                    "detail": e.event.detail,
                });
                out.push_str(&line.to_string());
                out.push('\n');
                count += 1;
            }
            match page.last() {
                Some(last) if page.len() == query.limit as usize && count < EXPORT_LIMIT => {
                    query.before_id = Some(last.id);
                }
                _ => break,
            }
        }
        let audit = [self.event(by.into(), "audit.exported", None, request, json!({ "events": count }))];
        store.record_audit(&audit[0]).await?;
        logged(&audit, None);
        Ok(out)
    }
}
