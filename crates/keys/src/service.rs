//! Key operations over the store: the scheduled rotation (under a lease, so
//! one instance rotates at a time), the operator's `rotate` and `revoke`, and
//! loading the [`KeySet`].

use portcullis_store::{AuditOutcome, NewAuditEvent, SigningKeyRow, SigningKeyState, Store, StoreError};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use crate::policy::{Action, KeyMeta, Policy, plan};
use crate::{Algorithm, Kek, KeyError, KeySet, material};

/// The lease that makes one instance the rotator.
const LEASE: &str = "signing-key-rotation";

/// What a scheduled rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// Another instance holds the rotation lease; nothing was done.
    NotLeader,
    /// This instance holds the lease and applied these actions (maybe none).
    Applied(Vec<Action>),
}

/// Signing-key operations on a store.
#[derive(Debug, Clone)]
pub struct KeyService {
    store: Arc<dyn Store>,
    kek: Kek,
    policy: Policy,
    holder: String,
    lease_ttl: Duration,
}

/// Every stored key's metadata, oldest first (no key material, no KEK needed).
pub async fn stored_keys(store: &dyn Store) -> Result<Vec<KeyMeta>, KeyError> {
    let rows = store.signing_keys().await?;
    KeySet::build_metadata(&rows)
}

impl KeyService {
    /// A service for the instance `holder` (a unique name), which renews the
    /// rotation lease for `lease_ttl` each time it rotates.
    pub fn new(store: Arc<dyn Store>, kek: Kek, policy: Policy, holder: String, lease_ttl: Duration) -> Self {
        Self { store, kek, policy, holder, lease_ttl }
    }

    /// The store the keys live in.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The key-encryption key (other secrets at rest are sealed with it too).
    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    /// The schedule.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Reads the keys and builds the in-memory set (reusing `previous`'s
    /// parsed signers). `WrongKek` when a key cannot be unsealed.
    pub async fn load(&self, previous: Option<&KeySet>) -> Result<KeySet, KeyError> {
        let rows = self.store.signing_keys().await?;
        KeySet::build(&rows, &self.kek, previous)
    }

    /// Every stored key's metadata.
    pub async fn keys(&self) -> Result<Vec<KeyMeta>, KeyError> {
        stored_keys(self.store.as_ref()).await
    }

