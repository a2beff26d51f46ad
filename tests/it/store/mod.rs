//! Repository behaviour, identical on both backends.

mod audit;
mod migrations;
