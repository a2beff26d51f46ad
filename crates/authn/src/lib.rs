//! Authentication as plain Rust: argon2id passwords, passkey ceremonies, TOTP,
//! recovery codes and the lockout policy. Filled in by the accounts and
//! passkeys issues.
