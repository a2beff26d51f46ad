//! `portcullis clients …`: register and manage relying parties from the
//! command line, through the same operations as the admin console
//! (`portcullis_protocol::clients::Registry`, audited as the operator).

use clap::{Args, Subcommand};
use portcullis_core::{Clock, SystemClock};
use portcullis_protocol::Client;
use portcullis_protocol::clients::{Actor, ClientSpec, Registry};
use portcullis_store::{ClientRecord, Store};
use std::process::ExitCode;
use time::Duration;

use crate::settings::Settings;
use crate::{connect_and_migrate, fail};

/// `portcullis clients …`
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its id and (for confidential clients) its secret, once.
    Add(AddArgs),
    /// List registered clients.
    List,
    /// Give a client a new secret; prints it, once.
    RotateSecret {
        /// The client id.
        client_id: String,
        /// How long the old secret keeps working beside the new one
        /// (default 0: it stops at once; at most 30 days).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        overlap_secs: u32,
    },
    /// Disable a client: it can neither authenticate nor start a sign-in
    /// (its grants stay, for when it is enabled again).
    Disable {
        /// The client id.
        client_id: String,
    },
    /// Enable a disabled client.
    Enable {
        /// The client id.
        client_id: String,
    },
    /// Delete a client and revoke its grants (its refresh tokens stop working).
    Delete {
        /// The client id.
        client_id: String,
    },
}

/// `portcullis clients add`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Name shown on the consent page.
    #[arg(long)]
    name: String,
    /// A redirect URI (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// A post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// A public (native or browser) client: no secret, PKCE only.
    #[arg(long)]
    public: bool,
    /// A grant type (repeat; default: authorization_code and refresh_token).
    #[arg(long = "grant", value_name = "GRANT",
          value_parser = ["authorization_code", "refresh_token", "client_credentials",
                          "urn:ietf:params:oauth:grant-type:device_code"])]
    grants: Vec<String>,
    /// A scope the client may ask for (repeat; default: openid profile email offline_access).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Skip the consent page (first-party clients).
    #[arg(long)]
    no_consent: bool,
    /// May use the admin API (confidential clients).
    #[arg(long)]
    admin_api: bool,
    /// A web origin whose pages may call the token, userinfo and revocation
    /// endpoints, e.g. https://app.example (repeat for several; a public
    /// client's redirect URIs' origins are allowed without it).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Require DPoP-bound access tokens (RFC 9449): token requests without
    /// a DPoP proof are refused.
    #[arg(long)]
    dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (PAR, RFC 9126): /authorize
    /// without a pushed request_uri is refused.
    #[arg(long = "require-par")]
    require_pushed_authorization_requests: bool,
    /// The identifier of a [[resources]] entry (RFC 8707) the client may ask
    /// access tokens for (repeat for several).
    #[arg(long = "resource", value_name = "URI")]
    resources: Vec<String>,
    /// The client id (default: 32 random hex digits).
    #[arg(long)]
    client_id: Option<String>,
}

