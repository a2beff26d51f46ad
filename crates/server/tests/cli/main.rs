//! The `portcullis` binary as an operator meets it, run as a process: one
//! test binary, a module per area.

mod clients;
mod common;
mod keys;
mod process;
mod users;
