//! Upstream identity providers (issue 19): what is built so far.

mod client;
mod forged;
