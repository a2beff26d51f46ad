//! OpenID Connect and OAuth 2.1 rules as plain Rust over typed requests.
//! No I/O of its own: callers fetch from the store and pass values in.
//!
//! - [`OAuthError`]: the closed set of RFC 6749 / OIDC / RFC 7009 / RFC 7662
//!   error codes, with `code()`, `status()`, `description()`, `may_redirect()`.
//! - [`Client`]: a registered relying party, with its [`ClientSecretHash`]
//!   (SHA-256, compared in constant time), [`TokenEndpointAuthMethod`],
//!   [`GrantType`]s and [`IdTokenAlg`].
//! - Newtypes parsed at the edge: [`ClientId`], [`RedirectUri`], [`Scope`],
//!   [`ScopeSet`], [`CodeChallenge`], [`CodeVerifier`].
//! - [`authorize`]: the authorization-request checks, one `check_*` per rule,
//!   producing an [`authorize::AuthorizationRequest`] or an
//!   [`authorize::AuthorizeError`] that knows whether it may be redirected.

pub mod authorize;
mod client;
mod error;
mod pkce;
mod record;
mod types;

pub use client::{Client, ClientSecretHash, GrantType, IdTokenAlg, ModelError, TokenEndpointAuthMethod};
pub use error::OAuthError;
pub use pkce::{CodeChallenge, CodeVerifier};
pub use types::{ClientId, RedirectUri, Scope, ScopeSet};
