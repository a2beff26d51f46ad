//! OpenID Connect and OAuth 2.1 rules as plain Rust over typed requests.
//! No I/O of its own: operations get a [`Ctx`] (store and signer traits,
//! issuer, configuration, "now") and return typed results or a
//! [`ProtocolError`].
//!
//! - [`OAuthError`]: the closed set of RFC error codes, with `code()`,
//!   `status()`, `description()`, `may_redirect()`.
//! - [`Client`] and the newtypes parsed at the edge ([`ClientId`],
//!   [`RedirectUri`], [`Scope`], [`ScopeSet`], [`CodeChallenge`], [`CodeVerifier`]).
//! - [`authorize`]: the authorization-request checks, one `check_*` per rule.
//! - [`interaction`]: the seam with sign-in — what a request needs next
//!   (login, consent, or the code) given the browser's [`Authentication`].
//! - [`client_auth`]: client authentication at the token-side endpoints.
//! - [`clients`]: registering and managing clients (console, command line).
//! - [`ClientCache`]: parsed clients kept for a short TTL, invalidated by store changes.
//! - [`cors`]: which web origins may call the token-side endpoints
//!   ([`Origin`], [`Client::cors_origins`], [`cors::CorsOrigins`]).
//! - [`grants`]: the token endpoint, one module per grant type.
//! - [`dpop`]: DPoP proofs (RFC 9449) — the claim rules, server nonces,
//!   the replay cache, and binding tokens to a key.
//! - [`resource`]: resource indicators (RFC 8707), the audience of access tokens.
//! - [`device`]: the device authorization grant (RFC 8628): the device
//!   authorization endpoint, user codes, the `/device` page's steps.
//! - [`tokens`]: minting codes, refresh tokens, access and ID tokens.
//! - [`access`]: checking bearer tokens, UserInfo, introspection, revocation.
//! - [`logout`]: RP-Initiated and Back-Channel Logout.
//! - [`claims`]: the claims each scope releases; [`discovery`]: the metadata
//!   documents, rendered once at start.

pub mod access;
pub mod authorize;
pub mod back_channel;
mod basic;
pub mod claims;
mod client;
pub mod client_auth;
mod client_cache;
pub mod clients;
mod context;
pub mod cors;
pub mod device;
pub mod discovery;
pub mod dpop;
mod error;
mod generation_cache;
pub mod grants;
pub mod interaction;
pub mod logout;
mod pkce;
mod record;
pub mod resource;
mod token_state_cache;
pub mod tokens;
mod types;

pub use client::{
    Client, ClientSecretHash, GrantType, IdTokenAlg, ModelError, PreviousSecret, TokenEndpointAuthMethod,
};
pub use client_cache::ClientCache;
pub use context::{Ctx, ProtocolConfig, ProtocolError};
pub use cors::Origin;
pub use error::OAuthError;
pub use interaction::{Authentication, SignInState, Step};
pub use pkce::{CodeChallenge, CodeVerifier};
pub use portcullis_core::acr;
pub use resource::{ResourceId, Resources};
pub use token_state_cache::TokenStateCache;
pub use tokens::TokenResponse;
pub use types::{ClientId, RedirectUri, Scope, ScopeSet};
