//! The rules of the sign-in journey, as pure functions (no store, no
//! clock): what each way of authenticating is worth, what a signed-in
//! session still lacks, and whether an authentication is recent and strong
//! enough for a change on the account page. The async steps that apply them
//! are in [`crate::interaction`].
//!
//! ```text
//!             first factor ok                     second factor ok
//! Anonymous ──────────────────► SecondFactor ─────────────────────► Complete
//!     │  (user has a factor)    (pending, 10 min)                      ▲
//!     │                                                                 │
//!     ├── first factor ok, no factor, policy requires one ──► Enrollment ┤
//!     │                                     (session, enroll only)  enrolled
//!     └── first factor ok, no factor, none required ─────────────────────┘
//! ```
//!
//! A reset or magic link is a first factor of email-possession strength: it
//! never stands in for a second factor, and never counts as a recent strong
//! authentication for account changes.

use portcullis_store::{ROLE_ADMIN, Session, User};
use time::{Duration, OffsetDateTime};

use crate::mfa::{Factors, MfaPolicy};

/// How a person proved something in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A password (knowledge).
    Password,
    /// A mailed reset or magic link (possession of the mailbox only).
    EmailLink,
    /// A passkey with user verification: possession and a PIN or biometric,
    /// so two factors on its own. `synced` when backup-eligible.
    Passkey {
        /// The credential may be copied between devices (RFC 8176 `swk`).
        synced: bool,
    },
    /// A code from the authenticator app.
    Totp,
    /// One of the recovery codes.
    RecoveryCode,
}

impl Method {
    /// The RFC 8176 `amr` values this step adds. A second factor (or a
    /// passkey) adds `mfa`: that marker means "a second-factor step
    /// happened in this session" and nothing else sets it.
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Self::Password => &["pwd"],
            Self::EmailLink => &["email"],
            Self::Passkey { synced: false } => &["hwk", "user", "mfa"],
            Self::Passkey { synced: true } => &["swk", "user", "mfa"],
            Self::Totp | Self::RecoveryCode => &["otp", "mfa"],
        }
    }

    /// Whether this step completes a sign-in that needs a second factor.
    pub fn is_second_factor(self) -> bool {
        matches!(self, Self::Passkey { .. } | Self::Totp | Self::RecoveryCode)
    }
}

/// The one amr merge: the methods of `first`, then those `step` adds, each once.
pub fn merge_amr<S: AsRef<str>>(first: &[S], step: Method) -> Vec<String> {
    let mut amr: Vec<String> = first.iter().map(|m| m.as_ref().to_owned()).collect();
    for method in step.amr() {
        if !amr.iter().any(|m| m == method) {
            amr.push((*method).to_owned());
        }
    }
    amr
}

/// A session's methods after it enrolled `method`: enrolling proved the new
/// factor, so it joins them — unless the session used a second factor
/// already (`None`: the methods stay).
pub fn after_enrollment(amr: &[String], method: Method) -> Option<Vec<String>> {
    (!amr.iter().any(|m| m == "mfa")).then(|| merge_amr(amr, method))
}

/// Where a signed-in session stands with its user's factors and the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Fully signed in.
    Complete,
    /// The user has a second factor this session has not used.
    NeedsSecondFactor,
    /// The policy requires a second factor the user has not enrolled: the
    /// session may only enroll one.
    NeedsEnrollment,
}

/// The standing of a session whose authentication methods are `amr`.
/// Decided afresh at each use, so a factor added elsewhere, a factor
/// removed, or a policy switched on applies to existing sessions too.
///
/// A sign-in through an upstream trusted for its second factor (`fed` and
/// `mfa`, see [`crate::upstream::session_amr`]) has one: an account the
/// policy requires a second factor of is not asked to enroll a local one.
pub fn standing<S: AsRef<str>>(policy: &MfaPolicy, user: &User, factors: &Factors, amr: &[S]) -> Standing {
    let has = |m: &str| amr.iter().any(|a| a.as_ref() == m);
    let second_factor_used = has("mfa");
    let upstream_second_factor = has("fed") && second_factor_used;
    if policy.requires_mfa(user) && !factors.any() && !upstream_second_factor {
        Standing::NeedsEnrollment
    } else if factors.any() && !second_factor_used {
        Standing::NeedsSecondFactor
    } else {
        Standing::Complete
    }
}

/// How old an authentication may be for a change on the account page.
pub const REAUTH_WINDOW: Duration = Duration::minutes(5);

/// A change on the account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Passkeys, the authenticator app, recovery codes, the email address.
    Security,
    /// The password. `current_password_given` when the form carried the
    /// current password and it was right.
    Password {
        /// The current password was typed and checked.
        current_password_given: bool,
    },
}

