//! Integration tests: one binary, one module per area. Tests that touch
//! storage run on both backends (`…::sqlite`, `…::postgres`).

// Test code: an expect names what the test needs.
#![allow(clippy::expect_used)]

mod accounts;
mod admin;
mod clients;
mod deploy;
mod faults;
mod fuzz;
mod grants;
mod health;
mod keys;
mod mail;
mod metrics;
mod mfa;
mod multi;
mod oidc;
mod recovery;
mod redis;
mod request_id;
mod review;
mod security;
mod store;
mod upstream;
