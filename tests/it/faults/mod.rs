//! Faults an operator meets: the database restarting or away, an instance
//! asked to stop.

mod drain;
mod postgres_restart;
