//! The integration-test harness: every test gets its own application and its
//! own database, on SQLite or PostgreSQL.
//!
//! - [`spawn_app`] / [`spawn_app_with`]: a running Portcullis on free ports.
//! - [`TestDatabase`]: a fresh SQLite file, or a fresh PostgreSQL database
//!   (dropped afterwards) on the server named by `PORTCULLIS_TEST_POSTGRES_URL`.
//!   `scripts/test` starts that server; without it PostgreSQL tests FAIL.
//! - [`cluster::spawn_cluster`]: several instances on one database behind a
//!   round-robin proxy.
//! - [`both_backends!`]: runs one async test body against both backends, as
//!   `<name>::sqlite` and `<name>::postgres`.
//! - [`password_changed_mail`]: a rendered mail for outbox tests.
//! - [`pg_cluster::PgCluster`]: a PostgreSQL cluster of one test's own, to
//!   restart or stop (never the shared one).

// Test code: an expect names what the test needs.
#![allow(clippy::expect_used)]

mod app;
pub mod cluster;
mod database;
mod mail;
pub mod mfa;
pub mod net;
pub mod node;
pub mod oidc;
pub mod pg_cluster;
pub mod redis;
mod smtp;
pub mod soft_passkey;

pub use app::{TestApp, spawn_app, spawn_app_with, test_settings};
pub use database::{POSTGRES_ENV, TestDatabase, test_store};
pub use mail::password_changed_mail;
pub use portcullis_store::Backend;
pub use smtp::{Captured, SmtpCapture};

/// For each `name`, an `async fn name(backend: Backend)` in scope becomes two
/// tests, `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )+};
}
