//! Upstream identity providers (issue 19): the relying party against a
//! real upstream and against forged ID tokens, and the sign-in through an
//! upstream end to end.

mod browser;
mod client;
mod flow;
mod forged;
