//! What a security change writes in its own transaction besides the change:
//! its audit events, its notices and the acting session's new id. Either
//! all of them commit with the change or none does.

use crate::{EndedAccess, NewAuditEvent, NewMail, Session};

/// The writes that go with a change, in its transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Effects<'a> {
    /// Audit events. When the change ends access, each object `detail`
    /// gains `sessions_ended` and `grants_revoked` (see [`EndedAccess::annotate`]).
    pub audit: &'a [NewAuditEvent],
    /// Notices for the outbox.
    pub mails: &'a [NewMail],
    /// The acting session under a new id. A change that ends the user's
    /// sessions keeps this one (and the grants of its `sid`).
    pub rotate: Option<Rotation<'a>>,
}

/// A session replaced by the same session under a new id.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// The id hash it had.
    pub old_id_hash: &'a str,
    /// The session under its new id.
    pub new: &'a Session,
}

impl<'a> Effects<'a> {
    /// Only `audit`.
    pub fn audit(audit: &'a [NewAuditEvent]) -> Self {
        Self { audit, ..Self::default() }
    }

    /// Only `mails`.
    pub fn mails(mails: &'a [NewMail]) -> Self {
        Self { mails, ..Self::default() }
    }

    /// The session kept when the change ends the user's others.
    pub fn kept_session(&self) -> Option<&'a str> {
        self.rotate.map(|r| r.old_id_hash)
    }
}

impl EndedAccess {
    /// Adds what was ended to an audit event's object `detail`.
    pub fn annotate(&self, detail: &mut serde_json::Value) {
        if let Some(map) = detail.as_object_mut() {
            map.insert("sessions_ended".into(), self.sessions.into());
            map.insert("grants_revoked".into(), self.grants.into());
        }
    }
}
