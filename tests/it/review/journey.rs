//! Acceptance 2: random sequences of events — right and wrong passwords,
//! authenticator-app and recovery codes, passkeys, reset and magic links,
//! email and password changes, factor enrollment and removal, logout, clock
//! jumps and parallel attempts — driven through the sign-in journey
//! (`portcullis_authn::Interaction` and the protocol's resume, no HTTP) on
//! a real store with a manual clock. After every event:
//!
//! - (a) no session of a user who has a second factor, or whom the policy
//!   requires to have one, is fully signed in without a second-factor step
//!   in that session (tracked by the model, not read from the session);
//! - (b) wrong guesses evaluated per account and factor, between two
//!   successes of that factor, never exceed what the back-off allows over
//!   the time they span (`LockoutPolicy::most_failures_within`), however
//!   they interleave (parallel attempts included);
//! - (c) a reset, magic or email-change link works only while the
//!   account's email and password are the ones it was issued under;
//! - (d) nothing but a complete sign-in yields an authorization code.

use futures_util::future::join_all;
use portcullis_authn::recovery::{LinkRequestSource, Recovery, RecoveryRules};
use portcullis_authn::{
    AccountAccess, Argon2Cost, AuthnError, Change, Continue, Interaction, Lockouts, Method, MfaPolicy,
    Passkeys, Password, PasswordHasher, PasswordPolicy, RequestInfo, SecondFactor, SessionPolicy, Sessions,
    StepOutcome, Totp, accounts::Accounts, journey::may_change,
};
use portcullis_core::{Clock, Issuer, ManualClock};
use portcullis_keys::{Kek, KeySet};
use portcullis_mailer::{MailContext, MailSource};
use portcullis_protocol::authorize::{AuthorizeParams, Next, resume, store_pending, validate};
use portcullis_protocol::{ClientCache, Ctx, ProtocolConfig, SignInState, TokenStateCache};
use portcullis_store::{
    Effects, FactorRef, LockoutPolicy, MemoryThrottle, NewUser, Rotation, Session, Store, User,
};
use portcullis_tests::mfa::totp_code;
use portcullis_tests::oidc::{ClientSpec, pkce};
use portcullis_tests::soft_passkey::SoftPasskey;
use portcullis_tests::{Backend, both_backends, test_store};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::lockout;
use time::{Duration, OffsetDateTime};

const BROWSERS: usize = 3;
const ORIGIN: &str = "http://localhost:8080";

#[derive(Debug, Clone)]
enum Event {
    Password { browser: usize, right: bool },
    ParallelWrongPasswords(usize),
    Totp { browser: usize, right: bool },
    ParallelWrongTotp { browser: usize, n: usize },
    RecoveryCode { browser: usize, right: bool },
    Passkey { browser: usize },
    RequestReset,
    UseReset { browser: usize, link: usize },
    RequestMagic { browser: usize },
    UseMagic { browser: usize, link: usize },
    ChangeEmail,
    ChangePassword,
    EnrollTotp { browser: usize },
    EnrollPasskey { browser: usize },
    RemoveTotp { browser: usize },
    RemovePasskey { browser: usize },
    RequireMfa(bool),
    Logout { browser: usize },
    Authorize { browser: usize, prompt_none: bool },
    Wait(i64),
}

