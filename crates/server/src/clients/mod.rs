//! Relying parties: the start-up sync of `[[clients]]` ([`sync_config_clients`])
//! and the `portcullis clients` command ([`ClientsCommand`]).

mod cli;
mod sync;

pub(crate) use cli::ClientsCommand;
pub(crate) use cli::run;
pub(crate) use sync::sync_config_clients;
