//! The one application state every handler shares, and the domain contexts
//! built from it for one request (`portcullis_authn`'s and
//! `portcullis_protocol`'s), so no handler assembles them itself.

use portcullis_authn::accounts::Accounts;
use portcullis_authn::admin::AdminConsole;
use portcullis_authn::first_admin::FirstAdmin;
use portcullis_authn::recovery::Recovery;
use portcullis_authn::{AccountSecurity, Interaction, RequestInfo, Sessions, Totp, audit, user_codes};
use portcullis_core::{Clock, Issuer};
use portcullis_keys::KeySet;
use portcullis_protocol::clients::Registry;
use portcullis_protocol::device::verify::{DeviceApprovals, Guess};
use portcullis_protocol::interaction::{SignInError, SignInState, SignIns};
use portcullis_protocol::{Ctx, ProtocolError};
use portcullis_store::{AuditOutcome, NewAuditEvent, Session, Store};
use std::future::Future;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Auth, Mail, Metrics, Publication, ReadinessProbe};

/// What every handler may use, registered once as `web::Data<AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Our issuer identifier.
    pub issuer: Issuer,
    /// The signing keys in effect (refreshed from the store by the server).
    pub keys: Arc<portcullis_keys::LiveKeys>,
    /// The signing keys' lifecycle (the admin console rotates and revokes).
    pub key_service: Arc<portcullis_keys::KeyService>,
    /// The discovery documents and JWKS caching, rendered at start.
    pub publication: Arc<Publication>,
    /// Protocol lifetimes and choices.
    pub protocol: Arc<portcullis_protocol::ProtocolConfig>,
    /// Clients recently loaded by the token-side endpoints.
    pub clients: Arc<portcullis_protocol::ClientCache>,
    /// The origins allowed to call the token-side endpoints from a page
    /// (CORS), kept in memory.
    pub cors: Arc<portcullis_protocol::cors::CorsOrigins>,
    /// The state of access tokens recently checked by userinfo and introspection.
    pub tokens: Arc<portcullis_protocol::TokenStateCache>,
    /// Sign-in's hot state: the counters of its credential checks
    /// (passwords, second factors, per-IP, device user codes), pending
    /// authorization requests, the state of browsers' ceremonies. The
    /// database's, or Redis's when it is configured (shared by every
    /// instance).
    pub hot: Arc<dyn portcullis_store::HotState>,
    /// Failure counters of client authentication (hot: in this instance's
    /// memory, with or without Redis: client secrets are long random
    /// strings, and the token endpoint must not depend on Redis).
    pub client_throttle: Arc<dyn portcullis_store::Throttle>,
    /// DPoP nonces and the proofs this instance has seen (RFC 9449).
    pub dpop: Arc<portcullis_protocol::dpop::Dpop>,
    /// The sign-in settings: hasher, policies, session timeouts, passkeys.
    pub auth: Auth,
    /// The mail settings of the recovery pages.
    pub mail: Mail,
    /// The Prometheus registry and the HTTP metrics.
    pub metrics: Metrics,
    /// The database check behind `/readyz`.
    pub readiness: Arc<dyn ReadinessProbe>,
    /// Set at SIGTERM: `/readyz` answers 503 while the instance drains.
    pub draining: crate::Draining,
}