fn browser() -> impl Strategy<Value = usize> {
    0..BROWSERS
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        5 => (browser(), any::<bool>()).prop_map(|(browser, right)| Event::Password { browser, right }),
        1 => (2..8usize).prop_map(Event::ParallelWrongPasswords),
        4 => (browser(), any::<bool>()).prop_map(|(browser, right)| Event::Totp { browser, right }),
        1 => (browser(), 2..6usize).prop_map(|(browser, n)| Event::ParallelWrongTotp { browser, n }),
        2 => (browser(), any::<bool>()).prop_map(|(browser, right)| Event::RecoveryCode { browser, right }),
        2 => browser().prop_map(|browser| Event::Passkey { browser }),
        2 => Just(Event::RequestReset),
        2 => (browser(), 0..3usize).prop_map(|(browser, link)| Event::UseReset { browser, link }),
        1 => browser().prop_map(|browser| Event::RequestMagic { browser }),
        1 => (browser(), 0..3usize).prop_map(|(browser, link)| Event::UseMagic { browser, link }),
        1 => Just(Event::ChangeEmail),
        1 => Just(Event::ChangePassword),
        3 => browser().prop_map(|browser| Event::EnrollTotp { browser }),
        2 => browser().prop_map(|browser| Event::EnrollPasskey { browser }),
        1 => browser().prop_map(|browser| Event::RemoveTotp { browser }),
        1 => browser().prop_map(|browser| Event::RemovePasskey { browser }),
        1 => any::<bool>().prop_map(Event::RequireMfa),
        1 => browser().prop_map(|browser| Event::Logout { browser }),
        3 => (browser(), any::<bool>()).prop_map(|(browser, prompt_none)| Event::Authorize { browser, prompt_none }),
        3 => prop_oneof![0..40i64, 25..200i64, 1000..1200i64, 7200..7300i64].prop_map(Event::Wait),
    ]
}

/// A start that often sets a factor up, so the random events that follow
/// meet the second-factor states.
fn prefix() -> impl Strategy<Value = Vec<Event>> {
    let sign_in = Event::Password { browser: 0, right: true };
    prop_oneof![
        Just(vec![]),
        Just(vec![sign_in.clone(), Event::EnrollTotp { browser: 0 }]),
        Just(vec![sign_in.clone(), Event::EnrollPasskey { browser: 0 }]),
        Just(vec![sign_in, Event::EnrollTotp { browser: 0 }, Event::EnrollPasskey { browser: 0 }]),
    ]
}

/// A mailed link as the model knows it.
#[derive(Debug)]
struct Link {
    token: String,
    email: String,
    password: String,
    used: bool,
}

/// One failure evaluated, or a success, of a factor ("pwd" or "mfa").
#[derive(Debug, Default)]
struct Guesses {
    /// Instants of the wrong guesses evaluated since the last success.
    since_success: Vec<OffsetDateTime>,
}

/// What the test knows independently of the implementation.
struct Model {
    user: User,
    username: String,
    password: String,
    email: String,
    totp: Option<String>,
    recovery_codes: Vec<String>,
    passkey: Option<SoftPasskey>,
    passkey_id: Option<uuid::Uuid>,
    /// The browser's cookie value.
    cookies: [Option<String>; BROWSERS],
    /// Whether a second-factor step happened in the session (by id hash).
    second_factor: HashMap<String, bool>,
    resets: Vec<Link>,
    magic: Vec<Link>,
    guesses: HashMap<&'static str, Guesses>,
    stats: Stats,
}

/// What the events reached, summed over the cases (a property test whose
/// events never reach the interesting states would prove nothing).
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    codes_issued: usize,
    second_factor_sign_ins: usize,
    passkey_sign_ins: usize,
    links_used: usize,
    stale_links_refused: usize,
    refused_attempts: usize,
    enrollments: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.codes_issued += o.codes_issued;
        self.second_factor_sign_ins += o.second_factor_sign_ins;
        self.passkey_sign_ins += o.passkey_sign_ins;
        self.links_used += o.links_used;
        self.stale_links_refused += o.stale_links_refused;
        self.refused_attempts += o.refused_attempts;
        self.enrollments += o.enrollments;
    }
}

/// Everything a case drives.
struct World<'a> {
    store: &'a dyn Store,
    clock: &'a ManualClock,
    hasher: &'a Arc<PasswordHasher>,
    kek: &'a Kek,
    lockouts: &'a Lockouts,
    mfa: &'a MfaPolicy,
    sessions: &'a SessionPolicy,
    passkeys: &'a Passkeys,
    mail: &'a MailContext,
    rules: &'a RecoveryRules,
    policy: &'a PasswordPolicy,
    source: &'a LinkRequestSource,
    client: &'a portcullis_protocol::Client,
    protocol: &'a ProtocolConfig,
    info: RequestInfo,
}

