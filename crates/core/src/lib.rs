//! Domain types shared by every Portcullis crate.
//!
//! Values are parsed once, at the edge, into newtypes ([`Issuer`]) so the
//! rest of the code never handles an unchecked `String`. Time is an input:
//! everything that expires asks a [`Clock`] rather than the system. Random
//! secrets come from [`random`]; files only their owner may read, through
//! [`private_files`].

mod clock;
mod issuer;
pub mod private_files;
pub mod random;

pub use clock::{Clock, ManualClock, SystemClock};
pub use issuer::{Issuer, IssuerError};
