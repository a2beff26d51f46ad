//! The account holder's security operations (`portcullis_authn::account`)
//! without HTTP, on both backends: each changes what it says in one store
//! transaction with its notice, audits it, rotates the session, and a
//! refusal changes nothing.

use portcullis_authn::account::{AccountSecurity, AccountSession, RecoveryCodes, TotpConfirmed};
use portcullis_authn::notify::{MailContext, Notification, notification_mails};
use portcullis_authn::{
    Argon2Cost, AuthnError, Interaction, Lockouts, MfaPolicy, Passkeys, Password, PasswordHasher,
    PasswordPolicy, RequestInfo, SessionPolicy, Sessions, Totp, Verification,
};
use portcullis_core::{Clock, ManualClock};
use portcullis_keys::Kek;
use portcullis_store::{FactorRef, LockoutPolicy, NewUser, Session, Store, User};
use portcullis_tests::mfa::totp_code;
use portcullis_tests::soft_passkey::SoftPasskey;
use portcullis_tests::{Backend, TestDatabase, both_backends, test_store};
use std::sync::Arc;
use time::Duration;
use time::macros::datetime;

const ORIGIN: &str = "http://localhost:8080";
const PASSWORD: &str = "the first passphrase";

/// Everything the operations need, over a fresh database.
struct Fixture {
    store: Arc<dyn Store>,
    _db: TestDatabase,
    clock: ManualClock,
    hasher: Arc<PasswordHasher>,
    kek: Kek,
    lockouts: Lockouts,
    mfa: MfaPolicy,
    sessions: SessionPolicy,
    passkeys: Passkeys,
    mail: MailContext,
    policy: PasswordPolicy,
    info: RequestInfo,
}

fn lockout(max_failures: u32) -> LockoutPolicy {
    LockoutPolicy {
        max_failures,
        base_delay: Duration::seconds(30),
        max_delay: Duration::minutes(15),
        window: Duration::minutes(15),
    }
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let (store, db) = test_store(backend).await;
        let hasher = PasswordHasher::new(Argon2Cost { memory_kib: 64, iterations: 1, parallelism: 1 });
        Self {
            store,
            _db: db,
            clock: ManualClock::new(datetime!(2030-03-01 09:00 UTC)),
            hasher: Arc::new(hasher.expect("hasher")),
            kek: Kek::generate(),
            lockouts: Lockouts {
                account: lockout(3),
                second_factor: lockout(3),
                ip: lockout(40),
                user_code: lockout(3),
            },
            mfa: MfaPolicy::default(),
            sessions: SessionPolicy {
                idle_timeout: Duration::hours(1),
                absolute_timeout: Duration::hours(12),
            },
            passkeys: Passkeys::new(&url::Url::parse(ORIGIN).expect("origin"), "Portcullis").expect("rp"),
            mail: MailContext::new("Portcullis", ORIGIN),
            policy: PasswordPolicy::default(),
            info: RequestInfo { ip: Some("192.0.2.7".into()), user_agent: Some("test".into()) },
        }
    }

    fn totp(&self) -> Totp<'_> {
        Totp { store: self.store.as_ref(), kek: &self.kek, issuer: "Portcullis" }
    }

    fn security(&self) -> AccountSecurity<'_> {
        let interaction = Interaction {
            store: self.store.as_ref(),
            hot: self.store.as_ref(),
            clock: &self.clock,
            hasher: &self.hasher,
            lockouts: &self.lockouts,
            mfa: &self.mfa,
            sessions: &self.sessions,
            totp: self.totp(),
            passkeys: Some(&self.passkeys),
            upstreams: &portcullis_authn::upstream::registry::NONE,
            mail: &self.mail,
        };
        AccountSecurity { interaction, policy: &self.policy, mail: &self.mail }
    }

    fn session_store(&self) -> Sessions<'_> {
        Sessions { store: self.store.as_ref(), clock: &self.clock, policy: &self.sessions }
    }

    async fn user(&self, name: &str) -> User {
        let hash = self.hasher.hash(&Password::new(PASSWORD)).expect("hash");
        self.store
            .create_user(&NewUser {
                id: uuid::Uuid::new_v4(),
                username: name.into(),
                email: format!("{name}@example.com"),
                email_verified: true,
                display_name: None,
                roles: vec![],
                password_hash: Some(hash),
                created_at: self.clock.now(),
            })
            .await
            .expect("user")
    }

    /// A session of `user` signed in now with `amr`.
    async fn signed_in(&self, user: &User, amr: &[&str]) -> AccountSession {
        let (anonymous, _) = self.session_store().start_anonymous(&self.info).await.expect("anonymous");
        let amr = amr.iter().map(|m| (*m).to_owned()).collect();
        let (session, _) =
            self.session_store().sign_in(&anonymous, user, amr, None, &self.info).await.expect("sign in");
        AccountSession { session, user: user.clone(), enroll_only: false }
    }

    /// The subjects of the mails queued since the last call (then sent).
    async fn mails(&self) -> Vec<(String, String)> {
        let now = self.clock.now();
        let mut out = Vec::new();
        while let Some(mail) =
            self.store.claim_due_mail(now, now + Duration::minutes(5)).await.expect("claim")
        {
            self.store.mark_mail_sent(&mail.id, now).await.expect("sent");
            out.push((mail.mail.to, mail.mail.subject));
        }
        out
    }

    /// The subject of `notification` for `user`.
    fn subject(&self, user: &User, notification: &Notification) -> (String, String) {
        let mails = notification_mails(&self.mail, user, notification).expect("render");
        (mails[0].to.clone(), mails[0].subject.clone())
    }

    async fn audited(&self, kind: &str) -> usize {
        let events = self.store.recent_audit(100).await.expect("audit");
        events.iter().filter(|e| e.event.kind == kind).count()
    }

    async fn live(&self, session: &Session) -> bool {
        self.store.find_session(&session.id_hash).await.expect("find").is_some()
    }

    /// Enrolls the app for `account`; returns its secret and the rotated session.
    async fn enroll_totp(&self, account: &AccountSession) -> (String, AccountSession) {
        let enrollment =
            self.security().begin_totp(account, "/account/totp", &self.info).await.expect("begin");
        let code = totp_code(&enrollment.secret, self.clock.now());
        let confirmed = self
            .security()
            .confirm_totp(account, &code, "/account/totp/confirm", &self.info)
            .await
            .expect("ok");
        let session = confirmed.rotated.session;
        (enrollment.secret, AccountSession { session, ..account.clone() })
    }
}