    /// The scheduled rotation: if this instance holds (or can take) the
    /// lease, applies [`plan`] for `now`.
    pub async fn rotate_if_due(&self, now: OffsetDateTime) -> Result<RotationOutcome, KeyError> {
        if !self.store.try_acquire_lease(LEASE, &self.holder, now, self.lease_ttl).await? {
            return Ok(RotationOutcome::NotLeader);
        }
        let keys = self.keys().await?;
        let actions = plan(&keys, now, &self.policy);
        let alg_of = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.alg);
        let mut i = 0;
        while let Some(action) = actions.get(i) {
            match (action, actions.get(i + 1)) {
                // A retirement followed by its successor's activation is one
                // swap: never a moment without an active key.
                (Action::Retire { kid: old }, Some(Action::Activate { kid: new }))
                    if alg_of(old).is_some() && alg_of(old) == alg_of(new) =>
                {
                    self.swap(old, SigningKeyState::Retired, new, now).await?;
                    tracing::info!(retired = %old, activated = %new, "signing key rotated");
                    i += 2;
                }
                _ => {
                    self.apply(action, now).await?;
                    i += 1;
                }
            }
        }
        Ok(RotationOutcome::Applied(actions))
    }

    async fn apply(&self, action: &Action, now: OffsetDateTime) -> Result<(), KeyError> {
        match action {
            Action::Generate { alg, activates_at } => self.generate(*alg, *activates_at, now).await.map(drop),
            Action::Activate { kid } => {
                self.transition(kid, SigningKeyState::Staged, SigningKeyState::Active, now).await?;
                tracing::info!(kid = %kid, "signing key activated");
                Ok(())
            }
            Action::Retire { kid } => {
                self.transition(kid, SigningKeyState::Active, SigningKeyState::Retired, now).await?;
                tracing::info!(kid = %kid, "signing key retired (still published)");
                Ok(())
            }
            Action::Remove { kid } => {
                self.store.delete_signing_key(kid).await?;
                tracing::info!(kid = %kid, "signing key removed");
                Ok(())
            }
        }
    }

    async fn swap(
        &self,
        retiring: &str,
        to: SigningKeyState,
        next: &str,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        if self.store.swap_active_signing_key(retiring, to, next, now).await? {
            Ok(())
        } else {
            Err(KeyError::Refused(format!("key {retiring} or {next} changed meanwhile; try again")))
        }
    }

    async fn transition(
        &self,
        kid: &str,
        from: SigningKeyState,
        to: SigningKeyState,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        if self.store.transition_signing_key(kid, from, to, now).await? {
            Ok(())
        } else {
            Err(KeyError::Refused(format!("key {kid} is no longer {}; try again", from.as_str())))
        }
    }

    /// Generates, seals and stores a key; active at once when `activates_at`
    /// is not after `now`, else staged. Returns its kid.
    async fn generate(
        &self,
        alg: Algorithm,
        activates_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<String, KeyError> {
        let key = material::generate(alg)?;
        let sealed_private_key = self.kek.seal(&key.kid, key.private_jwk.as_bytes())?;
        let state = if activates_at <= now { SigningKeyState::Active } else { SigningKeyState::Staged };
        let row = SigningKeyRow {
            kid: key.kid.clone(),
            alg: alg.as_str().to_owned(),
            state,
            created_at: now,
            activates_at,
            retired_at: None,
            public_jwk: key.public_jwk,
            sealed_private_key,
        };
        self.store.insert_signing_key(&row).await.map_err(|e| match e {
            StoreError::Conflict(_) => KeyError::Refused(format!(
                "another {alg} key is already {} (a concurrent rotation?)",
                state.as_str()
            )),
            other => other.into(),
        })?;
        tracing::info!(kid = %key.kid, alg = %alg, state = state.as_str(), activates_at = %activates_at, "signing key generated");
        Ok(key.kid)
    }

    /// The operator's rotation: stages a new `alg` key now, which activates
    /// after the lead time — or at once when `immediately` (retiring the
    /// current key; verifiers may not know the new one yet). An already
    /// staged key is reused by `immediately`, refused otherwise. Returns the kid.
    pub async fn rotate(
        &self,
        alg: Algorithm,
        now: OffsetDateTime,
        immediately: bool,
    ) -> Result<String, KeyError> {
        let keys = self.keys().await?;
        let staged = keys.iter().find(|k| k.alg == alg && k.state == SigningKeyState::Staged);
        let kid = match staged {
            Some(k) if !immediately => {
                return Err(KeyError::Refused(format!(
                    "a {alg} key is already staged ({}, activates at {}); use --now to activate it at once",
                    k.kid, k.activates_at
                )));
            }
            Some(k) => k.kid.clone(),
            None => self.generate(alg, now + self.policy.lead_time, now).await?,
        };
        if immediately {
            self.promote(&keys, alg, &kid, now).await?;
        }
        Ok(kid)
    }

    /// Retires the active `alg` key(s) and activates `kid`.
    async fn promote(
        &self,
        keys: &[KeyMeta],
        alg: Algorithm,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<(), KeyError> {
        for old in keys.iter().filter(|k| k.alg == alg && k.state == SigningKeyState::Active) {
            self.transition(&old.kid, SigningKeyState::Active, SigningKeyState::Retired, now).await?;
        }
        self.transition(kid, SigningKeyState::Staged, SigningKeyState::Active, now).await?;
        tracing::warn!(kid = %kid, alg = %alg, "signing key activated ahead of schedule");
        Ok(())
    }

    /// Emergency: takes `kid` out of the JWKS at once and for good. When it
    /// is the active key, its staged successor (or a new key) activates first
    /// so the algorithm keeps a signer. Returns the replacement's kid, if any.
    pub async fn revoke(&self, kid: &str, now: OffsetDateTime) -> Result<Option<String>, KeyError> {
        let keys = self.keys().await?;
        let key = keys.iter().find(|k| k.kid == kid).ok_or_else(|| KeyError::UnknownKey(kid.to_owned()))?;
        let replacement = match key.state {
            SigningKeyState::Revoked => {
                return Err(KeyError::Refused(format!("key {kid} is already revoked")));
            }
            SigningKeyState::Active => Some(self.replace_active(&keys, key, now).await?),
            state => {
                self.transition(kid, state, SigningKeyState::Revoked, now).await?;
                None
            }
        };
        tracing::error!(
            kid = %kid,
            alg = %key.alg,
            replacement = replacement.as_deref().unwrap_or("-"),
            "SIGNING KEY REVOKED: removed from the JWKS; tokens it signed no longer verify"
        );
        let detail = serde_json::json!({ "kid": kid, "alg": key.alg.as_str(), "replacement": replacement });
        self.store
            .record_audit(&NewAuditEvent {
                at: now,
                kind: "signing_key.revoked".into(),
                outcome: AuditOutcome::Success,
                user_id: None,
                ip: None,
                user_agent: None,
                detail,
            })
            .await?;
        Ok(replacement)
    }

    /// Revokes the active `key` and activates a successor (staged or new).
    async fn replace_active(
        &self,
        keys: &[KeyMeta],
        key: &KeyMeta,
        now: OffsetDateTime,
    ) -> Result<String, KeyError> {
        let staged = keys.iter().find(|k| k.alg == key.alg && k.state == SigningKeyState::Staged);
        // The successor exists before the key goes: a failure leaves the key in place.
        let next = match staged {
            Some(k) => k.kid.clone(),
            None => self.generate(key.alg, now + self.policy.lead_time, now).await?,
        };
        self.swap(&key.kid, SigningKeyState::Revoked, &next, now).await?;
        Ok(next)
    }
}
