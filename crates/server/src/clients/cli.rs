//! `portcullis clients …`: register relying parties from the command line.

use clap::{Args, Subcommand};
use portcullis_core::{SystemClock, random};
use portcullis_protocol::{
    Client, ClientId, ClientSecretHash, GrantType, IdTokenAlg, RedirectUri, ScopeSet, TokenEndpointAuthMethod,
};
use portcullis_store::{ClientRecord, Store};
use std::process::ExitCode;

use portcullis_core::Clock;

use crate::settings::Settings;
use crate::{connect_and_migrate, fail};

/// `portcullis clients …`
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its id and (for confidential clients) its secret, once.
    Add(AddArgs),
    /// List registered clients.
    List,
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
          value_parser = ["authorization_code", "refresh_token", "client_credentials"])]
    grants: Vec<String>,
    /// A scope the client may ask for (repeat; default: openid profile email offline_access).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Skip the consent page (first-party clients).
    #[arg(long)]
    no_consent: bool,
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
    let result = match command {
        ClientsCommand::Add(args) => add(store.as_ref(), args).await,
        ClientsCommand::List => list(store.as_ref()).await,
    };
    store.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

/// Builds the typed client from the flags; the secret (if any) is returned apart.
fn build(args: AddArgs) -> anyhow::Result<(Client, Option<String>)> {
    let id = args.client_id.unwrap_or_else(random::hex_id);
    let uris = |v: &[String]| v.iter().map(|u| RedirectUri::parse(u)).collect::<Result<Vec<_>, _>>();
    let grants = if args.grants.is_empty() {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        args.grants.iter().map(|g| GrantType::parse(g)).collect::<Result<_, _>>()?
    };
    let scopes = if args.scopes.is_empty() {
        ScopeSet::parse("openid profile email offline_access")?
    } else {
        ScopeSet::from_tokens(args.scopes.iter().map(String::as_str))?
    };
    let (method, secret) = if args.public {
        (TokenEndpointAuthMethod::None, None)
    } else {
        let (secret, hash) = ClientSecretHash::new_secret(random::bytes());
        (TokenEndpointAuthMethod::ClientSecretBasic, Some((secret, hash)))
    };
    let client = Client {
        client_id: ClientId::parse(&id)?,
        name: args.name,
        client_secret_sha256: secret.as_ref().map(|(_, h)| h.clone()),
        redirect_uris: uris(&args.redirect_uris)?,
        post_logout_redirect_uris: uris(&args.post_logout_redirect_uris)?,
        grant_types: grants,
        token_endpoint_auth_method: method,
        scopes,
        require_consent: !args.no_consent,
        backchannel_logout_uri: None,
        id_token_signed_response_alg: IdTokenAlg::default(),
        jwks: None,
        access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
        from_config: false,
    };
    client.validate()?;
    Ok((client, secret.map(|(s, _)| s)))
}

async fn add(store: &dyn Store, args: AddArgs) -> anyhow::Result<()> {
    let (client, secret) = build(args)?;
    store.create_client(&client.to_record(SystemClock.now())).await?;
    tracing::info!(client_id = %client.client_id, public = client.is_public(), "client created");
    print_created(&client, secret.as_deref());
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's output: the secret is shown this once
fn print_created(client: &Client, secret: Option<&str>) {
    println!("client_id: {}", client.client_id);
    if let Some(secret) = secret {
        println!("client_secret: {secret}");
        println!("(the secret is stored hashed and cannot be shown again)");
    }
}

async fn list(store: &dyn Store) -> anyhow::Result<()> {
    print_clients(&store.list_clients().await?);
    Ok(())
}

#[allow(clippy::print_stdout)] // the command's output
fn print_clients(clients: &[ClientRecord]) {
    println!("{:<32}  {:<24}  {:<19}  {:<6}  redirect_uris", "client_id", "name", "auth_method", "source");
    for c in clients {
        let source = if c.from_config { "config" } else { "cli" };
        println!(
            "{:<32}  {:<24}  {:<19}  {:<6}  {}",
            c.client_id,
            c.name,
            c.token_endpoint_auth_method,
            source,
            c.redirect_uris.join(" ")
        );
    }
}