impl<'a> World<'a> {
    fn interaction(&self) -> Interaction<'a> {
        Interaction {
            store: self.store,
            hot: self.store,
            clock: self.clock,
            hasher: self.hasher,
            lockouts: self.lockouts,
            mfa: self.mfa,
            sessions: self.sessions,
            totp: Totp { store: self.store, kek: self.kek, issuer: "Portcullis" },
            passkeys: Some(self.passkeys),
            upstreams: &portcullis_authn::upstream::registry::NONE,
            mail: self.mail,
        }
    }

    fn recovery(&self) -> Recovery<'a> {
        Recovery {
            store: self.store,
            throttle: self.store,
            hasher: self.hasher,
            policy: self.policy,
            lockouts: self.lockouts,
            mfa: self.mfa,
            clock: self.clock,
            mail: self.mail,
            rules: self.rules,
        }
    }

    fn accounts(&self) -> Accounts<'a> {
        Accounts { store: self.store, hasher: self.hasher, policy: self.policy, clock: self.clock }
    }

    fn sessions(&self) -> Sessions<'a> {
        Sessions { store: self.store, clock: self.clock, policy: self.sessions }
    }

    /// The browser's live session, or a new anonymous one.
    async fn browser(&self, model: &mut Model, b: usize) -> Session {
        if let Some(raw) = &model.cookies[b]
            && let Some(session) = self.sessions().current(raw).await.expect("session")
        {
            return session;
        }
        let (session, raw) = self.sessions().start_anonymous(&self.info).await.expect("anonymous");
        model.cookies[b] = Some(raw);
        session
    }

    /// The links mailed since the last call: (purpose path, token, recipient).
    async fn mails(&self) -> Vec<(String, String)> {
        self.source.produce().await.expect("produce");
        let mut out = Vec::new();
        let now = self.clock.now();
        while let Some(mail) =
            self.store.claim_due_mail(now, now + Duration::minutes(5)).await.expect("claim")
        {
            self.store.mark_mail_sent(&mail.id, now).await.expect("sent");
            for path in ["/recover/reset?token=", "/login/magic?token=", "/verify-email?token="] {
                if let Some(at) = mail.mail.text.find(path) {
                    let token: String = mail.mail.text[at + path.len()..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .collect();
                    out.push((path.to_owned(), token));
                }
            }
        }
        out
    }
}

/// Records what a step did for the model's flags.
fn record_step(model: &mut Model, b: usize, outcome: &StepOutcome, second_factor_step: bool) {
    match outcome {
        StepOutcome::SignedIn(signed) => {
            model.cookies[b] = Some(signed.cookie.clone());
            model.second_factor.insert(signed.session.id_hash.clone(), second_factor_step);
        }
        StepOutcome::SecondFactor { cookie: Some(raw) } => model.cookies[b] = Some(raw.clone()),
        _ => {}
    }
}

fn guess(model: &mut Model, factor: &'static str, outcome: &StepOutcome, now: OffsetDateTime) {
    match outcome {
        StepOutcome::Refused { .. } => model.stats.refused_attempts += 1,
        StepOutcome::SignedIn(_) if factor == "mfa" => model.stats.second_factor_sign_ins += 1,
        _ => {}
    }
    let guesses = model.guesses.entry(factor).or_default();
    match outcome {
        StepOutcome::Failed => guesses.since_success.push(now),
        StepOutcome::SignedIn(_) | StepOutcome::SecondFactor { .. } => guesses.since_success.clear(),
        _ => {}
    }
}

/// (b): the wrong guesses between two successes fit the back-off.
fn check_guesses(model: &Model, factor: &'static str, policy: &LockoutPolicy) {
    let Some(guesses) = model.guesses.get(factor) else { return };
    let times = &guesses.since_success;
    for (i, first) in times.iter().enumerate() {
        for (j, last) in times.iter().enumerate().skip(i) {
            let span = *last - *first;
            if span >= policy.memory() {
                continue;
            }
            let evaluated = u32::try_from(j - i + 1).expect("small");
            assert!(
                evaluated <= policy.most_failures_within(span),
                "(b) {evaluated} wrong {factor} guesses evaluated within {span} (policy {policy:?}): {times:?}"
            );
        }
    }
}

