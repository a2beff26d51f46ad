//! Domain types shared by every Portcullis crate.
//!
//! Values are parsed once, at the edge, into newtypes ([`Issuer`]) so the
//! rest of the code never handles an unchecked `String`. Time is an input:
//! everything that expires asks a [`Clock`] rather than the system. Random
//! secrets come from [`random`]; files only their owner may read, through
//! [`private_files`]. Authentication methods and context classes ([`acr`])
//! and the sign-in report ([`signin`]) are shared by `authn`, which
//! produces them, and `protocol`, which puts them in tokens.

pub mod acr;
pub mod backoff;
mod clock;
mod issuer;
pub mod private_files;
pub mod random;
pub mod signin;

pub use clock::{Clock, ManualClock, SystemClock};
pub use issuer::{Issuer, IssuerError};