/// Confirming the app: a wrong code changes nothing; the right one enables
/// it with the first recovery codes and the notice, audited, under a new
/// session id that now counts the second factor.
async fn confirming_the_app_is_one_transaction_with_codes_and_notice(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let account = f.signed_in(&alice, &["pwd"]).await;
    let enrollment = f.security().begin_totp(&account, "/account/totp", &f.info).await.expect("begin");

    let wrong = f.security().confirm_totp(&account, "000000", "/p", &f.info).await;
    assert!(matches!(wrong, Err(AuthnError::InvalidCode)), "{wrong:?}");
    assert!(f.mails().await.is_empty(), "a wrong code queues nothing");
    assert_eq!(f.store.count_recovery_codes(alice.id).await.expect("count"), 0);

    let code = totp_code(&enrollment.secret, f.clock.now());
    let TotpConfirmed { rotated, recovery_codes } =
        f.security().confirm_totp(&account, &code, "/p", &f.info).await.expect("confirmed");
    assert_eq!(recovery_codes.map(|c| c.len()), Some(10));
    assert_eq!(f.store.count_recovery_codes(alice.id).await.expect("count"), 10);
    assert!(f.store.find_totp(alice.id).await.expect("find").is_some_and(|t| t.confirmed_at.is_some()));
    assert_eq!(f.mails().await, vec![f.subject(&alice, &Notification::TotpEnabled)]);
    assert_eq!((f.audited("totp.enabled").await, f.audited("recovery_codes.generated").await), (1, 1));
    assert!(!f.live(&account.session).await && f.live(&rotated.session).await, "a new session id");
    assert!(rotated.session.amr.iter().any(|m| m == "mfa"), "{:?}", rotated.session.amr);

    let again = f.security().confirm_totp(&account, &code, "/p", &f.info).await;
    assert!(matches!(again, Err(AuthnError::InvalidCode)), "the app is enabled already: {again:?}");
    let taken = f.security().begin_totp(&account, "/p", &f.info).await;
    assert!(matches!(taken, Err(AuthnError::Taken)), "{taken:?}");
}

