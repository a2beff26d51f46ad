//! The sign-in journey as one state machine over the store (its rules are
//! the pure functions of [`crate::journey`]). Each step takes the browser's
//! session and returns a [`StepOutcome`]; the web layer only renders it.
//!
//! - A first factor ([`Interaction::password`], [`Interaction::passkey`],
//!   [`Interaction::email_link`]) that leaves the user needing a second
//!   factor stores a pending sign-in bound to the browser session (10
//!   minutes, and only while the account's password and email are
//!   unchanged); nothing is signed in yet.
//! - [`Interaction::second_factor`] completes it (or steps up a signed-in
//!   session) under a NEW session id.
//! - Otherwise the session is signed in at once: complete, or — when the
//!   policy wants a factor the user has none of — allowed only to enroll
//!   one ([`Interaction::enrolled`] then completes it).
//! - [`Interaction::state`] reports the browser's [`SignInState`] to the
//!   protocol; only a complete sign-in is ever reported as an authentication.

use portcullis_core::Clock;
use portcullis_core::signin::{Authentication, Missing, SignInState};
use portcullis_store::{Effects, HotState, Session, Store, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::audit::RequestInfo;
use crate::journey::{Change, Method, Standing, after_enrollment, may_change, merge_amr, standing};
use crate::mfa::{
    Factors, MfaPolicy, SecondFactor, SecondFactorCheck, SecondFactorOutcome, check_second_factor,
};
use crate::notify::MailContext;
use crate::passkeys::{self, PasskeyOutcome, Passkeys};
use crate::recovery::MagicLinkCheck;
use crate::sessions::{SessionPolicy, Sessions};
use crate::signin::{SignIn, SignInOutcome, sign_in};
use crate::totp::Totp;
use crate::upstream::Upstreams;
use crate::{AuthnError, Lockouts, Password, PasswordHasher};

/// The session-state kind of a pending sign-in.
const PENDING: &str = "signin";
/// How long a passed first factor waits for the second.
const PENDING_WINDOW: Duration = Duration::minutes(10);

/// Where a sign-in goes once complete: the pending authorization request
/// and the account page being re-authenticated for. Opaque here, carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continue {
    /// A pending authorization request id, or empty.
    pub request: String,
    /// A local account path, or empty.
    pub return_to: String,
}

/// A first factor that passed and waits for the second.
#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: Uuid,
    /// The account's security stamp then: a password or email change
    /// meanwhile voids the pending sign-in.
    stamp: String,
    amr: Vec<String>,
    /// The upstream the first factor was a sign-in through, if any.
    #[serde(default)]
    upstream_id: Option<String>,
    then: Continue,
}

/// What a first factor proved: its methods, and the upstream it was a
/// sign-in through (`None` for a local one).
#[derive(Debug, Clone, Default)]
pub(crate) struct FirstFactor {
    pub(crate) amr: Vec<String>,
    pub(crate) upstream_id: Option<String>,
}

/// A completed step: the browser's session under a NEW id.
#[derive(Debug)]
pub struct SignedIn {
    /// The new session.
    pub session: Session,
    /// The cookie value for it.
    pub cookie: String,
    /// Who.
    pub user: User,
    /// [`Standing::Complete`], or [`Standing::NeedsEnrollment`]: the
    /// session may only enroll a second factor.
    pub standing: Standing,
    /// Where to go on.
    pub then: Continue,
}

/// How a step ended.
#[derive(Debug)]
pub enum StepOutcome {
    /// The first factor passed; the second factor is due (nothing signed
    /// in). `cookie` when the browser was given a new (anonymous) session
    /// the pending sign-in is bound to.
    SecondFactor {
        /// The new session's cookie value, if the session changed.
        cookie: Option<String>,
    },
    /// Signed in.
    SignedIn(Box<SignedIn>),
    /// Wrong credential (one answer for an unknown user, a wrong password
    /// and a disabled account).
    Failed,
    /// Backing off: nothing was checked.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
    /// No sign-in is waiting for this step (expired, or never started).
    NotStarted,
}

