//! Registered clients: the repository, its run-time changes, the
//! operations of the console and the command line, and the start-up sync,
//! on both backends.

mod admin_scope;
mod changes;
mod registry;
pub(crate) mod repos;
mod sync;
