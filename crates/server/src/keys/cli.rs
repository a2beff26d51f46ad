//! `portcullis keys list | rotate | revoke`: the operator's key commands.
//! They act on the database directly; running servers pick the change up
//! within `keys.refresh_interval_secs`.

use clap::Subcommand;
use portcullis_core::{Clock, SystemClock};
use portcullis_keys::{Algorithm, KeyError, KeyMeta, KeyService, stored_keys};
use portcullis_store::{SigningKeyState, Store};
use std::process::ExitCode;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{key_service, policy};
use crate::settings::Settings;
use crate::{EXIT_CONFIG, connect_and_migrate};

/// `portcullis keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: kid, algorithm, state, created, activates, retires.
    List,
    /// Stage a new key now; it starts signing after the lead time (or at once with --now).
    Rotate {
        /// Only this algorithm (RS256, ES256, EdDSA); default: every configured one.
        #[arg(long, value_name = "ALG")]
        alg: Option<Algorithm>,
        /// Activate at once, retiring the current key (verifiers may not know
        /// the new key yet: for emergencies).
        #[arg(long)]
        now: bool,
    },
    /// Emergency: take a key out of the JWKS at once; if it was signing, its
    /// successor activates immediately.
    Revoke {
        /// The key id (see `portcullis keys list`).
        kid: String,
    },
}

/// A failed key command: its message and exit code (2 for configuration and
/// key-encryption-key problems, 1 for a refused operation).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeysCommandError {
    /// The process exit code.
    pub code: u8,
    /// One line.
    pub message: String,
}

fn setup_error(message: impl Into<String>) -> KeysCommandError {
    KeysCommandError { code: EXIT_CONFIG, message: message.into() }
}

impl From<KeyError> for KeysCommandError {
    fn from(e: KeyError) -> Self {
        let code = match e {
            KeyError::WrongKek { .. } | KeyError::InvalidKek(_) | KeyError::Store(_) => EXIT_CONFIG,
            _ => 1,
        };
        Self { code, message: e.to_string() }
    }
}

/// A key service whose KEK is proven to open every stored key.
async fn checked_service(settings: &Settings, store: Arc<dyn Store>) -> Result<KeyService, KeysCommandError> {
    let service = key_service(settings, store).await.map_err(setup_error)?;
    service.load(None).await?;
    Ok(service)
}

/// Every key's metadata (no KEK needed).
pub async fn list_keys(store: &dyn Store) -> Result<Vec<KeyMeta>, KeysCommandError> {
    Ok(stored_keys(store).await?)
}

/// Stages (or with `immediately`, activates) a new key for `alg`, or for
/// every configured algorithm. Returns the new kids.
pub async fn rotate_keys(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: &dyn Clock,
    alg: Option<Algorithm>,
    immediately: bool,
) -> Result<Vec<String>, KeysCommandError> {
    let service = checked_service(settings, store).await?;
    let algs = alg.map_or_else(|| settings.keys.algorithms(), |a| vec![a]);
    let mut kids = Vec::new();
    for alg in algs {
        kids.push(service.rotate(alg, clock.now(), immediately).await?);
    }
    Ok(kids)
}

/// Revokes `kid` (the same call `portcullis keys revoke` makes). Returns the
/// replacement's kid when the key was signing.
pub async fn revoke_key(
    settings: &Settings,
    store: Arc<dyn Store>,
    clock: &dyn Clock,
    kid: &str,
) -> Result<Option<String>, KeysCommandError> {
    let service = checked_service(settings, store).await?;
    Ok(service.revoke(kid, clock.now()).await?)
}

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| "-".into())
}

/// When a key stops signing: scheduled for staged and active keys.
fn retires(key: &KeyMeta, settings: &Settings) -> Option<OffsetDateTime> {
    match key.state {
        SigningKeyState::Staged | SigningKeyState::Active => {
            Some(key.activates_at + policy(settings).rotation_period)
        }
        SigningKeyState::Retired | SigningKeyState::Revoked => key.retired_at,
    }
}

fn table(keys: &[KeyMeta], settings: &Settings) -> String {
    let mut out = format!(
        "{:<32}  {:<5}  {:<7}  {:<20}  {:<20}  {}\n",
        "KID", "ALG", "STATE", "CREATED", "ACTIVATES", "RETIRES"
    );
    for k in keys {
        out.push_str(&format!(
            "{:<32}  {:<5}  {:<7}  {:<20}  {:<20}  {}\n",
            k.kid,
            k.alg.as_str(),
            k.state.as_str(),
            when(Some(k.created_at)),
            when(Some(k.activates_at)),
            when(retires(k, settings)),
        ));
    }
    out
}

async fn execute(settings: &Settings, command: KeysCommand) -> Result<String, KeysCommandError> {
    let (store, _) = connect_and_migrate(settings).await.map_err(|e| setup_error(e.to_string()))?;
    let told = crate::fanout::Tell::watch(settings, store.as_ref()).await;
    let when = if told.reaches_instances() { "at once" } else { "within keys.refresh_interval_secs" };
    let clock = SystemClock;
    let result = match command {
        KeysCommand::List => list_keys(store.as_ref()).await.map(|keys| table(&keys, settings)),
        KeysCommand::Rotate { alg, now } => {
            rotate_keys(settings, store.clone(), &clock, alg, now).await.map(|kids| {
                let verb = if now { "activated" } else { "staged (activates after the lead time)" };
                kids.iter().map(|kid| format!("{kid} {verb}\n")).collect()
            })
        }
        KeysCommand::Revoke { kid } => revoke_key(settings, store.clone(), &clock, &kid).await.map(|next| {
            let next = next.map(|n| format!("; {n} now signs in its place")).unwrap_or_default();
            format!("{kid} revoked: removed from the JWKS {when}{next}\n")
        }),
    };
    told.tell().await;
    store.close().await;
    result
}

/// Runs a key command; prints its output, or one `error:` line.
pub async fn run_keys_command(settings: &Settings, command: KeysCommand) -> ExitCode {
    match execute(settings, command).await {
        Ok(output) => {
            #[allow(clippy::print_stdout)] // the command's output
            {
                print!("{output}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail(e.code, &e),
    }
}