impl StepOutcome {
    /// A label for the sign-in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::SecondFactor { .. } => "second_factor_due",
            Self::SignedIn(_) => "success",
            Self::Failed => "failure",
            Self::Refused { .. } => "locked",
            Self::NotStarted => "expired",
        }
    }
}

/// What the second-factor page offers.
#[derive(Debug, Clone)]
pub struct SecondFactorPrompt {
    /// Whose factor.
    pub user: User,
    /// What they have.
    pub factors: Factors,
    /// A signed-in session stepping up (a code adds nothing to a session
    /// that used a second factor already: only a passkey is offered then).
    pub step_up_to_passkey: bool,
    /// Where the sign-in goes on.
    pub then: Continue,
}

/// What the reset form led to.
#[derive(Debug)]
pub enum ResetOutcome {
    /// The password was reset: the link's step of the sign-in.
    Done(StepOutcome),
    /// Nothing changed: the form is shown again for `username`, saying why
    /// (`PasswordsDiffer`, `Policy`).
    Retry {
        /// The account the link resets.
        username: String,
        /// What to fix.
        why: AuthnError,
    },
}

/// What the account pages may do for a session.
#[derive(Debug, Clone)]
pub enum AccountAccess {
    /// Not signed in.
    SignIn,
    /// Signed in, but the user's second factor is due first.
    SecondFactorFirst,
    /// Signed in; may only enroll a second factor.
    EnrollOnly(User),
    /// Fully signed in.
    Full(User),
}

/// Everything a sign-in step needs.
#[derive(Debug, Clone, Copy)]
pub struct Interaction<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The hot state: the counters of every credential check, the state of
    /// the browser's ceremonies (the store's own, or shared ones on Redis
    /// when it is configured).
    pub hot: &'a dyn HotState,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The password hasher.
    pub hasher: &'a Arc<PasswordHasher>,
    /// The back-off policies.
    pub lockouts: &'a Lockouts,
    /// Who must use a second factor.
    pub mfa: &'a MfaPolicy,
    /// Session lifetimes.
    pub sessions: &'a SessionPolicy,
    /// TOTP over the store.
    pub totp: Totp<'a>,
    /// The WebAuthn relying party, when passkeys work here.
    pub passkeys: Option<&'a Passkeys>,
    /// The upstream identity providers ([`crate::upstream::registry::NONE`]
    /// for none).
    pub upstreams: &'a Upstreams,
    /// What the notices to account holders are rendered with.
    pub mail: &'a MailContext,
}