/// Whether `session` may make `change` at `now`:
/// - every change needs an authentication within [`REAUTH_WINDOW`] by
///   something other than a mailed link (a password, a second factor, a
///   passkey);
/// - a password change needs the current password, or that recent
///   authentication to include a second factor or a passkey.
pub fn may_change(session: &Session, change: Change, now: OffsetDateTime) -> bool {
    let recent = session.user_id.is_some() && session.auth_time.is_some_and(|t| now - t <= REAUTH_WINDOW);
    let has = |m: &str| session.amr.iter().any(|a| a == m);
    // A sign-in through an upstream is as strong as that upstream's (asked
    // to authenticate afresh when re-authenticating for a change).
    let strong = has("pwd") || has("otp") || has("hwk") || has("swk") || has("fed");
    match change {
        Change::Security => recent && strong,
        Change::Password { current_password_given: true } => true,
        Change::Password { current_password_given: false } => recent && has("mfa"),
    }
}

/// How old an administrator's authentication may be to use the console.
pub const ADMIN_READ_WINDOW: Duration = Duration::minutes(15);

/// What a session may do in the admin console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStanding {
    /// Not an (enabled) administrator, or not signed in: the console does
    /// not exist for them.
    NotAdmin,
    /// An administrator whose sign-in still lacks its second factor.
    SecondFactorFirst,
    /// An administrator who has no second factor yet: enroll one first.
    EnrollFirst,
    /// An administrator whose authentication is too old (or was only a
    /// mailed link): sign in again.
    Reauthenticate,
    /// Read the console (authenticated within [`ADMIN_READ_WINDOW`]).
    Read,
    /// Read and change (authenticated within [`REAUTH_WINDOW`]).
    Change,
}

impl AdminStanding {
    /// Whether the console may be read.
    pub fn may_read(self) -> bool {
        matches!(self, Self::Read | Self::Change)
    }
}

