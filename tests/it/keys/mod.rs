//! Signing keys: JWKS, discovery, encryption at rest, rotation, revocation.

mod at_rest;
mod discovery;
mod jwks;
pub(crate) mod revoke;
mod rotation;
mod signing;

use portcullis_keys::Kek;
use portcullis_server::Settings;
use portcullis_server::settings::SecretKey;

/// Configures a fresh key-encryption key; returns it.
pub(crate) fn with_new_kek(settings: &mut Settings) -> Kek {
    let kek = Kek::generate();
    settings.keys.encryption_key = Some(SecretKey::new(kek.to_base64url()));
    kek
}
