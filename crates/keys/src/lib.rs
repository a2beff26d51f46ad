//! Signing keys for Portcullis: the "JWKS rotation" crate.
//!
//! - [`policy`]: the lifecycle (staged → active → retired → removed) as a pure
//!   function [`plan`] of (keys, now, [`Policy`]).
//! - [`Kek`]: private keys are sealed at rest (JWE `dir` + `A256GCM`, the kid
//!   bound as associated data) with a key-encryption key.
//! - [`KeySet`]: the keys in memory — the JWKS as precomputed bytes with its
//!   ETag, and parsed signers per [`Algorithm`] behind [`TokenSigner`];
//!   [`LiveKeys`] is the swappable current set handlers read.
//! - [`KeyService`]: the operations over the store (rotation under a lease so
//!   one instance rotates at a time, `rotate`, `revoke`, loading).
//!
//! - [`dpop`]: DPoP proofs (RFC 9449) — header, key and signature checks and
//!   the key's RFC 7638 thumbprint.
//!
//! Errors are [`KeyError`].

mod alg;
mod console;
pub mod dpop;
mod error;
mod es256;
mod kek;
mod keyset;
mod material;
pub mod policy;
mod service;
mod verify;

pub use alg::Algorithm;
pub use console::{Actor, KeysConsole, KeysOverview};
pub use error::KeyError;
pub use kek::Kek;
pub use keyset::{KeySet, LiveKeys, TokenSigner};
pub use policy::{Action, KeyMeta, Policy, next_rotation, plan};
pub use service::{KeyService, RotationOutcome, stored_keys};
pub use verify::{ClientKeys, VerifiedJwt};