/// What `session`, signed in as `user` with `standing`, may do in the admin
/// console at `now`: only an enabled holder of the `admin` role whose
/// sign-in is complete AND used a second factor (whatever the policy says),
/// authenticated within 15 minutes to read and 5 minutes to change — by a
/// password, a code or a passkey, never a mailed link alone. Decided at
/// every request, so a demoted or disabled admin is out at once.
pub fn admin_standing(
    user: &User,
    standing: Standing,
    session: &Session,
    now: OffsetDateTime,
) -> AdminStanding {
    if user.disabled || !user.has_role(ROLE_ADMIN) || session.user_id != Some(user.id) {
        return AdminStanding::NotAdmin;
    }
    match standing {
        Standing::NeedsSecondFactor => return AdminStanding::SecondFactorFirst,
        Standing::NeedsEnrollment => return AdminStanding::EnrollFirst,
        Standing::Complete => {}
    }
    let has = |m: &str| session.amr.iter().any(|a| a == m);
    if !has("mfa") {
        return AdminStanding::EnrollFirst;
    }
    // An upstream trusted for its second factor counts as one (the `mfa`
    // above is its own then); `fed` alone never reaches the console.
    let strong = has("pwd") || has("otp") || has("hwk") || has("swk") || has("fed");
    let age = session.auth_time.map(|t| now - t);
    match age {
        Some(age) if strong && age <= REAUTH_WINDOW => AdminStanding::Change,
        Some(age) if strong && age <= ADMIN_READ_WINDOW => AdminStanding::Read,
        _ => AdminStanding::Reauthenticate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn user(admin: bool) -> User {
        let at = datetime!(2026-01-01 00:00 UTC);
        User {
            id: uuid::Uuid::nil(),
            username: "u".into(),
            email: "u@example.com".into(),
            email_verified: true,
            display_name: None,
            disabled: false,
            mfa_required: false,
            roles: if admin { vec!["admin".into()] } else { vec![] },
            password_hash: None,
            security_stamp: String::new(),
            created_at: at,
            updated_at: at,
        }
    }

    fn session(amr: &[&str], auth_time: OffsetDateTime) -> Session {
        Session {
            id_hash: "h".into(),
            sid: "s".into(),
            csrf_token: "c".into(),
            user_id: Some(uuid::Uuid::nil()),
            auth_time: Some(auth_time),
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            acr: None,
            upstream_id: None,
            ip: None,
            user_agent: None,
            created_at: auth_time,
            last_seen_at: auth_time,
        }
    }

    #[test]
    fn a_mailed_link_never_stands_in_for_a_second_factor() {
        let policy = MfaPolicy::default();
        let with_app = Factors { passkeys: 0, totp: true, recovery_codes: 10 };
        let none = Factors::default();
        let email = merge_amr::<&str>(&[], Method::EmailLink);
        assert_eq!(standing(&policy, &user(false), &with_app, &email), Standing::NeedsSecondFactor);
        assert_eq!(standing(&policy, &user(true), &none, &email), Standing::NeedsEnrollment);
        assert_eq!(standing(&policy, &user(false), &none, &email), Standing::Complete);
        let both = merge_amr(&email, Method::Totp);
        assert_eq!(both, ["email", "otp", "mfa"]);
        assert_eq!(standing(&policy, &user(false), &with_app, &both), Standing::Complete);
        // A factor removed: an admin must enroll again whatever the session did.
        assert_eq!(standing(&policy, &user(true), &none, &both), Standing::NeedsEnrollment);
        let passkey = merge_amr::<&str>(&[], Method::Passkey { synced: true });
        assert_eq!(passkey, ["swk", "user", "mfa"]);
        assert_eq!(standing(&policy, &user(true), &with_app, &passkey), Standing::Complete);
        // An upstream's second factor, trusted: no local one to enroll; its
        // first factor alone: the local one is due as after a password.
        let fed_mfa = ["fed", "mfa"];
        assert_eq!(standing(&policy, &user(true), &none, &fed_mfa), Standing::Complete);
        assert_eq!(standing(&policy, &user(true), &none, &["fed"]), Standing::NeedsEnrollment);
        assert_eq!(standing(&policy, &user(false), &with_app, &["fed"]), Standing::NeedsSecondFactor);
        assert_eq!(standing(&policy, &user(false), &with_app, &fed_mfa), Standing::Complete);
    }

    #[test]
    fn the_console_is_for_recent_second_factor_admins_only() {
        let t = datetime!(2026-01-01 12:00 UTC);
        let (admin, plain) = (user(true), user(false));
        let mfa = session(&["pwd", "otp", "mfa"], t);
        let at = |minutes: i64| t + Duration::minutes(minutes);
        assert_eq!(admin_standing(&admin, Standing::Complete, &mfa, at(5)), AdminStanding::Change);
        assert_eq!(admin_standing(&admin, Standing::Complete, &mfa, at(6)), AdminStanding::Read);
        assert_eq!(admin_standing(&admin, Standing::Complete, &mfa, at(15)), AdminStanding::Read);
        assert_eq!(admin_standing(&admin, Standing::Complete, &mfa, at(16)), AdminStanding::Reauthenticate);
        assert!(!AdminStanding::Reauthenticate.may_read());
        // Not an admin, a disabled admin, another user's session.
        assert_eq!(admin_standing(&plain, Standing::Complete, &mfa, t), AdminStanding::NotAdmin);
        let disabled = User { disabled: true, ..user(true) };
        assert_eq!(admin_standing(&disabled, Standing::Complete, &mfa, t), AdminStanding::NotAdmin);
        let other = Session { user_id: Some(uuid::Uuid::from_u128(7)), ..mfa.clone() };
        assert_eq!(admin_standing(&admin, Standing::Complete, &other, t), AdminStanding::NotAdmin);
        // Without a second factor, whatever the policy: enroll or prove it first.
        let password_only = session(&["pwd"], t);
        assert_eq!(admin_standing(&admin, Standing::Complete, &password_only, t), AdminStanding::EnrollFirst);
        assert_eq!(
            admin_standing(&admin, Standing::NeedsSecondFactor, &password_only, t),
            AdminStanding::SecondFactorFirst
        );
        assert_eq!(admin_standing(&admin, Standing::NeedsEnrollment, &mfa, t), AdminStanding::EnrollFirst);
        // A passkey counts; a mailed link plus a code is a second factor but
        // the link alone never refreshes the authentication.
        let passkey = session(&["hwk", "user", "mfa"], t);
        assert_eq!(admin_standing(&admin, Standing::Complete, &passkey, at(1)), AdminStanding::Change);
        let link = session(&["email", "mfa"], t);
        assert_eq!(admin_standing(&admin, Standing::Complete, &link, t), AdminStanding::Reauthenticate);
        // Through an upstream: only when it is trusted for a second factor.
        let fed_mfa = session(&["fed", "mfa"], t);
        assert_eq!(admin_standing(&admin, Standing::Complete, &fed_mfa, t), AdminStanding::Change);
        let fed = session(&["fed"], t);
        assert_eq!(admin_standing(&admin, Standing::Complete, &fed, t), AdminStanding::EnrollFirst);
    }

    #[test]
    fn recent_and_strong_enough() {
        let t = datetime!(2026-01-01 12:00 UTC);
        let email = session(&["email"], t);
        assert!(!may_change(&email, Change::Security, t), "a mailed link is not a strong authentication");
        assert!(!may_change(&email, Change::Password { current_password_given: false }, t));
        assert!(may_change(&email, Change::Password { current_password_given: true }, t));
        let pwd = session(&["pwd"], t);
        assert!(may_change(&pwd, Change::Security, t + REAUTH_WINDOW));
        assert!(!may_change(&pwd, Change::Security, t + REAUTH_WINDOW + Duration::SECOND));
        assert!(!may_change(&pwd, Change::Password { current_password_given: false }, t));
        let mfa = session(&["pwd", "otp", "mfa"], t);
        assert!(may_change(&mfa, Change::Password { current_password_given: false }, t));
        assert!(!may_change(
            &mfa,
            Change::Password { current_password_given: false },
            t + Duration::hours(1)
        ));
        let reset_then_code = session(&["email", "otp", "mfa"], t);
        assert!(may_change(&reset_then_code, Change::Security, t), "the code was proven in this session");
    }
}
