//! The bodies of the fuzz targets in `fuzz/` (one `fuzz_target!` each, run
//! by `scripts/fuzz`), kept here so that the stable regression test
//! `tests/it/fuzz.rs` runs exactly the same code over the committed corpus.
//!
//! - [`authorize_query`]: `/authorize` parameters, parsed as the endpoint
//!   parses them and checked by `authorize::validate`.
//! - [`token_form`]: the `POST /token` body, parsed by the web crate, then
//!   the grant's checks that need no store.
//! - [`jwt`]: JWS/JWT parsing — access tokens as `/userinfo` and
//!   `/introspect` check them, client assertions (`private_key_jwt`), and
//!   client JWKS documents; raw, or built from parts and signed so the
//!   fuzzer reaches the claims.
//! - [`config_toml`]: `Settings` from TOML text and environment pairs.
//!
//! A harness returns an [`Outcome`] and must never panic: a panic is either a
//! product bug or a broken invariant (each `assert!` below names one).
//! Everything runs against [`fixtures`]: a fixed instant, issuer, keys and
//! clients.

// Test code: each expect states an invariant of the fixtures or the harness,
// and its failure is a finding, as an assert's would be.
#![allow(clippy::expect_used)]

mod authorize;
mod config;
pub mod fixtures;
mod jwt;
pub mod seeds;
mod token;

pub use authorize::authorize_query;
pub use config::config_toml;
pub use jwt::jwt;
pub use token::token_form;

/// What the product made of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Parsed and accepted by every check the target runs.
    Accepted,
    /// Refused somewhere (the normal fate of fuzzed input).
    Rejected,
}

/// A target's body.
pub type Harness = fn(&[u8]) -> Outcome;

/// The targets by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: [(&str, Harness); 4] = [
    ("authorize_query", authorize_query),
    ("token_form", token_form),
    ("jwt", jwt),
    ("config_toml", config_toml),
];