impl<'a> Interaction<'a> {
    /// Sessions over the same store and clock.
    pub fn sessions(&self) -> Sessions<'a> {
        Sessions { store: self.store, clock: self.clock, policy: self.sessions }
    }

    /// A password sign-in by the browser holding `browser`.
    #[tracing::instrument(skip_all)]
    pub async fn password(
        &self,
        browser: &Session,
        login: &str,
        password: Password,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let check = SignIn {
            store: self.store,
            throttle: self.hot,
            hasher: self.hasher,
            lockouts: self.lockouts,
            clock: self.clock,
        };
        match sign_in(check, login, password, request).await? {
            SignInOutcome::Success(user) => {
                self.first_factor(browser, &user, Method::Password, then, request).await
            }
            SignInOutcome::Failed => Ok(StepOutcome::Failed),
            SignInOutcome::Refused { until } => Ok(StepOutcome::Refused { until }),
        }
    }

    /// Starts a discoverable passkey sign-in for the browser holding
    /// `browser`: the options for the browser (the ceremony's state kept in
    /// the store, bound to the session). `PasskeysUnavailable` when
    /// passkeys do not work here.
    #[tracing::instrument(skip_all)]
    pub async fn begin_passkey(&self, browser: &Session) -> Result<Value, AuthnError> {
        let rp = self.passkeys.ok_or(AuthnError::PasskeysUnavailable)?;
        rp.begin_signin(self.hot, &browser.id_hash, self.clock.now()).await
    }

    /// A passkey sign-in (discoverable: the passkey names the user) with the
    /// ceremony the browser's session started and the browser's
    /// `credential`. A passkey is two factors on its own.
    #[tracing::instrument(skip_all)]
    pub async fn passkey(
        &self,
        browser: &Session,
        credential: &Value,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let Some(rp) = self.passkeys else { return Ok(StepOutcome::NotStarted) };
        let now = self.clock.now();
        let Some(state) = Passkeys::take_signin(self.hot, &browser.id_hash, now).await? else {
            return Ok(StepOutcome::NotStarted);
        };
        match passkeys::sign_in(rp, self.store, self.hot, self.lockouts, &state, credential, now, request)
            .await?
        {
            PasskeyOutcome::Success { user, method } => {
                self.first_factor(browser, &user, method, then, request).await
            }
            PasskeyOutcome::Failed => Ok(StepOutcome::Failed),
            PasskeyOutcome::Refused { until } => Ok(StepOutcome::Refused { until }),
        }
    }

    /// A mailed link (a completed password reset, or a magic link) that
    /// proved the mailbox of `user`: a first factor, never more.
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn email_link(
        &self,
        browser: &Session,
        user: &User,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        self.first_factor(browser, user, Method::EmailLink, then, request).await
    }

    /// A password reset by mail: the link is used and the password set (every
    /// session and refresh token of the account ends — the browser's own
    /// session too when it was the account's), then the link counts as what
    /// it is, a first factor proving the mailbox: the browser, on a NEW
    /// session, signs in or is asked for the second factor.
    #[tracing::instrument(skip_all)]
    pub async fn complete_reset(
        &self,
        recovery: &crate::recovery::Recovery<'_>,
        browser: &Session,
        token: &str,
        password: Password,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let reset = recovery.complete_reset(token, password, request).await?;
        // As it is now: the reset gave it a new security stamp.
        let user = self.store.find_user(reset.id).await?.ok_or(AuthnError::InvalidLink)?;
        match browser.user_id {
            // Another user's session is ended properly (back-channel logout).
            Some(id) if id != user.id => {
                self.store.end_session(&browser.id_hash, self.clock.now(), &Effects::default()).await?;
            }
            _ => {
                self.store.delete_session(&browser.id_hash).await?;
            }
        }
        let (fresh, cookie) = self.sessions().start_anonymous(request).await?;
        Ok(match self.email_link(&fresh, &user, Continue::default(), request).await? {
            StepOutcome::SecondFactor { .. } => StepOutcome::SecondFactor { cookie: Some(cookie) },
            other => other,
        })
    }

    /// The reset page's form: the two passwords must match and the new one
    /// pass the policy — else [`ResetOutcome::Retry`], nothing changed —
    /// then [`Self::complete_reset`]. `InvalidLink` when the link is not live.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(
        &self,
        recovery: &crate::recovery::Recovery<'_>,
        browser: &Session,
        token: &str,
        password: Password,
        confirm: Password,
        request: &RequestInfo,
    ) -> Result<ResetOutcome, AuthnError> {
        let username = recovery.reset_link_user(token).await?.username;
        if password.expose() != confirm.expose() {
            return Ok(ResetOutcome::Retry { username, why: AuthnError::PasswordsDiffer });
        }
        match self.complete_reset(recovery, browser, token, password, request).await {
            Ok(outcome) => Ok(ResetOutcome::Done(outcome)),
            Err(why @ AuthnError::Policy(_)) => Ok(ResetOutcome::Retry { username, why }),
            Err(e) => Err(e),
        }
    }

    /// A magic link opened in the browser holding `browser`: signs in (see
    /// [`Self::magic_link`]) when the link was asked for from this browser;
    /// `None` when it was not — the browser confirms first ("Sign in on
    /// this device?"). `InvalidLink` when the link is not live or may not
    /// sign this account in.
    #[tracing::instrument(skip_all)]
    pub async fn open_magic_link(
        &self,
        recovery: &crate::recovery::Recovery<'_>,
        browser: &Session,
        token: &str,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<Option<StepOutcome>, AuthnError> {
        match recovery.check_magic_link(token, Some(&browser.id_hash)).await? {
            MagicLinkCheck::SameBrowser => {
                self.magic_link(recovery, browser, token, then, request).await.map(Some)
            }
            MagicLinkCheck::OtherBrowser => Ok(None),
        }
    }

    /// A magic link opened by the browser holding `browser`: used once,
    /// then a first factor proving the mailbox, never more.
    #[tracing::instrument(skip_all)]
    pub async fn magic_link(
        &self,
        recovery: &crate::recovery::Recovery<'_>,
        browser: &Session,
        token: &str,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let user = recovery.use_magic_link(token, request).await?;
        self.email_link(browser, &user, then, request).await
    }

    /// A first factor `method` passed for `user`: the second factor is due,
    /// or the browser signs in (complete, or enrollment only).
    async fn first_factor(
        &self,
        browser: &Session,
        user: &User,
        method: Method,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let first = FirstFactor { amr: merge_amr::<&str>(&[], method), upstream_id: None };
        self.first_factor_of(browser, user, first, then, request).await
    }

    /// A first factor `first` passed for `user` (see [`Self::first_factor`]).
    pub(crate) async fn first_factor_of(
        &self,
        browser: &Session,
        user: &User,
        first: FirstFactor,
        then: Continue,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let factors = Factors::of(self.store, user).await?;
        let FirstFactor { amr, upstream_id } = first;
        match standing(self.mfa, user, &factors, &amr) {
            Standing::NeedsSecondFactor => {
                let stamp = user.security_stamp.clone();
                let pending = Pending { user_id: user.id, stamp, amr, upstream_id, then };
                let payload =
                    serde_json::to_string(&pending).map_err(|e| AuthnError::Crypto(e.to_string()))?;
                let until = self.clock.now() + PENDING_WINDOW;
                self.hot.put_session_state(&browser.id_hash, PENDING, &payload, until).await?;
                Ok(StepOutcome::SecondFactor { cookie: None })
            }
            other => {
                self.link_after_proof(browser, user, &amr, other, request).await?;
                let (session, cookie) =
                    self.sessions().sign_in(browser, user, amr, upstream_id, request).await?;
                let signed = SignedIn { session, cookie, user: user.clone(), standing: other, then };
                Ok(StepOutcome::SignedIn(Box::new(signed)))
            }
        }
    }

    /// The first factor a second factor would complete: the browser's
    /// pending sign-in, else its signed-in session (a step-up, or a session
    /// whose user added a factor since).
    async fn first_of(
        &self,
        browser: &Session,
    ) -> Result<Option<(User, FirstFactor, Continue, bool)>, AuthnError> {
        let now = self.clock.now();
        if let Some(raw) = self.hot.find_session_state(&browser.id_hash, PENDING, now).await?
            && let Ok(p) = serde_json::from_str::<Pending>(&raw)
        {
            let user =
                self.store.find_user(p.user_id).await?.filter(|u| !u.disabled && u.security_stamp == p.stamp);
            let first = FirstFactor { amr: p.amr, upstream_id: p.upstream_id };
            return Ok(user.map(|user| (user, first, p.then, true)));
        }
        let Some(user) = self.sessions().user_of(Some(browser)).await? else { return Ok(None) };
        let first = FirstFactor { amr: browser.amr.clone(), upstream_id: browser.upstream_id.clone() };
        Ok(Some((user, first, Continue::default(), false)))
    }

    /// What the second-factor page offers this browser, if a sign-in waits
    /// for one (or the session may step up).
    #[tracing::instrument(skip_all)]
    pub async fn second_factor_prompt(
        &self,
        browser: &Session,
    ) -> Result<Option<SecondFactorPrompt>, AuthnError> {
        let Some((user, first, then, _)) = self.first_of(browser).await? else { return Ok(None) };
        self.prompt_of(user, &first.amr, then).await.map(Some)
    }

    /// What the second-factor page offers `user`, whose sign-in has `amr`.
    async fn prompt_of(
        &self,
        user: User,
        amr: &[String],
        then: Continue,
    ) -> Result<SecondFactorPrompt, AuthnError> {
        let factors = Factors::of(self.store, &user).await?;
        let step_up_to_passkey = amr.iter().any(|m| m == "mfa");
        Ok(SecondFactorPrompt { user, factors, step_up_to_passkey, then })
    }

    /// A second factor for the browser's pending sign-in (or a step-up of
    /// its session): checked on the user's own second-factor counter; when
    /// right, the browser signs in under a NEW id with both methods.
    #[tracing::instrument(skip_all, fields(method = ?factor.method()))]
    pub async fn second_factor(
        &self,
        browser: &Session,
        factor: SecondFactor<'_>,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let Some((user, first, then, _)) = self.first_of(browser).await? else {
            return Ok(StepOutcome::NotStarted);
        };
        self.second_factor_for(browser, user, first, then, factor, request).await
    }

    /// [`Self::second_factor`] for the sign-in `first_of` found: `user`,
    /// the methods so far, where it goes on.
    async fn second_factor_for(
        &self,
        browser: &Session,
        user: User,
        first: FirstFactor,
        then: Continue,
        factor: SecondFactor<'_>,
        request: &RequestInfo,
    ) -> Result<StepOutcome, AuthnError> {
        let check = SecondFactorCheck {
            totp: self.totp,
            throttle: self.hot,
            lockouts: self.lockouts,
            clock: self.clock,
        };
        match check_second_factor(check, &user, factor, request).await? {
            SecondFactorOutcome::Success(method) => {
                // The waiting sign-in is used up (in the database it would
                // also die with the session id replaced below; in Redis it
                // is keyed by that id and must go explicitly).
                self.hot.take_session_state(&browser.id_hash, PENDING, self.clock.now()).await?;
                let amr = merge_amr(&first.amr, method);
                let factors = Factors::of(self.store, &user).await?;
                let standing = standing(self.mfa, &user, &factors, &amr);
                self.link_after_proof(browser, &user, &amr, standing, request).await?;
                let sessions = self.sessions();
                let (session, cookie) =
                    sessions.sign_in(browser, &user, amr, first.upstream_id, request).await?;
                Ok(StepOutcome::SignedIn(Box::new(SignedIn { session, cookie, user, standing, then })))
            }
            SecondFactorOutcome::Failed => Ok(StepOutcome::Failed),
            SecondFactorOutcome::Refused { until } => Ok(StepOutcome::Refused { until }),
        }
    }

    /// One second factor from the second-factor page, with what that page
    /// offered (read before the step: a success replaces the session it is
    /// bound to) — `None` when no sign-in waits for one. A success goes on
    /// to `request` (the live authorization request the page carried, if
    /// any: a step-up) instead of the one the sign-in started with.
    #[tracing::instrument(skip_all, fields(method = ?factor.method()))]
    pub async fn second_factor_attempt(
        &self,
        browser: &Session,
        factor: SecondFactor<'_>,
        request: &str,
        info: &RequestInfo,
    ) -> Result<Option<(SecondFactorPrompt, StepOutcome)>, AuthnError> {
        // The sign-in is read once, for the page and the step.
        let Some((user, first, then, _)) = self.first_of(browser).await? else { return Ok(None) };
        let prompt = self.prompt_of(user.clone(), &first.amr, then.clone()).await?;
        let mut outcome = self.second_factor_for(browser, user, first, then, factor, info).await?;
        if let StepOutcome::SignedIn(signed) = &mut outcome
            && !request.is_empty()
        {
            signed.then.request = request.to_owned();
        }
        Ok(Some((prompt, outcome)))
    }

    /// `user` enrolled a second factor (`method`: the app, confirmed by its
    /// first code, or a passkey) in `session`: the session gets a NEW id and,
    /// when it had not used a second factor yet, that step joins its methods
    /// (enrolling proved the new factor in this session).
    #[tracing::instrument(skip_all, fields(method = ?method))]
    pub async fn enrolled(&self, session: &Session, method: Method) -> Result<(Session, String), AuthnError> {
        Ok(self.sessions().rotate(session, after_enrollment(&session.amr, method)).await?)
    }

    /// Where `session` stands, with its user (`None`: not signed in).
    pub async fn standing_of(
        &self,
        session: Option<&Session>,
    ) -> Result<Option<(User, Standing)>, AuthnError> {
        let Some(user) = self.sessions().user_of(session).await? else { return Ok(None) };
        let amr = session.map(|s| s.amr.as_slice()).unwrap_or_default();
        let factors = Factors::of(self.store, &user).await?;
        let standing = standing(self.mfa, &user, &factors, amr);
        Ok(Some((user, standing)))
    }

    /// Who may change the email address with `session`: its fully
    /// signed-in user, with whether the session authenticated recently and
    /// strongly enough to skip the password; `None` otherwise.
    #[tracing::instrument(skip_all)]
    pub async fn email_change_access(
        &self,
        session: Option<&Session>,
    ) -> Result<Option<(User, bool)>, AuthnError> {
        let (AccountAccess::Full(user), Some(session)) = (self.account_access(session).await?, session)
        else {
            return Ok(None);
        };
        let recent = may_change(session, Change::Security, self.clock.now());
        Ok(Some((user, recent)))
    }

    /// What the account pages may do for `session`.
    #[tracing::instrument(skip_all)]
    pub async fn account_access(&self, session: Option<&Session>) -> Result<AccountAccess, AuthnError> {
        Ok(match self.standing_of(session).await? {
            None => AccountAccess::SignIn,
            Some((_, Standing::NeedsSecondFactor)) => AccountAccess::SecondFactorFirst,
            Some((user, Standing::NeedsEnrollment)) => AccountAccess::EnrollOnly(user),
            Some((user, Standing::Complete)) => AccountAccess::Full(user),
        })
    }

    /// The browser's sign-in as the protocol sees it: only a complete one
    /// is an [`Authentication`].
    #[tracing::instrument(skip_all)]
    pub async fn state(&self, browser: Option<&Session>) -> Result<SignInState, AuthnError> {
        if let Some((user, standing)) = self.standing_of(browser).await?
            && let Some(session) = browser
        {
            return Ok(match standing {
                Standing::Complete => match authentication(session) {
                    Some(auth) => SignInState::Complete(auth),
                    None => SignInState::Anonymous,
                },
                Standing::NeedsSecondFactor => {
                    SignInState::Incomplete { user_id: user.id, missing: Missing::SecondFactor }
                }
                Standing::NeedsEnrollment => {
                    SignInState::Incomplete { user_id: user.id, missing: Missing::Enrollment }
                }
            });
        }
        if let Some(browser) = browser
            && let Some((user, _, _, true)) = self.first_of(browser).await?
        {
            return Ok(SignInState::Incomplete { user_id: user.id, missing: Missing::SecondFactor });
        }
        Ok(SignInState::Anonymous)
    }
}

/// The authentication a signed-in session carries.
fn authentication(session: &Session) -> Option<Authentication> {
    Some(Authentication {
        user_id: session.user_id?,
        sid: session.sid.clone(),
        auth_time: session.auth_time?,
        amr: session.amr.clone(),
        acr: session.acr.clone(),
    })
}