/// Every change needs a recent, strong authentication (a refusal is
/// audited with the path), and an enroll-only session may only enroll.
async fn changes_need_a_recent_sign_in_and_enroll_only_sessions_only_enroll(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let account = f.signed_in(&alice, &["pwd"]).await;
    f.clock.advance(Duration::minutes(30));
    let stale = f.security().begin_totp(&account, "/account/totp", &f.info).await;
    assert!(matches!(stale, Err(AuthnError::ReauthenticationRequired)), "{stale:?}");
    let events = f.store.recent_audit(10).await.expect("audit");
    let reauth = events.iter().find(|e| e.event.kind == "account.reauth_required").expect("audited");
    assert_eq!(reauth.event.detail["path"], "/account/totp");
    assert!(f.store.find_totp(alice.id).await.expect("find").is_none(), "nothing changed");

    let enroll_only = AccountSession { enroll_only: true, ..f.signed_in(&alice, &["pwd"]).await };
    let removed = f.security().remove_factor(&enroll_only, FactorRef::Totp, "/p", &f.info).await;
    assert!(matches!(removed, Err(AuthnError::EnrollFirst)), "{removed:?}");
    let codes = f.security().regenerate_recovery_codes(&enroll_only, "/p", &f.info).await;
    assert!(matches!(codes, Err(AuthnError::EnrollFirst)), "{codes:?}");
    f.security().begin_totp(&enroll_only, "/p", &f.info).await.expect("enrolling is allowed");
}

/// Removing the app ends the user's other sessions and the orphaned
/// recovery codes with the notice, and rotates this session; an unknown
/// passkey changes nothing.
async fn removing_a_factor_ends_other_sessions_and_rotates(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let (_, account) = f.enroll_totp(&f.signed_in(&alice, &["pwd"]).await).await;
    let other = f.signed_in(&alice, &["pwd"]).await;
    f.mails().await;

    let unknown = FactorRef::Passkey(uuid::Uuid::new_v4());
    let refused = f.security().remove_factor(&account, unknown, "/p", &f.info).await;
    assert!(matches!(refused, Err(AuthnError::UnknownPasskey)), "{refused:?}");
    assert!(f.live(&other.session).await && f.mails().await.is_empty(), "nothing changed");

    let rotated =
        f.security().remove_factor(&account, FactorRef::Totp, "/p", &f.info).await.expect("removed");
    assert!(f.store.find_totp(alice.id).await.expect("find").is_none());
    assert_eq!(f.store.count_recovery_codes(alice.id).await.expect("count"), 0, "no factor left to back up");
    assert!(!f.live(&other.session).await, "the other session ended");
    assert!(!f.live(&account.session).await && f.live(&rotated.session).await, "a new session id");
    assert_eq!(f.mails().await, vec![f.subject(&alice, &Notification::TotpDisabled)]);
    assert_eq!(f.audited("totp.removed").await, 1);
}

/// New recovery codes replace the old ones with the notice; they need a
/// factor to back up; the first set comes only when none exists.
async fn recovery_codes_are_replaced_with_their_notice(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let account = f.signed_in(&alice, &["pwd"]).await;
    let refused = f.security().regenerate_recovery_codes(&account, "/p", &f.info).await;
    assert!(matches!(refused, Err(AuthnError::NoSecondFactor)), "{refused:?}");
    assert_eq!(
        f.security().initial_recovery_codes(&account, "/p", &f.info).await.expect("none").map(|_| ()),
        None
    );

    let (_, account) = f.enroll_totp(&account).await;
    f.mails().await;
    assert!(
        f.security().initial_recovery_codes(&account, "/p", &f.info).await.expect("ok").is_none(),
        "has codes"
    );
    let before = f.audited("recovery_codes.generated").await;
    let RecoveryCodes { rotated, codes } =
        f.security().regenerate_recovery_codes(&account, "/p", &f.info).await.expect("codes");
    assert_eq!(codes.len(), 10);
    let now = f.clock.now();
    assert!(
        f.store
            .use_recovery_code(alice.id, &portcullis_authn::recovery_codes::hash(&codes[0]), now)
            .await
            .expect("use")
    );
    assert_eq!(f.store.count_recovery_codes(alice.id).await.expect("count"), 9, "the old set is gone");
    assert_eq!(f.mails().await, vec![f.subject(&alice, &Notification::RecoveryCodesRegenerated)]);
    assert_eq!(f.audited("recovery_codes.generated").await, before + 1);
    assert!(!f.live(&account.session).await && f.live(&rotated.session).await, "a new session id");
}

