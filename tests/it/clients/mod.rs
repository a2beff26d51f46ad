//! Registered clients: the repository, its run-time changes and the
//! start-up sync, on both backends.

mod changes;
mod repos;
mod sync;
