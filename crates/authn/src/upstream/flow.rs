//! The sign-in through an upstream as steps of the journey
//! ([`Interaction`]): one call to start, one for the callback, and the link
//! that waits for the account's holder to prove the account.
//!
//! - [`Interaction::begin_upstream`] keeps the request's secrets (`state`,
//!   `nonce`, the PKCE verifier) in the browser's session (10 minutes),
//!   and returns where to send the browser.
//! - [`Interaction::finish_upstream`] takes them back, once (a replayed
//!   callback finds nothing), has the relying party check the response and
//!   the ID token, then applies [`super::decide`]: a linked identity signs
//!   in as a first factor worth `fed` (and `mfa` when trusted for it), an
//!   unknown one whose trusted address matches an account waits for that
//!   account's proof, JIT creates an account. Every refusal is audited.
//! - The proof is an ordinary local sign-in of that account in the same
//!   browser: when it completes with a password (and the second factor the
//!   account has) or a passkey — never a mailed link alone — the identity
//!   is linked ([`Interaction::link_after_proof`]).

use portcullis_store::{
    AuditOutcome, Effects, Session, UpstreamGrants, UpstreamIdentity, UpstreamSignIn, User,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::Duration;
use uuid::Uuid;

use super::client::{Callback, Pending, UpstreamError};
use super::{Asserted, Known, Link, Refusal, Upstream, claim_at, decide, session_amr};
use crate::AuthnError;
use crate::accounts::{check_email, check_username};
use crate::audit::{self, RequestInfo};
use crate::interaction::{AccountAccess, Continue, FirstFactor, Interaction, StepOutcome};
use crate::journey::{Change, Standing, may_change};
use crate::notify::{Notification, notification_mails};

/// The session-state kind of a started upstream request.
const STARTED: &str = "upstream";
/// The session-state kind of an identity waiting for its account's proof.
const LINKING: &str = "upstream_link";
/// How long the upstream and the proof may take.
const WINDOW: Duration = Duration::minutes(10);

/// A request on its way to an upstream, kept in the browser's session.
#[derive(Serialize, Deserialize)]
struct Started {
    pending: Pending,
    /// Link to this (signed-in) account instead of signing in.
    link_to: Option<Uuid>,
    then: Continue,
}

/// A verified identity waiting for the proof of `user_id`.
#[derive(Serialize, Deserialize)]
struct Linking {
    upstream_id: String,
    issuer: String,
    subject: String,
    email: Option<String>,
    user_id: Uuid,
    roles: Vec<String>,
    groups: Vec<String>,
}

/// Why an upstream sign-in ended without one. Each is a page with a way
/// back to the sign-in page, and an audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamFailure {
    /// No upstream has this id.
    #[error("There is no such way to sign in.")]
    UnknownProvider,
    /// The response belongs to no request of this browser: expired,
    /// already used, or another browser's (wrong `state`).
    #[error("This sign-in response has expired or was already used. Start again.")]
    NotStarted,
    /// The user cancelled at the upstream (`access_denied`).
    #[error("The sign-in was cancelled.")]
    Cancelled,
    /// The upstream is unreachable, too slow, or its discovery is invalid.
    #[error("The provider cannot be reached right now. Try again later, or sign in another way.")]
    Unavailable,
    /// The upstream's answer is not acceptable: an error, another issuer's
    /// response (mix-up), an invalid ID token.
    #[error("The provider's answer could not be accepted. Start again, or sign in another way.")]
    Rejected,
    /// The identity may not sign in here.
    #[error("{0}")]
    Refused(Refusal),
    /// The account is disabled.
    #[error("This account is disabled.")]
    Disabled,
    /// Linking from the account page: the identity is another account's.
    #[error("This provider account is already linked to another account here.")]
    LinkedElsewhere,
    /// Linking needs a recent sign-in.
    #[error("Confirm it is you: sign in again, then link the provider.")]
    Reauthenticate,
}

impl UpstreamFailure {
    /// A stable label for the audit log and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::NotStarted => "state",
            Self::Cancelled => "access_denied",
            Self::Unavailable => "unavailable",
            Self::Rejected => "rejected",
            Self::Refused(Refusal::EmailTaken) => "email_taken",
            Self::Refused(Refusal::NotProvisioned) => "not_provisioned",
            Self::Refused(Refusal::DomainNotAllowed) => "domain_not_allowed",
            Self::Disabled => "disabled",
            Self::LinkedElsewhere => "linked_elsewhere",
            Self::Reauthenticate => "reauthenticate",
        }
    }
}

