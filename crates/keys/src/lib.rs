//! Signing-key lifecycle (staged, active, retired, removed) as a pure policy
//! over (keys, now), the JWKS document, the token signer and encryption of
//! private keys at rest. Filled in by the signing-keys issue.
