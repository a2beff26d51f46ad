//! Findings of the security review (issue 14), one file per topic.

mod body_timeout;
mod client_assertion_audience;
mod common_passwords;
mod file_modes;
mod hsts;
mod setup_links;
