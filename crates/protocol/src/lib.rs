//! OpenID Connect and OAuth 2.1 rules as plain Rust over typed requests
//! (authorize checks, grants, discovery, claims). No I/O of its own: it calls
//! the store and signer traits. Filled in by the protocol-core issue.
