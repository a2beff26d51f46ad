//! Passkeys, TOTP, recovery codes, step-up and the re-authentication gate
//! (issue 6), on both backends; the passkey journey in headless Chromium
//! with a CDP virtual authenticator.

mod enroll;
mod passkeys;
mod repos;
mod second_factor;