/// (a): every fully signed-in session of a user who has (or must have) a
/// second factor used one in that session.
async fn check_sessions(world: &World<'_>, model: &mut Model) {
    for b in 0..BROWSERS {
        let Some(raw) = model.cookies[b].clone() else { continue };
        let Some(session) = world.sessions().current(&raw).await.expect("session") else { continue };
        let state = world.interaction().state(Some(&session)).await.expect("state");
        if state.complete().is_some() {
            check_complete(world, model, &session).await;
        }
    }
}

async fn check_complete(world: &World<'_>, model: &Model, session: &Session) {
    let user = world.store.find_user(model.user.id).await.expect("find").expect("user");
    let factors = portcullis_authn::Factors::of(world.store, &user).await.expect("factors");
    if factors.any() || world.mfa.requires_mfa(&user) {
        assert_eq!(
            model.second_factor.get(&session.id_hash),
            Some(&true),
            "(a) a complete session without a second-factor step: amr {:?}, factors {factors:?}",
            session.amr
        );
    }
}

/// Runs one event.
async fn step(world: &World<'_>, model: &mut Model, event: &Event) {
    let now = world.clock.now();
    let then = Continue::default();
    let interaction = world.interaction();
    match *event {
        Event::Password { browser, right } => {
            let session = world.browser(model, browser).await;
            let typed = if right { model.password.clone() } else { "a wrong guess".to_owned() };
            let outcome = interaction
                .password(&session, &model.username, Password::new(typed), then, &world.info)
                .await
                .expect("password");
            guess(model, "pwd", &outcome, now);
            record_step(model, browser, &outcome, false);
        }
        Event::ParallelWrongPasswords(n) => {
            let mut sessions = Vec::new();
            for _ in 0..n {
                sessions.push(world.sessions().start_anonymous(&world.info).await.expect("anonymous").0);
            }
            let attempts = sessions.iter().map(|s| {
                interaction.password(
                    s,
                    &model.username,
                    Password::new("wrong"),
                    Continue::default(),
                    &world.info,
                )
            });
            for outcome in join_all(attempts).await {
                guess(model, "pwd", &outcome.expect("password"), now);
            }
        }
        Event::Totp { browser, right } => {
            let session = world.browser(model, browser).await;
            let code = match (&model.totp, right) {
                (Some(secret), true) => totp_code(secret, now),
                _ => "123456".to_owned(),
            };
            let outcome = interaction
                .second_factor(&session, SecondFactor::Totp(&code), &world.info)
                .await
                .expect("totp");
            guess(model, "mfa", &outcome, now);
            record_step(model, browser, &outcome, true);
        }
        Event::ParallelWrongTotp { browser, n } => {
            let session = world.browser(model, browser).await;
            let attempts = (0..n)
                .map(|_| interaction.second_factor(&session, SecondFactor::Totp("000001"), &world.info));
            for outcome in join_all(attempts).await {
                guess(model, "mfa", &outcome.expect("totp"), now);
            }
        }
        Event::RecoveryCode { browser, right } => {
            let session = world.browser(model, browser).await;
            let code = if right { model.recovery_codes.first().cloned() } else { None };
            let typed = code.clone().unwrap_or_else(|| "aaaa-bbbb-cccc-dddd".to_owned());
            let outcome = interaction
                .second_factor(&session, SecondFactor::RecoveryCode(&typed), &world.info)
                .await
                .expect("recovery code");
            if matches!(outcome, StepOutcome::SignedIn(_)) {
                model.recovery_codes.retain(|c| Some(c) != code.as_ref());
            }
            guess(model, "mfa", &outcome, now);
            record_step(model, browser, &outcome, true);
        }
        Event::Passkey { browser } => {
            let session = world.browser(model, browser).await;
            let Some(soft) = model.passkey.as_mut() else { return };
            let options =
                world.passkeys.begin_signin(world.store, &session.id_hash, now).await.expect("options");
            let credential = soft.assert(&options);
            let outcome =
                interaction.passkey(&session, &credential, then, &world.info).await.expect("passkey");
            if matches!(outcome, StepOutcome::SignedIn(_)) {
                model.stats.passkey_sign_ins += 1;
            }
            record_step(model, browser, &outcome, true);
        }
        Event::RequestReset => {
            world.recovery().request_reset(&model.email, &world.info).await.expect("request");
            for (path, token) in world.mails().await {
                if path.starts_with("/recover") {
                    let link = Link {
                        token,
                        email: model.email.clone(),
                        password: model.password.clone(),
                        used: false,
                    };
                    model.resets.push(link);
                }
            }
        }
        Event::UseReset { browser, link } => {
            let Some(index) = (!model.resets.is_empty()).then(|| link % model.resets.len()) else { return };
            let session = world.browser(model, browser).await;
            let new_password = format!("new passphrase {}", portcullis_core::random::hex_id());
            let token = model.resets[index].token.clone();
            let recovery = world.recovery();
            match interaction
                .complete_reset(&recovery, &session, &token, Password::new(new_password.clone()), &world.info)
                .await
            {
                Ok(outcome) => {
                    let issued = &model.resets[index];
                    assert!(!issued.used, "(c) a reset link worked twice");
                    assert_eq!(
                        (issued.email.as_str(), issued.password.as_str()),
                        (model.email.as_str(), model.password.as_str()),
                        "(c) a reset link worked after the email or password changed"
                    );
                    model.resets[index].used = true;
                    model.stats.links_used += 1;
                    model.password = new_password;
                    record_step(model, browser, &outcome, false);
                }
                Err(AuthnError::InvalidLink) => {
                    let issued = &model.resets[index];
                    if !issued.used {
                        model.stats.stale_links_refused += 1;
                    }
                }
                Err(AuthnError::Policy(_)) => {}
                Err(e) => panic!("reset: {e}"),
            }
        }
        Event::RequestMagic { browser } => {
            let session = world.browser(model, browser).await;
            world
                .recovery()
                .request_magic_link(&model.email, &session.id_hash, None, &world.info)
                .await
                .expect("request");
            for (path, token) in world.mails().await {
                if path.starts_with("/login/magic") {
                    let link = Link {
                        token,
                        email: model.email.clone(),
                        password: model.password.clone(),
                        used: false,
                    };
                    model.magic.push(link);
                }
            }
        }
        Event::UseMagic { browser, link } => {
            let Some(index) = (!model.magic.is_empty()).then(|| link % model.magic.len()) else { return };
            let session = world.browser(model, browser).await;
            let token = model.magic[index].token.clone();
            let recovery = world.recovery();
            match interaction.magic_link(&recovery, &session, &token, then, &world.info).await {
                Ok(outcome) => {
                    let issued = &model.magic[index];
                    assert!(!issued.used, "(c) a magic link worked twice");
                    assert_eq!(
                        (issued.email.as_str(), issued.password.as_str()),
                        (model.email.as_str(), model.password.as_str()),
                        "(c) a magic link worked after the email or password changed"
                    );
                    model.magic[index].used = true;
                    model.stats.links_used += 1;
                    record_step(model, browser, &outcome, false);
                }
                Err(AuthnError::InvalidLink) => {}
                Err(e) => panic!("magic link: {e}"),
            }
        }
        Event::ChangeEmail => {
            let user = world.store.find_user(model.user.id).await.expect("find").expect("user");
            let new = format!("{}@moved.example", portcullis_core::random::hex_id());
            match world.recovery().request_email_change(&user, None, &new, &world.info).await {
                Ok(()) => {}
                Err(AuthnError::TooManyRequests) => return,
                Err(e) => panic!("email change: {e}"),
            }
            let (email, password) = (model.email.clone(), model.password.clone());
            for (path, token) in world.mails().await {
                if path.starts_with("/verify-email") {
                    world.recovery().verify_email(&token, &world.info).await.expect("verify");
                    assert_eq!(
                        (email.as_str(), password.as_str()),
                        (model.email.as_str(), model.password.as_str())
                    );
                    model.email = new.clone();
                }
            }
        }
        Event::ChangePassword => {
            let user = world.store.find_user(model.user.id).await.expect("find").expect("user");
            let new_password = format!("changed passphrase {}", portcullis_core::random::hex_id());
            world
                .accounts()
                .change_password(&user, Password::new(new_password.clone()), None, world.mail, &world.info)
                .await
                .expect("change");
            model.password = new_password;
        }
        Event::EnrollTotp { browser } => {
            let session = world.browser(model, browser).await;
            if model.totp.is_some() || !may_enroll(world, &session).await {
                return;
            }
            let totp = Totp { store: world.store, kek: world.kek, issuer: "Portcullis" };
            let enrollment = totp.begin(model.user.id, &model.username, now).await.expect("begin");
            let code = totp_code(&enrollment.secret, now);
            assert!(totp.check(model.user.id, &code, true, now).await.expect("confirm"));
            model.totp = Some(enrollment.secret);
            model.stats.enrollments += 1;
            if world.store.count_recovery_codes(model.user.id).await.expect("count") == 0 {
                model.recovery_codes =
                    portcullis_authn::recovery_codes::regenerate(world.store, model.user.id, now)
                        .await
                        .expect("codes");
            }
            let (rotated, raw) = interaction.enrolled(&session, Method::Totp).await.expect("enrolled");
            model.cookies[browser] = Some(raw);
            model.second_factor.insert(rotated.id_hash, true);
        }
        Event::EnrollPasskey { browser } => {
            let session = world.browser(model, browser).await;
            if model.passkey.is_some() || !may_enroll(world, &session).await {
                return;
            }
            let user = world.store.find_user(model.user.id).await.expect("find").expect("user");
            let mut soft = SoftPasskey::new("localhost", ORIGIN);
            let options = world
                .passkeys
                .begin_registration(world.store, world.store, &session.id_hash, &user, now)
                .await
                .expect("options");
            let response = soft.register(&options);
            let (row, method) = world
                .passkeys
                .finish_registration_for(
                    world.store,
                    world.store,
                    &session.id_hash,
                    &user,
                    "soft",
                    &response,
                    now,
                    &world.info,
                )
                .await
                .expect("registered");
            model.passkey = Some(soft);
            model.passkey_id = Some(row.id);
            model.stats.enrollments += 1;
            let (rotated, raw) = interaction.enrolled(&session, method).await.expect("enrolled");
            model.cookies[browser] = Some(raw);
            model.second_factor.insert(rotated.id_hash, true);
        }
        Event::RemoveTotp { browser } | Event::RemovePasskey { browser } => {
            let session = world.browser(model, browser).await;
            let full = matches!(
                interaction.account_access(Some(&session)).await.expect("access"),
                AccountAccess::Full(_)
            );
            if !full || !may_change(&session, Change::Security, now) {
                return;
            }
            let factor = match event {
                Event::RemoveTotp { .. } => FactorRef::Totp,
                _ => match model.passkey_id {
                    Some(id) => FactorRef::Passkey(id),
                    None => return,
                },
            };
            let user = world.store.find_user(model.user.id).await.expect("find").expect("user");
            let (renewed, raw) = portcullis_authn::sessions::renewed(&session, None);
            let rotate = Rotation { old_id_hash: &session.id_hash, new: &renewed };
            let removed = world
                .accounts()
                .remove_factor(&user, factor, rotate, world.mail, &world.info)
                .await
                .expect("remove");
            if removed.is_some() {
                // The acting session lives on under its new id.
                model.cookies[browser] = Some(raw);
                if let Some(step) = model.second_factor.remove(&session.id_hash) {
                    model.second_factor.insert(renewed.id_hash.clone(), step);
                }
                match factor {
                    FactorRef::Totp => model.totp = None,
                    _ => (model.passkey, model.passkey_id) = (None, None),
                }
                let factors = portcullis_authn::Factors::of(world.store, &user).await.expect("factors");
                if !factors.any() {
                    model.recovery_codes.clear();
                }
            }
        }
        Event::RequireMfa(required) => {
            world
                .store
                .set_mfa_required(model.user.id, required, now, &Effects::default())
                .await
                .expect("flag");
        }
        Event::Logout { browser } => {
            let session = world.browser(model, browser).await;
            world.store.end_session(&session.id_hash, now, &Effects::default()).await.expect("logout");
            model.cookies[browser] = None;
        }
        Event::Authorize { browser, prompt_none } => {
            let session = world.browser(model, browser).await;
            let state = interaction.state(Some(&session)).await.expect("state");
            let (_, challenge) = pkce();
            let params = AuthorizeParams {
                client_id: Some("rp".into()),
                redirect_uri: Some("http://127.0.0.1:9/cb".into()),
                response_type: Some("code".into()),
                scope: Some("openid".into()),
                code_challenge: Some(challenge),
                code_challenge_method: Some("S256".into()),
                prompt: prompt_none.then(|| "none".into()),
                ..AuthorizeParams::default()
            };
            let request = validate(&params, Some(world.client), &portcullis_protocol::Resources::default())
                .expect("a valid request");
            let keys = std::sync::Arc::new(KeySet::empty());
            let issuer = Issuer::parse(ORIGIN).expect("issuer");
            let clients = ClientCache::new(Duration::seconds(5));
            let tokens = TokenStateCache::new(Duration::seconds(1));
            let throttle = MemoryThrottle::new();
            let dpop = portcullis_protocol::dpop::Dpop::new([0; 32]);
            let ctx = Ctx {
                store: world.store,
                keys: &keys,
                issuer: &issuer,
                config: world.protocol,
                clients: &clients,
                tokens: &tokens,
                requests: world.store,
                throttle: &throttle,
                dpop: &dpop,
                now,
            };
            let pending = store_pending(&ctx, &params, request, world.client.clone()).await.expect("pending");
            let next = resume(&ctx, &pending, &state).await.expect("resume");
            if let Next::Redirect(url) = &next
                && url.query_pairs().any(|(k, _)| k == "code")
            {
                // (d) only a complete sign-in gets a code, and (a) holds for it.
                assert!(matches!(state, SignInState::Complete(_)), "(d) a code for {state:?}");
                check_complete(world, model, &session).await;
                model.stats.codes_issued += 1;
            }
        }
        Event::Wait(secs) => world.clock.advance(Duration::seconds(secs)),
    }
}

