//! What the sign-in side reports to the protocol about a browser (the seam
//! node-oidc-provider calls an interaction): nobody, a sign-in that still
//! lacks a step, or a complete [`Authentication`]. `authn` decides it from
//! the user, their factors, the policy and the session; `protocol` decides
//! from it what an authorization request needs next.

use time::OffsetDateTime;
use uuid::Uuid;

/// A complete authentication of the browser's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The signed-in user.
    pub user_id: Uuid,
    /// The session's public id (`sid`).
    pub sid: String,
    /// When the user last authenticated.
    pub auth_time: OffsetDateTime,
    /// How (RFC 8176).
    pub amr: Vec<String>,
    /// The authentication context class reached, if any.
    pub acr: Option<String>,
}

/// The step a started sign-in still lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The user has a second factor and has not used it in this sign-in.
    SecondFactor,
    /// Policy requires a second factor the user has not enrolled yet.
    Enrollment,
}

/// The browser's sign-in, as the protocol sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// Nobody is signed in.
    Anonymous,
    /// A user passed a first factor but the sign-in is not complete.
    Incomplete {
        /// Who.
        user_id: Uuid,
        /// What is missing.
        missing: Missing,
    },
    /// Fully signed in.
    Complete(Authentication),
}

impl SignInState {
    /// The complete authentication, if any.
    pub fn complete(&self) -> Option<&Authentication> {
        match self {
            Self::Complete(auth) => Some(auth),
            _ => None,
        }
    }
}