/// Where starting leads.
#[derive(Debug)]
pub enum UpstreamStart {
    /// Send the browser there.
    Redirect(String),
    /// A page saying why not.
    Failed(UpstreamFailure),
}

/// Where the callback leads.
#[derive(Debug)]
pub enum UpstreamOutcome {
    /// Signed in, or the second factor is due: as after any first factor.
    Step {
        /// [`StepOutcome::SignedIn`] or [`StepOutcome::SecondFactor`].
        outcome: StepOutcome,
        /// The pending authorization request the sign-in resumes, if any.
        request: String,
    },
    /// An account has the identity's trusted address: its holder signs in
    /// to it (the sign-in page), and the identity is linked then.
    ProveAccount {
        /// The upstream's id.
        upstream_id: String,
        /// Where the sign-in goes on.
        then: Continue,
    },
    /// Linked to the signed-in account (from the account page).
    Linked {
        /// The upstream's display name.
        provider: String,
    },
    /// A page saying why not.
    Failed(UpstreamFailure),
}

impl Interaction<'_> {
    /// Starts a sign-in through upstream `id` for the browser holding
    /// `browser` — or, with `link`, links an identity there to the browser's
    /// signed-in account (which must have authenticated recently).
    #[tracing::instrument(skip_all, fields(upstream = id))]
    pub async fn begin_upstream(
        &self,
        browser: &Session,
        id: &str,
        link: bool,
        then: Continue,
        info: &RequestInfo,
    ) -> Result<UpstreamStart, AuthnError> {
        if self.upstreams.get(id).is_none() {
            return Ok(UpstreamStart::Failed(UpstreamFailure::UnknownProvider));
        }
        let link_to = if link {
            match self.account_access(Some(browser)).await? {
                AccountAccess::Full(user) if may_change(browser, Change::Security, self.clock.now()) => {
                    Some(user.id)
                }
                _ => return Ok(UpstreamStart::Failed(UpstreamFailure::Reauthenticate)),
            }
        } else {
            None
        };
        let client = match self.upstreams.client(id).await {
            Some(Ok(client)) => client,
            Some(Err(e)) => {
                return Ok(UpstreamStart::Failed(
                    self.failed(id, UpstreamFailure::Unavailable, &e, info).await,
                ));
            }
            None => return Ok(UpstreamStart::Failed(UpstreamFailure::UnknownProvider)),
        };
        // Re-authenticating (for an account change, or to link) asks the
        // upstream to authenticate afresh rather than reuse its session.
        let started = client.start_with(link || !then.return_to.is_empty());
        let url = started.url.to_string();
        let kept = Started { pending: started.pending, link_to, then };
        let payload = serde_json::to_string(&kept).map_err(|e| AuthnError::Crypto(e.to_string()))?;
        let until = self.clock.now() + WINDOW;
        self.hot.put_session_state(&browser.id_hash, STARTED, &payload, until).await?;
        Ok(UpstreamStart::Redirect(url))
    }

    /// The upstream `id` sent the browser holding `browser` back with
    /// `callback`.
    #[tracing::instrument(skip_all, fields(upstream = id))]
    pub async fn finish_upstream(
        &self,
        browser: &Session,
        id: &str,
        callback: Callback<'_>,
        info: &RequestInfo,
    ) -> Result<UpstreamOutcome, AuthnError> {
        let failed = |f| Ok(UpstreamOutcome::Failed(f));
        let Some(upstream) = self.upstreams.get(id) else { return failed(UpstreamFailure::UnknownProvider) };
        // Taken, not read: the same callback twice finds nothing.
        let kept = self.hot.take_session_state(&browser.id_hash, STARTED, self.clock.now()).await?;
        let Some(started) = kept.and_then(|raw| serde_json::from_str::<Started>(&raw).ok()) else {
            let e = UpstreamError::State;
            return failed(self.failed(id, UpstreamFailure::NotStarted, &e, info).await);
        };
        let client = match self.upstreams.client(id).await {
            Some(Ok(client)) => client,
            Some(Err(e)) => return failed(self.failed(id, UpstreamFailure::Unavailable, &e, info).await),
            None => return failed(UpstreamFailure::UnknownProvider),
        };
        // A response for another upstream's request (its `state`, at this
        // callback) is refused by the state check: `pending` names its upstream.
        let verified = match client.finish(&started.pending, callback).await {
            Ok(verified) => verified,
            Err(e) => return failed(self.failed(id, failure_of(&e), &e, info).await),
        };
        let identity = verified.identity;
        let claims = &verified.claims;
        let text = |name: &str| claim_at(claims, name).and_then(Value::as_str).map(str::trim);
        let email = text(&upstream.claims.email).filter(|e| check_email(e).is_ok());
        let email_verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
            || claims.get("email_verified").and_then(Value::as_str) == Some("true");
        let granted = upstream.rules.grant(claims);
        let grants = UpstreamGrants {
            roles: granted.roles.iter().cloned().collect(),
            groups: granted.groups.iter().cloned().collect(),
        };
        let linked = self.store.find_upstream_identity(&identity.issuer, &identity.subject).await?;
        let record = UpstreamIdentity {
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            upstream_id: id.to_owned(),
            user_id: linked.as_ref().map_or(Uuid::nil(), |l| l.user_id),
            email: email.map(str::to_owned),
            linked_at: self.clock.now(),
            last_sign_in_at: None,
        };
        if let Some(user_id) = started.link_to {
            return self
                .link_from_account(
                    browser,
                    upstream,
                    user_id,
                    linked.map(|l| l.user_id),
                    record,
                    &grants,
                    info,
                )
                .await;
        }
        let known = match &linked {
            Some(l) => Known::Linked(l.user_id),
            None => Known::Unlinked { same_email: self.holder_of(email).await? },
        };
        match decide(&upstream.link, known, Asserted { email, email_verified }) {
            Link::SignIn(user_id) => {
                let Some(user) = self.store.find_user(user_id).await?.filter(|u| !u.disabled) else {
                    let e = "the linked account is disabled";
                    return failed(self.failed(id, UpstreamFailure::Disabled, &e, info).await);
                };
                let record = UpstreamIdentity { user_id: user.id, ..record };
                let at = self.clock.now();
                let event = self.event("upstream.sign_in", Some(user.id), id, &identity.issuer, info);
                let sign_in =
                    UpstreamSignIn { identity: &record, create: None, link: false, grants: &grants, at };
                let user = self.store.upstream_sign_in(&sign_in, &Effects::audit(&[event])).await?;
                self.federated(browser, &user, upstream, claims, started.then, info).await
            }
            Link::ProveThenLink(user_id) => {
                let linking = Linking {
                    upstream_id: id.to_owned(),
                    issuer: identity.issuer.clone(),
                    subject: identity.subject.clone(),
                    email: record.email.clone(),
                    user_id,
                    roles: grants.roles,
                    groups: grants.groups,
                };
                let payload =
                    serde_json::to_string(&linking).map_err(|e| AuthnError::Crypto(e.to_string()))?;
                let until = self.clock.now() + WINDOW;
                self.hot.put_session_state(&browser.id_hash, LINKING, &payload, until).await?;
                let detail = json!({ "upstream": id, "issuer": identity.issuer });
                audit::record(
                    self.store,
                    self.clock.now(),
                    "upstream.link_pending",
                    AuditOutcome::Success,
                    Some(user_id),
                    info,
                    detail,
                )
                .await;
                Ok(UpstreamOutcome::ProveAccount { upstream_id: id.to_owned(), then: started.then })
            }
            Link::Create { email: Some(email), email_verified } => {
                let user = self
                    .create_account(upstream, record, &email, email_verified, claims, &grants, info)
                    .await?;
                match user {
                    Some(user) => self.federated(browser, &user, upstream, claims, started.then, info).await,
                    None => {
                        let e = "the account's username or address was taken meanwhile";
                        failed(self.failed(id, UpstreamFailure::Rejected, &e, info).await)
                    }
                }
            }
            Link::Create { email: None, .. } => {
                let e = Refusal::NotProvisioned;
                failed(
                    self.failed(
                        id,
                        UpstreamFailure::Refused(e),
                        &"no email address to create an account with",
                        info,
                    )
                    .await,
                )
            }
            Link::Refuse(refusal) => {
                failed(self.failed(id, UpstreamFailure::Refused(refusal), &refusal, info).await)
            }
        }
    }

    /// The session of a verified upstream sign-in of `user`: a first factor
    /// worth `fed` (and `mfa` when the upstream is trusted for it and
    /// asserted it); the journey asks for what it still lacks.
    async fn federated(
        &self,
        browser: &Session,
        user: &User,
        upstream: &Upstream,
        claims: &Value,
        then: Continue,
        info: &RequestInfo,
    ) -> Result<UpstreamOutcome, AuthnError> {
        let upstream_amr: Vec<&str> = claims
            .get("amr")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let first = FirstFactor {
            amr: session_amr(&upstream_amr, upstream.trust_mfa),
            upstream_id: Some(upstream.id().to_owned()),
        };
        let request = then.request.clone();
        let outcome = self.first_factor_of(browser, user, first, then, info).await?;
        Ok(UpstreamOutcome::Step { outcome, request })
    }

    /// The account holding `email` (compared without case), if any.
    async fn holder_of(&self, email: Option<&str>) -> Result<Option<Uuid>, AuthnError> {
        let Some(email) = email else { return Ok(None) };
        Ok(self
            .store
            .find_user_by_login(email)
            .await?
            .filter(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id))
    }

    /// Creates the account of a first sign-in (JIT) and links the identity,
    /// in one transaction; `None` when a concurrent write took its name or
    /// address.
    #[allow(clippy::too_many_arguments)]
    async fn create_account(
        &self,
        upstream: &Upstream,
        record: UpstreamIdentity,
        email: &str,
        email_verified: bool,
        claims: &Value,
        grants: &UpstreamGrants,
        info: &RequestInfo,
    ) -> Result<Option<User>, AuthnError> {
        let at = self.clock.now();
        let wanted = claim_at(claims, &upstream.claims.username).and_then(Value::as_str).map(str::trim);
        let username = match wanted.filter(|u| check_username(u).is_ok()) {
            Some(u) if self.store.find_user_by_login(u).await?.is_none() => u.to_owned(),
            _ => derived_username(upstream.id(), &record.subject),
        };
        let display_name = claim_at(claims, &upstream.claims.name).and_then(Value::as_str).map(str::to_owned);
        let new = portcullis_store::NewUser {
            id: Uuid::new_v4(),
            username,
            email: email.to_owned(),
            email_verified,
            display_name,
            roles: Vec::new(),
            password_hash: None,
            created_at: at,
        };
        let record = UpstreamIdentity { user_id: new.id, linked_at: at, last_sign_in_at: Some(at), ..record };
        let event = self.event("upstream.account_created", Some(new.id), upstream.id(), &record.issuer, info);
        let sign_in = UpstreamSignIn { identity: &record, create: Some(&new), link: true, grants, at };
        match self.store.upstream_sign_in(&sign_in, &Effects::audit(&[event])).await {
            Ok(user) => Ok(Some(user)),
            Err(portcullis_store::StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Links from the account page: to `user_id`, still this browser's.
    #[allow(clippy::too_many_arguments)]
    async fn link_from_account(
        &self,
        browser: &Session,
        upstream: &Upstream,
        user_id: Uuid,
        linked_to: Option<Uuid>,
        record: UpstreamIdentity,
        grants: &UpstreamGrants,
        info: &RequestInfo,
    ) -> Result<UpstreamOutcome, AuthnError> {
        let id = upstream.id();
        let provider = upstream.display_name.clone();
        if browser.user_id != Some(user_id) {
            return Ok(UpstreamOutcome::Failed(
                self.failed(id, UpstreamFailure::NotStarted, &"signed out meanwhile", info).await,
            ));
        }
        match linked_to {
            Some(holder) if holder == user_id => return Ok(UpstreamOutcome::Linked { provider }),
            Some(_) => {
                let f = UpstreamFailure::LinkedElsewhere;
                return Ok(UpstreamOutcome::Failed(
                    self.failed(id, f, &"linked to another account", info).await,
                ));
            }
            None => {}
        }
        let Some(user) = self.store.find_user(user_id).await? else {
            return Ok(UpstreamOutcome::Failed(UpstreamFailure::NotStarted));
        };
        self.link(&user, upstream, UpstreamIdentity { user_id, ..record }, grants, info).await?;
        Ok(UpstreamOutcome::Linked { provider })
    }

    /// Links the identity to `user` with its audit event and the notice to
    /// the account holder, in one transaction. Linked meanwhile (by another
    /// tab): nothing to do.
    async fn link(
        &self,
        user: &User,
        upstream: &Upstream,
        record: UpstreamIdentity,
        grants: &UpstreamGrants,
        info: &RequestInfo,
    ) -> Result<(), AuthnError> {
        let at = self.clock.now();
        let record = UpstreamIdentity { linked_at: at, last_sign_in_at: Some(at), ..record };
        let event = self.event("upstream.linked", Some(user.id), upstream.id(), &record.issuer, info);
        let mails = notification_mails(
            self.mail,
            user,
            &Notification::UpstreamLinked { provider: upstream.display_name.clone() },
        )?;
        let effects = Effects { audit: &[event], mails: &mails, rotate: None };
        let sign_in = UpstreamSignIn { identity: &record, create: None, link: true, grants, at };
        match self.store.upstream_sign_in(&sign_in, &effects).await {
            Ok(_) | Err(portcullis_store::StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// After a local sign-in of `user` completed in `browser` (before its
    /// session id changes): an identity waiting for this account's proof is
    /// linked when the sign-in proved the account — complete, and by a
    /// password or a passkey, not a mailed link alone. Any other sign-in
    /// drops the waiting identity.
    pub(crate) async fn link_after_proof(
        &self,
        browser: &Session,
        user: &User,
        amr: &[String],
        standing: Standing,
        info: &RequestInfo,
    ) -> Result<(), AuthnError> {
        if self.upstreams.iter().next().is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        let Some(raw) = self.hot.take_session_state(&browser.id_hash, LINKING, now).await? else {
            return Ok(());
        };
        let Ok(waiting) = serde_json::from_str::<Linking>(&raw) else { return Ok(()) };
        let Some(upstream) = self.upstreams.get(&waiting.upstream_id) else { return Ok(()) };
        let has = |m: &str| amr.iter().any(|a| a == m);
        let proved = waiting.user_id == user.id
            && standing == Standing::Complete
            && (has("pwd") || has("hwk") || has("swk"));
        if !proved {
            let detail = json!({ "upstream": waiting.upstream_id, "issuer": waiting.issuer });
            audit::record(
                self.store,
                now,
                "upstream.link_abandoned",
                AuditOutcome::Failure,
                Some(waiting.user_id),
                info,
                detail,
            )
            .await;
            return Ok(());
        }
        let record = UpstreamIdentity {
            issuer: waiting.issuer,
            subject: waiting.subject,
            upstream_id: waiting.upstream_id,
            user_id: user.id,
            email: waiting.email,
            linked_at: now,
            last_sign_in_at: None,
        };
        let grants = UpstreamGrants { roles: waiting.roles, groups: waiting.groups };
        self.link(user, upstream, record, &grants, info).await
    }

    /// An audit event of upstream `id` (at `issuer`).
    fn event(
        &self,
        kind: &str,
        user_id: Option<Uuid>,
        id: &str,
        issuer: &str,
        info: &RequestInfo,
    ) -> portcullis_store::NewAuditEvent {
        let detail = json!({ "upstream": id, "issuer": issuer });
        audit::event(self.clock.now(), kind, AuditOutcome::Success, user_id, info, detail)
    }

    /// Audits a failed upstream sign-in (with why, never a secret) and
    /// returns `failure`.
    async fn failed(
        &self,
        id: &str,
        failure: UpstreamFailure,
        error: &dyn std::fmt::Display,
        info: &RequestInfo,
    ) -> UpstreamFailure {
        let detail = json!({ "upstream": id, "reason": failure.reason(), "error": error.to_string() });
        audit::record(
            self.store,
            self.clock.now(),
            "upstream.sign_in",
            AuditOutcome::Failure,
            None,
            info,
            detail,
        )
        .await;
        failure
    }
}

/// The failure a relying-party error is.
fn failure_of(e: &UpstreamError) -> UpstreamFailure {
    match e {
        UpstreamError::State => UpstreamFailure::NotStarted,
        UpstreamError::Denied => UpstreamFailure::Cancelled,
        UpstreamError::Discovery(_) | UpstreamError::Exchange(_) => UpstreamFailure::Unavailable,
        UpstreamError::Config(..)
        | UpstreamError::Refused(_)
        | UpstreamError::Issuer
        | UpstreamError::IdToken(_) => UpstreamFailure::Rejected,
    }
}

/// A username for an account whose upstream username is missing, invalid
/// or taken: the upstream's id and a digest of the subject (stable, so a
/// retry picks the same one).
fn derived_username(upstream_id: &str, subject: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(subject.as_bytes());
    let prefix: String = upstream_id.chars().filter(|c| !c.is_whitespace() && *c != '@').take(40).collect();
    format!("{prefix}-{}", &hex::encode(digest)[..12])
}