/// Whether the session may enroll a factor now (as the account page decides).
async fn may_enroll(world: &World<'_>, session: &Session) -> bool {
    let access = world.interaction().account_access(Some(session)).await.expect("access");
    matches!(access, AccountAccess::Full(_) | AccountAccess::EnrollOnly(_))
        && may_change(session, Change::Security, world.clock.now())
}

/// Runs one case on `store`; `case` keeps its accounts and counters apart.
async fn run_case(
    store: &dyn Store,
    shared: &Arc<dyn Store>,
    case: usize,
    admin: bool,
    events: &[Event],
) -> Stats {
    // Each case in its own month: the outbox and counters of earlier cases
    // are always in its past.
    let start = time::macros::datetime!(2026-04-01 08:00 UTC)
        + Duration::days(30 * i64::try_from(case).expect("small"));
    let clock = ManualClock::new(start);
    let hasher = Arc::new(
        PasswordHasher::new(Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 }).expect("hasher"),
    );
    let kek = Kek::generate();
    let lockouts =
        Lockouts { account: lockout(3), second_factor: lockout(3), ip: lockout(40), user_code: lockout(3) };
    let mfa = MfaPolicy::default();
    let sessions = SessionPolicy { idle_timeout: Duration::hours(1), absolute_timeout: Duration::hours(12) };
    let passkeys = Passkeys::new(&url::Url::parse(ORIGIN).expect("origin"), "Portcullis").expect("rp");
    let mail = MailContext::new("Portcullis", ORIGIN);
    let rules = RecoveryRules::default();
    let password_policy = PasswordPolicy::default();
    let source = LinkRequestSource {
        store: shared.clone(),
        clock: Arc::new(clock.clone()),
        mail: mail.clone(),
        rules,
        mfa,
    };
    let username = format!("user{case}");
    let password = "the first passphrase".to_owned();
    let hash = hasher.hash(&Password::new(password.clone())).expect("hash");
    let user = store
        .create_user(&NewUser {
            id: uuid::Uuid::new_v4(),
            username: username.clone(),
            email: format!("{username}@example.com"),
            email_verified: true,
            display_name: None,
            roles: if admin { vec!["admin".into()] } else { vec![] },
            password_hash: Some(hash),
            created_at: clock.now(),
        })
        .await
        .expect("user");
    let client = client(store, case, &clock).await;
    let world = World {
        store,
        clock: &clock,
        hasher: &hasher,
        kek: &kek,
        lockouts: &lockouts,
        mfa: &mfa,
        sessions: &sessions,
        passkeys: &passkeys,
        mail: &mail,
        rules: &rules,
        policy: &password_policy,
        source: &source,
        client: &client,
        protocol: &ProtocolConfig::new(sessions.idle_timeout, sessions.absolute_timeout),
        info: RequestInfo { ip: Some(format!("10.0.{}.{}", case / 250, case % 250)), user_agent: None },
    };
    let mut model = Model {
        email: user.email.clone(),
        user,
        username,
        password,
        totp: None,
        recovery_codes: Vec::new(),
        passkey: None,
        passkey_id: None,
        cookies: [None, None, None],
        second_factor: HashMap::new(),
        resets: Vec::new(),
        magic: Vec::new(),
        guesses: HashMap::new(),
        stats: Stats::default(),
    };
    for event in events {
        step(&world, &mut model, event).await;
        check_sessions(&world, &mut model).await;
        check_guesses(&model, "pwd", &lockouts.account);
        check_guesses(&model, "mfa", &lockouts.second_factor);
    }
    model.stats
}

