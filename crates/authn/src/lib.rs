//! Authentication as plain Rust: argon2id passwords, the password policy,
//! brute-force lockout and the password sign-in flow; passkeys
//! ([`passkeys`]), TOTP ([`totp`]), recovery codes ([`recovery_codes`]) and the
//! second-factor policy and check ([`mfa`]).
//!
//! - [`PasswordHasher`] hashes and verifies argon2id PHC strings on the
//!   blocking pool, counts its verifications (tests assert "exactly one") and
//!   verifies a dummy hash for unknown users, so both paths cost the same.
//! - [`PasswordPolicy`] is NIST SP 800-63B: a minimum length, long
//!   passphrases allowed, no composition rules, not the username or email,
//!   not one of the common passwords of a built-in blocklist.
//! - [`Lockouts`]: every credential check reserves an attempt on its own
//!   counters (per account and factor, per client IP) before the check,
//!   with exponential back-off ([`LockoutPolicy`], `portcullis_store::Throttle`);
//!   [`user_codes`] throttles the device user codes typed on `/device` alike.
//! - [`journey`]: the rules of the sign-in journey (methods, the amr merge,
//!   what a session lacks, what is recent enough for a change), pure;
//!   [`interaction`]: the journey's steps over the store, one call each;
//!   [`sessions`]: server-side browser sessions.
//! - [`sign_in`] checks one password; [`accounts`] creates users,
//!   changes passwords and disables accounts; [`account`] holds the account
//!   holder's own security operations (factors, recovery codes, password,
//!   sessions), one function each, one store transaction each. Every step is audited through
//!   [`audit::record`]. Errors are [`AuthnError`].
//! - [`admin`]: who may use the admin console and its account operations,
//!   each one transaction with its audit event naming the administrator.
//! - [`recovery`] mails single-use links (password reset, email
//!   verification, magic-link sign-in); [`notify::security_event`] tells the
//!   account holder about sensitive changes.
//! - [`upstream`]: signing in through an upstream identity provider — the
//!   rules of linking an upstream identity to an account and the claim rules
//!   granting roles and groups (pure), and the relying party that talks to
//!   the upstream ([`upstream::client`]), and the sign-in steps that use them ([`upstream::flow`]).

pub mod account;
pub mod accounts;
pub mod admin;
pub mod audit;
mod common_passwords;
mod error;
pub mod first_admin;
mod hasher;
pub mod interaction;
pub mod journey;
pub mod mfa;
pub mod notify;
pub mod passkeys;
mod policy;
pub mod recovery;
pub mod recovery_codes;
pub mod sessions;
mod signin;
mod throttle;
pub mod totp;
pub mod upstream;
pub mod user_codes;

pub use account::{AccountOverview, AccountSecurity, AccountSession, Allowed, Rotated};
pub use audit::RequestInfo;
pub use common_passwords::LEAST_MIN_LENGTH;
pub use error::AuthnError;
pub use hasher::{Argon2Cost, DurationObserver, PasswordHasher, Verification};
pub use interaction::{AccountAccess, Continue, Interaction, ResetOutcome, SignedIn, StepOutcome};
pub use journey::{Change, Method, Standing};
pub use mfa::{
    Factors, MfaPolicy, SecondFactor, SecondFactorCheck, SecondFactorOutcome, check_second_factor,
};
pub use passkeys::{PasskeyOutcome, Passkeys};
pub use policy::{Password, PasswordPolicy, PolicyError};
pub use portcullis_store::LockoutPolicy;
pub use sessions::{SessionPolicy, Sessions};
pub use signin::{SignIn, SignInOutcome, confirm_password, sign_in};
pub use throttle::Lockouts;
pub use totp::{Totp, TotpState};