/// A password change: the current password when the session is not
/// recent and strong (each refusal changes nothing), then the new hash,
/// the other sessions ended and the notice, under a new session id.
async fn a_password_change_checks_then_changes_everything_at_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let account = f.signed_in(&alice, &["pwd"]).await;
    let other = f.signed_in(&alice, &["pwd"]).await;
    let pw = |s: &str| Password::new(s);
    let new = "a brand new passphrase";
    let f = &f;
    let change = |current: &str, password: &str, confirm: &str| {
        let (account, current, password, confirm) = (&account, pw(current), pw(password), pw(confirm));
        async move {
            f.security()
                .change_password(account, current, password, confirm, "/account/password", &f.info)
                .await
        }
    };
    assert!(matches!(change("", new, new).await, Err(AuthnError::CurrentPasswordRequired)));
    assert_eq!(f.audited("account.reauth_required").await, 1);
    assert!(matches!(change("wrong guess", new, new).await, Err(AuthnError::WrongPassword)));
    assert!(matches!(change(PASSWORD, new, "something else").await, Err(AuthnError::PasswordsDiffer)));
    assert!(matches!(change(PASSWORD, "short", "short").await, Err(AuthnError::Policy(_))));
    assert!(f.live(&other.session).await && f.mails().await.is_empty(), "nothing changed");

    let rotated = change(PASSWORD, new, new).await.expect("changed");
    let hash = f.store.find_user(alice.id).await.expect("find").expect("alice").password_hash.expect("hash");
    assert!(matches!(f.hasher.verify(Some(&hash), &pw(new)), Verification::Match { .. }));
    assert!(!f.live(&other.session).await, "the other session ended");
    assert!(!f.live(&account.session).await && f.live(&rotated.session).await, "a new session id");
    assert_eq!(f.mails().await, vec![f.subject(&alice, &Notification::PasswordChanged)]);
}

/// Another session of the user ends (audited); this one, or another
/// user's, is unknown here.
async fn another_session_of_the_user_ends(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (alice, bob) = (f.user("alice").await, f.user("bob").await);
    let account = f.signed_in(&alice, &["pwd"]).await;
    let other = f.signed_in(&alice, &["pwd"]).await;
    let bobs = f.signed_in(&bob, &["pwd"]).await;
    for sid in [&account.session.sid, &bobs.session.sid, &"nope".to_owned()] {
        let refused = f.security().end_other_session(&account, sid, &f.info).await;
        assert!(matches!(refused, Err(AuthnError::UnknownSession)), "{sid}: {refused:?}");
    }
    f.security().end_other_session(&account, &other.session.sid, &f.info).await.expect("ended");
    assert!(!f.live(&other.session).await && f.live(&account.session).await && f.live(&bobs.session).await);
    assert_eq!(f.audited("session.ended").await, 1);
}

/// A passkey registers with its notice in one transaction; the ceremony
/// is used once.
async fn a_passkey_registers_with_its_notice(backend: Backend) {
    let f = Fixture::new(backend).await;
    let alice = f.user("alice").await;
    let account = f.signed_in(&alice, &["pwd"]).await;
    let mut soft = SoftPasskey::new("localhost", ORIGIN);
    let options = f.security().begin_passkey(&account).await.expect("options");
    let response = soft.register(&options);
    let registered =
        f.security().register_passkey(&account, " Laptop ", &response, &f.info).await.expect("registered");
    assert!(registered.recovery_codes_due);
    let passkeys = f.store.list_passkeys(alice.id).await.expect("list");
    assert_eq!(passkeys.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Laptop"]);
    let notice = Notification::PasskeyAdded { name: "Laptop".into() };
    assert_eq!(f.mails().await, vec![f.subject(&alice, &notice)]);
    assert_eq!(f.audited("passkey.added").await, 1);
    assert!(!f.live(&account.session).await, "a new session id");

    let again = f.security().register_passkey(&account, "Laptop", &response, &f.info).await;
    assert!(matches!(again, Err(AuthnError::CeremonyExpired)), "{again:?}");
    assert!(f.mails().await.is_empty());
}

both_backends!(
    confirming_the_app_is_one_transaction_with_codes_and_notice,
    changes_need_a_recent_sign_in_and_enroll_only_sessions_only_enroll,
    removing_a_factor_ends_other_sessions_and_rotates,
    recovery_codes_are_replaced_with_their_notice,
    a_password_change_checks_then_changes_everything_at_once,
    another_session_of_the_user_ends,
    a_passkey_registers_with_its_notice,
);