/// The case's client (confidential, code flow, no consent).
async fn client(store: &dyn Store, case: usize, clock: &ManualClock) -> portcullis_protocol::Client {
    let spec = ClientSpec::confidential("rp", "http://127.0.0.1:9/cb");
    let client = portcullis_protocol::Client {
        client_id: portcullis_protocol::ClientId::parse("rp").expect("id"),
        name: "rp".into(),
        client_secret_sha256: Some(portcullis_protocol::ClientSecretHash::of(
            "a client secret for the model test",
        )),
        redirect_uris: vec![portcullis_protocol::RedirectUri::parse(&spec.redirect_uris[0]).expect("uri")],
        post_logout_redirect_uris: vec![],
        grant_types: spec.grants,
        token_endpoint_auth_method: spec.auth_method,
        scopes: portcullis_protocol::ScopeSet::parse("openid").expect("scopes"),
        require_consent: false,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: spec.id_token_alg,
        jwks: None,
        access_token_ttl_secs: portcullis_protocol::Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
        from_config: false,
        previous_secret: None,
        disabled: false,
        admin_api: false,
        allowed_origins: vec![],
        dpop_bound_access_tokens: false,
        require_pushed_authorization_requests: false,
        resources: vec![],
    };
    if case == 0 {
        store.create_client(&client.to_record(clock.now())).await.expect("client");
    }
    client
}

