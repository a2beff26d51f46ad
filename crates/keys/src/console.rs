//! The signing keys as the admin console sees and changes them: the list
//! with the next scheduled rotation, a rotation now, a revocation — each
//! audited with the acting administrator, and the running server's key set
//! reloaded at once.

use portcullis_store::{AuditOutcome, NewAuditEvent};
use serde_json::json;
use time::OffsetDateTime;

use crate::{Algorithm, KeyError, KeyMeta, KeyService, LiveKeys, next_rotation};

/// The keys and the schedule.
#[derive(Debug, Clone)]
pub struct KeysOverview {
    /// Every stored key (revoked ones included), oldest first.
    pub keys: Vec<KeyMeta>,
    /// When the next scheduled activation happens, if any.
    pub next_rotation: Option<OffsetDateTime>,
    /// The configured algorithms.
    pub algorithms: Vec<Algorithm>,
}

/// Who acts, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The administrator's user id.
    pub user_id: Option<String>,
    /// Their client IP.
    pub ip: Option<String>,
    /// Their user agent.
    pub user_agent: Option<String>,
}

/// The console's view of the keys: the service and the live set it reloads.
#[derive(Debug, Clone, Copy)]
pub struct KeysConsole<'a> {
    /// The key service.
    pub service: &'a KeyService,
    /// The set the server signs and verifies with.
    pub live: &'a LiveKeys,
}

impl KeysConsole<'_> {
    /// The keys and the schedule.
    pub async fn overview(&self) -> Result<KeysOverview, KeyError> {
        let keys = self.service.keys().await?;
        let policy = self.service.policy();
        Ok(KeysOverview {
            next_rotation: next_rotation(&keys, policy),
            algorithms: policy.algorithms.clone(),
            keys,
        })
    }

    /// Rotates `alg` now: a new key activates at once, the current one
    /// retires (it still verifies until it is removed). Returns the kid.
    pub async fn rotate_now(
        &self,
        alg: Algorithm,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<String, KeyError> {
        let kid = self.service.rotate(alg, now, true).await?;
        self.audit("signing_key.rotated", actor, json!({ "kid": kid, "alg": alg.as_str() }), now).await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Revokes `kid` once `typed` is exactly the kid (tokens it signed stop
    /// verifying); `Refused` otherwise, nothing changed. Returns the
    /// replacement's kid when the key was signing.
    pub async fn revoke(
        &self,
        kid: &str,
        typed: &str,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Option<String>, KeyError> {
        if typed != kid {
            return Err(KeyError::Refused("type the key id exactly to confirm; nothing was revoked".into()));
        }
        let replacement = self.service.revoke(kid, now).await?;
        let detail = json!({ "kid": kid, "replacement": replacement, "by": "console" });
        self.audit("signing_key.revoked_by_admin", actor, detail, now).await?;
        self.reload().await?;
        Ok(replacement)
    }

    async fn audit(
        &self,
        kind: &str,
        actor: &Actor,
        mut detail: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        if let (Some(map), Some(id)) = (detail.as_object_mut(), &actor.user_id) {
            map.insert("actor".into(), json!(id));
        }
        let event = NewAuditEvent {
            at: now,
            kind: kind.into(),
            outcome: AuditOutcome::Success,
            user_id: None,
            ip: actor.ip.clone(),
            user_agent: actor.user_agent.clone(),
            detail,
        };
        self.service.store().record_audit(&event).await?;
        Ok(())
    }

    /// Loads the stored keys into the live set (this instance signs with
    /// the new key at once; others at their next refresh).
    async fn reload(&self) -> Result<(), KeyError> {
        let previous = self.live.current();
        self.live.replace(self.service.load(Some(&previous)).await?);
        Ok(())
    }
}
