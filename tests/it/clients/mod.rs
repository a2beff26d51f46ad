//! Registered clients: the repository and the start-up sync, on both backends.

mod repos;
mod sync;