async fn the_journey_keeps_its_invariants(backend: Backend) {
    let (store, _db) = test_store(backend).await;
    let cases = match backend {
        Backend::Sqlite => 96,
        Backend::Postgres => 48,
    };
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    // A fixed seed: the same cases on every run (CI never flakes on what the
    // events happened to reach); `PROPTEST_RNG_SEED` style exploration is a
    // matter of changing it locally.
    let rng = proptest::test_runner::TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let handle = tokio::runtime::Handle::current();
    let case = AtomicUsize::new(0);
    let stats = std::sync::Mutex::new(Stats::default());
    let strategy = (any::<bool>(), prefix(), proptest::collection::vec(event(), 1..50)).prop_map(
        |(admin, mut events, more)| {
            events.extend(more);
            (admin, events)
        },
    );
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(admin, events)| {
            let n = case.fetch_add(1, Ordering::Relaxed);
            let reached = handle.block_on(run_case(store.as_ref(), &store, n, admin, &events));
            stats.lock().expect("stats").add(&reached);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let stats = *stats.lock().expect("stats");
    // The events reached what the invariants are about.
    assert!(stats.codes_issued > 0, "{stats:?}");
    assert!(stats.second_factor_sign_ins > 0, "{stats:?}");
    assert!(stats.passkey_sign_ins > 0, "{stats:?}");
    assert!(stats.links_used > 0, "{stats:?}");
    assert!(stats.refused_attempts > 0, "{stats:?}");
    assert!(stats.enrollments > 0, "{stats:?}");
}

both_backends!(the_journey_keeps_its_invariants);
