//! Repository behaviour, identical on both backends.

pub(crate) mod audit;
mod lock_order;
mod migrations;
mod upstreams;
mod workers;