impl AppState {
    /// The keys in effect for one request (a cheap `Arc` clone).
    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys.current()
    }

    /// The protocol context of one request.
    pub(crate) fn ctx<'a>(&'a self, keys: &'a Arc<KeySet>) -> Ctx<'a> {
        Ctx {
            store: self.store.as_ref(),
            keys,
            issuer: &self.issuer,
            config: &self.protocol,
            clients: &self.clients,
            tokens: &self.tokens,
            requests: self.hot.as_ref(),
            throttle: self.client_throttle.as_ref(),
            dpop: &self.dpop,
            now: self.clock.now(),
        }
    }

    /// The client operations of the console (at this request's instant).
    pub(crate) fn registry(&self) -> Registry<'_> {
        Registry {
            store: self.store.as_ref(),
            now: self.clock.now(),
            max_token_lifetime: self.protocol.max_token_lifetime,
            resources: &self.protocol.resources,
        }
    }

    /// The browser sessions.
    pub(crate) fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self.store.as_ref(), clock: self.clock.as_ref(), policy: &self.auth.sessions }
    }

    /// TOTP over the store.
    pub(crate) fn totp(&self) -> Totp<'_> {
        Totp { store: self.store.as_ref(), kek: &self.auth.kek, issuer: &self.auth.totp_issuer }
    }

    /// The sign-in journey.
    pub(crate) fn interaction(&self) -> Interaction<'_> {
        let auth = &self.auth;
        Interaction {
            store: self.store.as_ref(),
            hot: self.hot.as_ref(),
            clock: self.clock.as_ref(),
            hasher: &auth.hasher,
            lockouts: &auth.lockouts,
            mfa: &auth.mfa,
            sessions: &auth.sessions,
            totp: self.totp(),
            passkeys: auth.passkeys.as_deref(),
            upstreams: &auth.upstreams,
            mail: &self.mail.context,
        }
    }

    /// The sign-in side as the protocol asks it (the journey's answer), for
    /// a request from `info`.
    pub(crate) fn sign_ins<'a>(&'a self, info: &'a RequestInfo) -> SignInsOf<'a> {
        SignInsOf { interaction: self.interaction(), info }
    }

    /// The signing keys as the admin console sees and changes them.
    pub(crate) fn keys_console(&self) -> portcullis_keys::KeysConsole<'_> {
        portcullis_keys::KeysConsole { service: &self.key_service, live: &self.keys }
    }

    /// The admin console's account operations.
    pub(crate) fn admin(&self) -> AdminConsole<'_> {
        AdminConsole { interaction: self.interaction() }
    }

    /// Account administration (the first administrator, password changes).
    pub(crate) fn accounts(&self) -> Accounts<'_> {
        Accounts {
            store: self.store.as_ref(),
            hasher: &self.auth.hasher,
            policy: &self.auth.policy,
            clock: self.clock.as_ref(),
        }
    }

    /// The account holder's security operations (the account pages).
    pub(crate) fn account(&self) -> AccountSecurity<'_> {
        AccountSecurity {
            interaction: self.interaction(),
            policy: &self.auth.policy,
            mail: &self.mail.context,
        }
    }

    /// The first administrator's setup page (verification mail when mail
    /// can reach people).
    pub(crate) fn first_admin(&self) -> FirstAdmin<'_> {
        FirstAdmin { accounts: self.accounts(), verification: self.mail.available.then(|| self.recovery()) }
    }

    /// The recovery flows (mailed links).
    pub(crate) fn recovery(&self) -> Recovery<'_> {
        Recovery {
            store: self.store.as_ref(),
            throttle: self.hot.as_ref(),
            hasher: &self.auth.hasher,
            policy: &self.auth.policy,
            lockouts: &self.auth.lockouts,
            mfa: &self.auth.mfa,
            clock: self.clock.as_ref(),
            mail: &self.mail.context,
            rules: &self.mail.rules,
        }
    }
}

/// `authn`'s journey answering the protocol's questions about a browser.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInsOf<'a> {
    interaction: Interaction<'a>,
    info: &'a RequestInfo,
}

impl DeviceApprovals for SignInsOf<'_> {
    async fn guess<T>(
        &self,
        user_id: Uuid,
        check: impl Future<Output = Result<Option<T>, ProtocolError>>,
    ) -> Result<Guess<T>, ProtocolError> {
        Ok(match self.interaction.guess_user_code(user_id, self.info, check).await? {
            user_codes::Guess::Right(found) => Guess::Right(found),
            user_codes::Guess::Wrong => Guess::Wrong,
            user_codes::Guess::Refused { until } => Guess::Refused { until },
        })
    }

    fn audit_event(
        &self,
        at: OffsetDateTime,
        kind: &str,
        outcome: AuditOutcome,
        user_id: Uuid,
        detail: serde_json::Value,
    ) -> NewAuditEvent {
        audit::event(at, kind, outcome, Some(user_id), self.info, detail)
    }

    fn audit_logged(&self, events: &[NewAuditEvent]) {
        audit::logged(events, None);
    }
}

impl SignIns for SignInsOf<'_> {
    async fn state(&self, browser: Option<&Session>) -> Result<SignInState, SignInError> {
        Ok(self.interaction.state(browser).await?)
    }

    async fn sign_out(&self, browser: &Session, client_id: Option<&str>) -> Result<(), SignInError> {
        let detail = serde_json::json!({ "client_id": client_id });
        Ok(self.interaction.sessions().sign_out(browser, self.info, detail).await?)
    }
}
