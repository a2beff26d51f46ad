//! The `portcullis` binary as an operator meets it, run as a process: one
//! test binary, a module per area.

// Test code: an expect names what the test needs.
#![allow(clippy::expect_used)]

mod backup;
mod browser;
mod clients;
mod common;
mod groups;
mod healthcheck;
mod keys;
mod killed;
mod oauth;
mod postgres;
mod process;
mod upgrades;
mod users;