/// Runs a `clients` command; returns the exit code (1 for a refused action).
pub(crate) async fn run(settings: &Settings, command: ClientsCommand) -> ExitCode {
    let store = match connect_and_migrate(settings).await {
        Ok((store, _)) => store,
        Err(e) => return fail(crate::EXIT_CONFIG, &e),
    };
    let max_lifetime = i64::try_from(settings.keys.max_token_lifetime_secs).unwrap_or(i64::MAX);
    let resources = settings.resource_servers();
    let registry = Registry {
        store: store.as_ref(),
        now: SystemClock.now(),
        max_token_lifetime: Duration::seconds(max_lifetime),
        resources: &resources,
    };
    let told = crate::fanout::Tell::watch(settings, store.as_ref()).await;
    let result = execute(&registry, command).await;
    told.tell().await;
    store.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

async fn execute(registry: &Registry<'_>, command: ClientsCommand) -> anyhow::Result<()> {
    let operator = Actor::Operator;
    match command {
        ClientsCommand::Add(args) => {
            let registered = registry.register(&operator, &spec(args)).await?;
            let client = &registered.client;
            tracing::info!(client_id = %client.client_id, public = client.is_public(), "client created");
            print_created(client, registered.secret.as_deref());
        }
        ClientsCommand::List => list(registry.store).await?,
        ClientsCommand::RotateSecret { client_id, overlap_secs } => {
            let overlap = Duration::seconds(overlap_secs.into());
            let rotated = registry.rotate_secret(&operator, &client_id, overlap).await?;
            tracing::info!(client_id, overlap_secs, "client secret rotated");
            print_rotated(&client_id, &rotated);
        }
        ClientsCommand::Disable { client_id } => {
            registry.set_disabled(&operator, &client_id, true).await?;
            tracing::info!(client_id, "client disabled");
        }
        ClientsCommand::Enable { client_id } => {
            registry.set_disabled(&operator, &client_id, false).await?;
            tracing::info!(client_id, "client enabled");
        }
        ClientsCommand::Delete { client_id } => {
            let grants = registry.delete(&operator, &client_id, &client_id).await?;
            tracing::info!(client_id, grants_revoked = grants, "client deleted");
        }
    }
    Ok(())
}

/// The client the flags describe (the rules are the registration's own).
fn spec(args: AddArgs) -> ClientSpec {
    let mut spec = ClientSpec::new(args.client_id.unwrap_or_default());
    spec.name = Some(args.name);
    spec.redirect_uris = args.redirect_uris;
    spec.post_logout_redirect_uris = args.post_logout_redirect_uris;
    if !args.grants.is_empty() {
        spec.grant_types = args.grants;
    }
    if !args.scopes.is_empty() {
        spec.scopes = args.scopes;
    }
    if args.public {
        spec.token_endpoint_auth_method = "none".into();
    }
    spec.require_consent = !args.no_consent;
    spec.admin_api = args.admin_api;
    spec.allowed_origins = args.allowed_origins;
    spec.dpop_bound_access_tokens = args.dpop_bound_access_tokens;
    spec.require_pushed_authorization_requests = args.require_pushed_authorization_requests;
    spec.resources = args.resources;
    spec
}

#[allow(clippy::print_stdout)] // the command's output: the secret is shown this once
fn print_created(client: &Client, secret: Option<&str>) {
    println!("client_id: {}", client.client_id);
    if let Some(secret) = secret {
        println!("client_secret: {secret}");
        println!("(the secret is stored hashed and cannot be shown again)");
    }
}

#[allow(clippy::print_stdout)] // the command's output: the secret is shown this once
fn print_rotated(client_id: &str, rotated: &portcullis_protocol::clients::Rotated) {
    println!("client_id: {client_id}");
    println!("client_secret: {}", rotated.secret);
    match rotated.previous_until {
        Some(until) => println!("previous_secret_valid_until: {until}"),
        None => println!("(the previous secret no longer works)"),
    }
    println!("(the secret is stored hashed and cannot be shown again)");
}

async fn list(store: &dyn Store) -> anyhow::Result<()> {
    print_clients(&store.list_clients().await?);
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's output
fn print_clients(clients: &[ClientRecord]) {
    println!(
        "{:<32}  {:<24}  {:<19}  {:<7}  {:<8}  {:<9}  redirect_uris",
        "client_id", "name", "auth_method", "source", "status", "admin_api"
    );
    for c in clients {
        let source = if c.from_config { "config" } else { "runtime" };
        let status = if c.disabled { "disabled" } else { "active" };
        let admin_api = if c.admin_api { "yes" } else { "no" };
        println!(
            "{:<32}  {:<24}  {:<19}  {:<7}  {:<8}  {:<9}  {}",
            c.client_id,
            c.name,
            c.token_endpoint_auth_method,
            source,
            status,
            admin_api,
            c.redirect_uris.join(" ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        add: AddArgs,
    }

    fn spec_of(args: &[&str]) -> ClientSpec {
        let args = [&["portcullis", "--name", "App", "--public"], args].concat();
        spec(Cli::try_parse_from(args).expect("valid flags").add)
    }

    #[test]
    fn dpop_bound_access_tokens_is_a_flag_off_by_default() {
        assert!(spec_of(&["--dpop-bound-access-tokens"]).dpop_bound_access_tokens);
        assert!(!spec_of(&[]).dpop_bound_access_tokens);
    }
}
