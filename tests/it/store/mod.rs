//! Repository behaviour, identical on both backends.

mod audit;
mod lock_order;
mod migrations;
mod workers;
