//! `portcullis users …`: manage accounts from the command line.

use clap::{Args, Subcommand};
use portcullis_authn::accounts::{Accounts, NewAccount};
use portcullis_authn::recovery::Recovery;
use portcullis_authn::{AuthnError, Password, PasswordHasher, RequestInfo};
use portcullis_core::SystemClock;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use crate::accounts::{argon2_cost, password_policy};
use crate::settings::Settings;
use crate::{connect_and_migrate, fail};

/// `portcullis users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from stdin (one line).
    Add(AddArgs),
    /// Set a user's password, read from stdin (one line).
    SetPassword {
        /// Username or email.
        user: String,
        /// Read the password from stdin (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user and end all their sessions.
    Disable {
        /// Username or email.
        user: String,
    },
    /// Require a second factor of a user (`--off` to lift it). Users with
    /// the admin role need one anyway (`auth.admins_require_mfa`).
    RequireMfa {
        /// Username or email.
        user: String,
        /// Lift the requirement instead.
        #[arg(long)]
        off: bool,
    },
    /// For a user who lost every second factor: remove their passkeys,
    /// authenticator app and recovery codes, and end all their sessions.
    ResetMfa {
        /// Username or email.
        user: String,
    },
    /// List users.
    List,
}

/// `portcullis users add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Login name.
    #[arg(long)]
    username: String,
    /// Email address.
    #[arg(long)]
    email: String,
    /// Grant the admin role.
    #[arg(long)]
    admin: bool,
    /// Read the password from stdin (required: never pass it as an argument).
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// Reads one line from stdin, without its line ending.
fn read_password() -> Result<Password, AuthnError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AuthnError::InvalidIdentity(format!("cannot read the password from stdin: {e}")))?;
    Ok(Password::new(line.trim_end_matches(['\n', '\r'])))
}

/// Runs a `users` command; returns the exit code (1 for a refused action).
pub(crate) async fn run(settings: &Settings, command: UsersCommand) -> ExitCode {
    let store = match connect_and_migrate(settings).await {
        Ok((store, _)) => store,
        Err(e) => return fail(crate::EXIT_CONFIG, &e),
    };
    let result = execute(settings, store.as_ref(), command).await;
    store.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

async fn execute(
    settings: &Settings,
    store: &dyn portcullis_store::Store,
    command: UsersCommand,
) -> Result<(), AuthnError> {
    let hasher = Arc::new(PasswordHasher::new(argon2_cost(&settings.auth))?);
    let policy = password_policy(&settings.auth);
    let accounts = Accounts { store, hasher: &hasher, policy: &policy, clock: &SystemClock };
    let cli = RequestInfo { ip: None, user_agent: Some("portcullis-cli".into()) };
    let mail = crate::mail::mail_context(settings);
    let rules = settings.recovery.rules();
    let lockouts = crate::accounts::lockouts(&settings.auth);
    let mfa = portcullis_authn::MfaPolicy { admins_require_mfa: settings.auth.admins_require_mfa };
    let recovery = Recovery {
        store,
        throttle: store,
        hasher: &hasher,
        policy: &policy,
        lockouts: &lockouts,
        mfa: &mfa,
        clock: &SystemClock,
        mail: &mail,
        rules: &rules,
    };
    match command {
        UsersCommand::Add(args) => {
            let new = NewAccount {
                username: args.username,
                email: args.email,
                password: read_password()?,
                admin: args.admin,
            };
            let user = accounts.create(new, &cli).await?;
            tracing::info!(user_id = %user.id, username = %user.username, "user created");
            // Queued for the running server to send; pointless without mail
            // (the link would expire in the outbox).
            if crate::mail::mail_available(settings) && !user.email_verified {
                recovery.send_verification(&user).await?;
                tracing::info!(user_id = %user.id, "email verification link queued");
            }
        }
        UsersCommand::SetPassword { user, .. } => {
            let user = accounts.find(&user).await?;
            let ended = accounts.change_password(&user, read_password()?, None, &mail, &cli).await?;
            log_ended(&user, ended, "password changed");
        }
        UsersCommand::Disable { user } => {
            let (user, ended) = accounts.disable(&user, &cli).await?;
            log_ended(&user, ended, "user disabled");
        }
        UsersCommand::RequireMfa { user, off } => {
            let user = accounts.require_mfa(&user, !off, &cli).await?;
            tracing::info!(user_id = %user.id, username = %user.username, required = !off, "second factor requirement set");
        }
        UsersCommand::ResetMfa { user } => {
            let (user, ended) = accounts.reset_mfa(&user, &cli).await?;
            log_ended(&user, ended, "second factors reset");
        }
        UsersCommand::List => print_users(&store.list_users().await?),
    }
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's output
fn print_users(users: &[portcullis_store::User]) {
    println!("{:<36}  {:<24}  {:<32}  {:<8}  {:<3}  roles", "id", "username", "email", "status", "mfa");
    for u in users {
        let status = if u.disabled { "disabled" } else { "active" };
        let mfa = if u.mfa_required { "req" } else { "-" };
        println!(
            "{:<36}  {:<24}  {:<32}  {:<8}  {:<3}  {}",
            u.id,
            u.username,
            u.email,
            status,
            mfa,
            u.roles.join(",")
        );
    }
}

/// Logs an operation that ended the user's sessions and grants.
fn log_ended(user: &portcullis_store::User, ended: portcullis_store::EndedAccess, what: &str) {
    tracing::info!(
        user_id = %user.id,
        username = %user.username,
        sessions_ended = ended.sessions,
        grants_revoked = ended.grants,
        "{what}"
    );
}
