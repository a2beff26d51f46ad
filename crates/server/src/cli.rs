//! The command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use crate::settings::LogFormat;

/// Portcullis: a self-hosted OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Every key can also be set with
    /// PORTCULLIS__<SECTION>__<KEY> environment variables.
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format (overrides `log.format`).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: migrate the database, then serve until SIGTERM/SIGINT.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to a new file, safe
    /// while `serve` runs. Not for PostgreSQL (use pg_dump), and the
    /// key-encryption key is not in it: back that up separately.
    Backup(crate::backup::BackupArgs),
    /// Exit 0 when the server configured like this process answers 200 on
    /// `/readyz` (its `listen` address; a wildcard is checked on loopback),
    /// else 1 with one line on stderr. For container health checks.
    Healthcheck,
    /// Configuration tools.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Signing keys: list, rotate, revoke.
    Keys {
        /// What to do with the keys.
        #[command(subcommand)]
        command: crate::keys::KeysCommand,
    },
    /// User accounts: add, set-password, disable, require-mfa, reset-mfa, list.
    Users {
        /// What to do with the users.
        #[command(subcommand)]
        command: crate::users_cli::UsersCommand,
    },
    /// Groups: list, create, rename, delete, members, add, remove.
    Groups {
        /// What to do with the groups.
        #[command(subcommand)]
        command: crate::groups_cli::GroupsCommand,
    },
    /// Relying parties: add, list, rotate-secret, disable, enable, delete.
    Clients {
        /// What to do with the clients.
        #[command(subcommand)]
        command: crate::clients::ClientsCommand,
    },
}

/// `portcullis config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective settings, secrets redacted.
    Check,
}
