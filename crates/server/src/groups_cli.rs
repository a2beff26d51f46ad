//! `portcullis groups …`: groups from the command line (the console's
//! operations, audited with `actor: "cli"`).

use clap::Subcommand;
use portcullis_authn::admin::{By, Groups};
use portcullis_authn::{AuthnError, RequestInfo};
use portcullis_core::SystemClock;
use std::process::ExitCode;

use crate::settings::Settings;
use crate::{connect_and_migrate, fail};

/// `portcullis groups …`
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List the groups.
    List,
    /// Create a group.
    Create {
        /// Its name (unique whatever the case).
        name: String,
    },
    /// Rename a group.
    Rename {
        /// The current name.
        name: String,
        /// The new name.
        new_name: String,
    },
    /// Delete a group (its members stay).
    Delete {
        /// The group's name.
        name: String,
    },
    /// List a group's members.
    Members {
        /// The group's name.
        name: String,
    },
    /// Add a user to a group.
    Add {
        /// The group's name.
        name: String,
        /// Username or email.
        user: String,
    },
    /// Take a user out of a group.
    Remove {
        /// The group's name.
        name: String,
        /// Username or email.
        user: String,
    },
}

/// Runs a `groups` command; returns the exit code (1 for a refused action).
pub(crate) async fn run(settings: &Settings, command: GroupsCommand) -> ExitCode {
    let store = match connect_and_migrate(settings).await {
        Ok((store, _)) => store,
        Err(e) => return fail(crate::EXIT_CONFIG, &e),
    };
    let groups = Groups { store: store.as_ref(), clock: &SystemClock };
    let result = execute(groups, command).await;
    store.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

async fn execute(groups: Groups<'_>, command: GroupsCommand) -> Result<(), AuthnError> {
    let cli = RequestInfo { ip: None, user_agent: Some("portcullis-cli".into()) };
    let by = By::Operator;
    match command {
        GroupsCommand::List => {
            print_lines(groups.list().await?.iter().map(|g| format!("{}  {}", g.id, g.name)))
        }
        GroupsCommand::Create { name } => {
            let group = groups.create_group(by, &name, &cli).await?;
            tracing::info!(group_id = %group.id, name = %group.name, "group created");
        }
        GroupsCommand::Rename { name, new_name } => {
            let id = groups.named(&name).await?.group.id;
            let group = groups.rename_group(by, id, &new_name, None, &cli).await?;
            tracing::info!(group_id = %group.id, name = %group.name, "group renamed");
        }
        GroupsCommand::Delete { name } => {
            let id = groups.named(&name).await?.group.id;
            groups.delete_group(by, id, &cli).await?;
            tracing::info!(group_id = %id, "group deleted");
        }
        GroupsCommand::Members { name } => {
            let members = groups.named(&name).await?.members;
            print_lines(members.iter().map(|u| format!("{}  {}  {}", u.id, u.username, u.email)));
        }
        GroupsCommand::Add { name, user } => {
            let id = groups.named(&name).await?.group.id;
            let added = groups.add_member(by, id, &user, &cli).await?;
            tracing::info!(group_id = %id, added, "member added");
        }
        GroupsCommand::Remove { name, user } => {
            let id = groups.named(&name).await?.group.id;
            let removed = groups.remove_member_login(by, id, &user, &cli).await?;
            tracing::info!(group_id = %id, removed, "member removed");
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's output
fn print_lines(lines: impl Iterator<Item = String>) {
    for line in lines {
        println!("{line}");
    }
}
