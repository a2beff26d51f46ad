//! Integration tests: one binary, one module per area. Tests that touch
//! storage run on both backends (`…::sqlite`, `…::postgres`).

mod health;
mod metrics;
mod request_id;
mod store;
