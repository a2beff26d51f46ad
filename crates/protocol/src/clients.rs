//! Registering and managing clients: [`ClientSpec`], a client as typed
//! (configuration, command-line flags, a console form), parsed and checked
//! by the one set of rules every way of registering shares; and
//! [`Registry`], the run-time changes — register, rotate the secret,
//! disable or enable, delete — each one store transaction with its audit
//! event, which names who made it ([`Actor`]). The store advances its
//! client generation with every change, so the [`ClientCache`] of this
//! instance drops what it holds at once (other instances within its TTL).
//!
//! Clients declared in `[[clients]]` are read-only here: the configuration
//! file is their source of truth, and every change is refused
//! ([`RegistryError::DeclaredInConfig`]).
//!
//! [`ClientCache`]: crate::ClientCache

use portcullis_core::random;
use portcullis_store::{AuditOutcome, ClientRecord, Effects, NewAuditEvent, Store, StoreError};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    Client, ClientId, ClientSecretHash, GrantType, IdTokenAlg, ModelError, Origin, RedirectUri, ResourceId,
    Resources, ScopeSet, TokenEndpointAuthMethod,
};

/// The grant types of a client that names none.
pub const DEFAULT_GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// The scopes of a client that names none.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The longest a rotated secret may stay valid beside its successor.
pub const MAX_SECRET_OVERLAP: Duration = Duration::days(30);

/// A client as typed: plain values, parsed and checked by [`Self::to_client`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    /// The public identifier.
    pub client_id: String,
    /// A name to show on the consent page (blank: the client id).
    pub name: Option<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`,
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public).
    pub token_endpoint_auth_method: String,
    /// The scopes the client may ask for.
    pub scopes: Vec<String>,
    /// Whether users must consent.
    pub require_consent: bool,
    /// Where Back-Channel Logout tokens are posted.
    pub backchannel_logout_uri: Option<String>,
    /// `RS256`, `ES256` or `EdDSA`.
    pub id_token_signed_response_alg: String,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: u32,
    /// The client's public keys (JWKS JSON), for `private_key_jwt`.
    pub jwks: Option<String>,
    /// May use the admin API.
    pub admin_api: bool,
    /// Web origins allowed to call the token-side endpoints (CORS), besides
    /// those a public client's redirect URIs imply.
    pub allowed_origins: Vec<String>,
    /// Every access token must be DPoP-bound (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (PAR, RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// The identifiers of the resource servers (RFC 8707) it may ask
    /// access tokens for.
    pub resources: Vec<String>,
}

impl ClientSpec {
    /// `client_id` with the defaults: a confidential (`client_secret_basic`)
    /// code and refresh-token client asking for [`DEFAULT_SCOPES`], with
    /// consent, RS256 ID tokens and 5-minute access tokens.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            name: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: DEFAULT_GRANT_TYPES.map(String::from).to_vec(),
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic.as_str().to_owned(),
            scopes: DEFAULT_SCOPES.map(String::from).to_vec(),
            require_consent: true,
            backchannel_logout_uri: None,
            id_token_signed_response_alg: IdTokenAlg::default().as_str().to_owned(),
            access_token_ttl_secs: Client::DEFAULT_ACCESS_TOKEN_TTL_SECS,
            jwks: None,
            admin_api: false,
            allowed_origins: Vec::new(),
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            resources: Vec::new(),
        }
    }

    /// Whether the client authenticates with a secret (`client_secret_basic`
    /// or `client_secret_post`).
    pub fn takes_secret(&self) -> bool {
        matches!(
            TokenEndpointAuthMethod::parse(&self.token_endpoint_auth_method),
            Ok(TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost)
        )
    }

    /// The typed client with `secret`, checked ([`Client::validate`]).
    pub fn to_client(
        &self,
        secret: Option<ClientSecretHash>,
        from_config: bool,
    ) -> Result<Client, ModelError> {
        let uris = |v: &[String]| v.iter().map(|u| RedirectUri::parse(u)).collect::<Result<Vec<_>, _>>();
        let name = self.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&self.client_id);
        let client = Client {
            client_id: ClientId::parse(&self.client_id)?,
            name: name.to_owned(),
            client_secret_sha256: secret,
            redirect_uris: uris(&self.redirect_uris)?,
            post_logout_redirect_uris: uris(&self.post_logout_redirect_uris)?,
            grant_types: self.grant_types.iter().map(|g| GrantType::parse(g)).collect::<Result<_, _>>()?,
            token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&self.token_endpoint_auth_method)?,
            scopes: ScopeSet::from_tokens(self.scopes.iter().map(String::as_str))?,
            require_consent: self.require_consent,
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .as_deref()
                .map(|u| url::Url::parse(u).map_err(|_| ModelError::RedirectUri))
                .transpose()?,
            id_token_signed_response_alg: IdTokenAlg::parse(&self.id_token_signed_response_alg)?,
            jwks: self.jwks.clone(),
            access_token_ttl_secs: self.access_token_ttl_secs,
            from_config,
            previous_secret: None,
            disabled: false,
            admin_api: self.admin_api,
            allowed_origins: self
                .allowed_origins
                .iter()
                .map(|o| Origin::parse(o))
                .collect::<Result<_, _>>()?,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            resources: self.resources.iter().map(|r| ResourceId::parse(r)).collect::<Result<_, _>>()?,
        };
        client.validate()?;
        Ok(client)
    }
}

/// Who changes a client, and from where: its audit event records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the `portcullis` command line.
    Operator,
    /// An administrator in the console.
    Admin {
        /// The administrator's user id (`actor` in the audit event).
        id: Uuid,
        /// Whether their session may change things now (authenticated
        /// recently enough: the console's rule, decided by `authn`).
        may_change: bool,
        /// The client IP address.
        ip: Option<String>,
        /// The browser's user agent.
        user_agent: Option<String>,
    },
    /// A client of the admin API (an `admin_api` client holding a token
    /// with the `admin` scope).
    ApiClient {
        /// Its client id (`actor` is `client:<id>` in the audit event).
        id: String,
        /// The client IP address.
        ip: Option<String>,
        /// Its user agent.
        user_agent: Option<String>,
    },
}

impl Actor {
    /// `OwnClient` when this actor is the admin-API client `client_id`.
    fn not_itself(&self, client_id: &str) -> Result<(), RegistryError> {
        match self {
            Self::ApiClient { id, .. } if id == client_id => Err(RegistryError::OwnClient),
            _ => Ok(()),
        }
    }

    /// A change may be made: `ReauthenticationRequired` otherwise.
    fn may_change(&self) -> Result<(), RegistryError> {
        match self {
            Self::Admin { may_change: false, .. } => Err(RegistryError::ReauthenticationRequired),
            _ => Ok(()),
        }
    }

    /// The event `kind` about `client_id`, made by this actor at `at`.
    fn event(&self, at: OffsetDateTime, kind: &str, client_id: &str, mut detail: Value) -> NewAuditEvent {
        let (ip, user_agent) = match self {
            Self::Operator => (None, Some("portcullis-cli".to_owned())),
            Self::Admin { ip, user_agent, .. } | Self::ApiClient { ip, user_agent, .. } => {
                (ip.clone(), user_agent.clone())
            }
        };
        if let Some(map) = detail.as_object_mut() {
            map.insert("client_id".into(), json!(client_id));
            match self {
                Self::Admin { id, .. } => _ = map.insert("actor".into(), json!(id)),
                Self::ApiClient { id, .. } => _ = map.insert("actor".into(), json!(format!("client:{id}"))),
                Self::Operator => {}
            }
        }
        NewAuditEvent {
            at,
            kind: kind.to_owned(),
            outcome: AuditOutcome::Success,
            user_id: None,
            ip,
            user_agent,
            detail,
        }
    }
}

/// The `target: "audit"` log line of a committed event (as `authn` writes
/// them), with what the store added to its detail.
fn logged(e: &NewAuditEvent, grants_revoked: Option<u64>) {
    let mut detail = e.detail.clone();
    if let (Some(map), Some(grants)) = (detail.as_object_mut(), grants_revoked) {
        map.insert("sessions_ended".into(), json!(0));
        map.insert("grants_revoked".into(), json!(grants));
    }
    tracing::info!(
        target: "audit",
        event = e.kind,
        outcome = e.outcome.as_str(),
        user_id = None::<String>,
        ip = e.ip.as_deref(),
        user_agent = e.user_agent.as_deref(),
        at = %e.at,
        detail = %detail,
        "audit"
    );
}

/// Why a client change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The administrator's authentication is too old for a change.
    #[error("sign in again to make this change")]
    ReauthenticationRequired,
    /// No client has this id.
    #[error("unknown client")]
    UnknownClient,
    /// The client is declared in `[[clients]]`.
    #[error("{}", RegistryError::DECLARED_IN_CONFIG)]
    DeclaredInConfig,
    /// The id is taken.
    #[error("a client with this id exists already")]
    Taken,
    /// The client authenticates without a secret (public, `private_key_jwt`).
    #[error("the client has no secret to rotate")]
    NoSecret,
    /// The id typed to confirm a deletion is not the client's.
    #[error("the client id typed does not match; nothing was deleted")]
    ConfirmationMismatch,
    /// The overlap asked for is longer than [`MAX_SECRET_OVERLAP`].
    #[error("the overlap of the old secret may be at most 30 days")]
    OverlapTooLong,
    /// The client as typed breaks a rule.
    #[error("{0}")]
    Invalid(#[from] ModelError),
    /// An admin-API client may not disable or delete itself (it would
    /// lock the automation out; another administrator must).
    #[error("a client cannot disable or delete itself")]
    OwnClient,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// What a change of a configuration-declared client is told.
    pub const DECLARED_IN_CONFIG: &'static str =
        "this client is declared in the configuration file; change it there";
}

/// A registered client and its secret, to be shown this once.
#[derive(Debug)]
pub struct Registered {
    /// The client.
    pub client: Client,
    /// The secret (confidential clients): stored only as its SHA-256.
    pub secret: Option<String>,
}

/// A rotated secret, to be shown this once.
#[derive(Debug)]
pub struct Rotated {
    /// The new secret.
    pub secret: String,
    /// Until when the replaced secret is accepted too (none: not at all).
    pub previous_until: Option<OffsetDateTime>,
}

/// One client as the console shows it.
#[derive(Debug, Clone)]
pub struct ClientDetail {
    /// The stored client (its secrets only as hashes: never shown).
    pub record: ClientRecord,
    /// Until when the secret the last rotation replaced is still accepted,
    /// while it is.
    pub previous_secret_until: Option<OffsetDateTime>,
    /// The CORS origins its redirect URIs imply besides those it lists
    /// ([`Client::implied_origins`]).
    pub implied_origins: Vec<String>,
}

/// The client operations of the console and the command line.
#[derive(Clone, Copy)]
pub struct Registry<'a> {
    /// The database.
    pub store: &'a dyn Store,
    /// The instant of the request.
    pub now: OffsetDateTime,
    /// No token may live longer ([`crate::ProtocolConfig::max_token_lifetime`]).
    pub max_token_lifetime: Duration,
    /// The configured resource servers: a client may be allowed only these.
    pub resources: &'a Resources,
}

impl std::fmt::Debug for Registry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("now", &self.now).finish_non_exhaustive()
    }
}

impl Registry<'_> {
    /// Every client, by id.
    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<ClientRecord>, RegistryError> {
        Ok(self.store.list_clients().await?)
    }

    /// The client `client_id`; `UnknownClient` if none.
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    pub async fn client(&self, client_id: &str) -> Result<ClientDetail, RegistryError> {
        let record = self.store.find_client(client_id).await?.ok_or(RegistryError::UnknownClient)?;
        let previous_secret_until = record.previous_secret_expires_at.filter(|until| self.now < *until);
        let implied = Client::from_record(&record).map(|c| c.implied_origins()).unwrap_or_default();
        let implied_origins = implied.iter().map(|o| o.as_str().to_owned()).collect();
        Ok(ClientDetail { record, previous_secret_until, implied_origins })
    }

    /// Registers the client `spec` (a blank id: 32 random hex digits) with
    /// its audit event. A client authenticating with a secret gets a new
    /// 256-bit one, returned this once and stored as its SHA-256.
    #[tracing::instrument(skip_all, fields(client_id = %spec.client_id))]
    pub async fn register(&self, actor: &Actor, spec: &ClientSpec) -> Result<Registered, RegistryError> {
        actor.may_change()?;
        let mut spec = spec.clone();
        if spec.client_id.trim().is_empty() {
            spec.client_id = random::hex_id();
        }
        let secret = spec.takes_secret().then(|| ClientSecretHash::new_secret(random::bytes()));
        let client = spec.to_client(secret.as_ref().map(|(_, hash)| hash.clone()), false)?;
        client.fits_token_lifetime(seconds(self.max_token_lifetime))?;
        self.resources.check_client(&client)?;
        let detail = json!({
            "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
            "admin_api": client.admin_api,
        });
        let audit = self.event(actor, "client.registered", client.client_id.as_str(), detail);
        match self.store.register_client(&client.to_record(self.now), &Effects::audit(&audit)).await {
            Err(StoreError::Conflict(_)) => return Err(RegistryError::Taken),
            other => other?,
        }
        logged(&audit[0], None);
        Ok(Registered { client, secret: secret.map(|(secret, _)| secret) })
    }

    /// Gives `client_id` a new secret, returned this once. The replaced one
    /// stays accepted for `overlap` (zero: not at all; at most
    /// [`MAX_SECRET_OVERLAP`]); a secret replaced by an earlier rotation is
    /// dropped.
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    pub async fn rotate_secret(
        &self,
        actor: &Actor,
        client_id: &str,
        overlap: Duration,
    ) -> Result<Rotated, RegistryError> {
        actor.may_change()?;
        if overlap.is_negative() || overlap > MAX_SECRET_OVERLAP {
            return Err(RegistryError::OverlapTooLong);
        }
        let client = self.changeable(client_id).await?;
        if client.client_secret_sha256.is_none() {
            return Err(RegistryError::NoSecret);
        }
        let (secret, hash) = ClientSecretHash::new_secret(random::bytes());
        let previous_until = overlap.is_positive().then(|| self.now + overlap);
        let detail = json!({ "overlap_secs": overlap.whole_seconds() });
        let audit = self.event(actor, "client.secret_rotated", client_id, detail);
        let effects = Effects::audit(&audit);
        let hex = hash.to_hex();
        let rotated =
            self.store.rotate_client_secret(client_id, &hex, previous_until, self.now, &effects).await;
        changed(rotated)?;
        logged(&audit[0], None);
        Ok(Rotated { secret, previous_until })
    }

    /// Disables `client_id` (it can neither authenticate nor start an
    /// authorization request; its grants stay, for when it is enabled
    /// again) or enables it, with the audit event.
    #[tracing::instrument(skip_all, fields(client_id = %client_id, disabled = disabled))]
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        client_id: &str,
        disabled: bool,
    ) -> Result<(), RegistryError> {
        actor.may_change()?;
        if disabled {
            actor.not_itself(client_id)?;
        }
        self.changeable(client_id).await?;
        let kind = if disabled { "client.disabled" } else { "client.enabled" };
        let audit = self.event(actor, kind, client_id, json!({}));
        let effects = Effects::audit(&audit);
        changed(self.store.set_client_disabled(client_id, disabled, self.now, &effects).await)?;
        logged(&audit[0], None);
        Ok(())
    }

    /// Deletes `client_id` with its grants (their refresh tokens stop
    /// working, their access tokens stop validating; `client_credentials`
    /// tokens, which have no grant, live out their lifetime), consents and
    /// pending requests, with the audit event; returns how many grants were
    /// live. `typed` confirms it: it must be the client id (the console
    /// asks for it to be typed; the command line's argument is it), else
    /// nothing changes.
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    pub async fn delete(&self, actor: &Actor, client_id: &str, typed: &str) -> Result<u64, RegistryError> {
        actor.may_change()?;
        if typed != client_id {
            return Err(RegistryError::ConfirmationMismatch);
        }
        actor.not_itself(client_id)?;
        self.changeable(client_id).await?;
        let audit = self.event(actor, "client.deleted", client_id, json!({}));
        let grants =
            changed(self.store.unregister_client(client_id, self.now, &Effects::audit(&audit)).await)?;
        logged(&audit[0], Some(grants));
        Ok(grants)
    }

    /// The run-time client `client_id`: `UnknownClient` if none,
    /// `DeclaredInConfig` for one the configuration declares.
    async fn changeable(&self, client_id: &str) -> Result<ClientRecord, RegistryError> {
        let record = self.store.find_client(client_id).await?.ok_or(RegistryError::UnknownClient)?;
        if record.from_config {
            return Err(RegistryError::DeclaredInConfig);
        }
        Ok(record)
    }

    /// The one event of a change of `client_id`.
    fn event(&self, actor: &Actor, kind: &str, client_id: &str, detail: Value) -> [NewAuditEvent; 1] {
        [actor.event(self.now, kind, client_id, detail)]
    }
}

/// A store answer to a change of a client just read: `NotFound` means it
/// was deleted, or taken over by the configuration, meanwhile.
fn changed<T>(result: Result<T, StoreError>) -> Result<T, RegistryError> {
    match result {
        Err(StoreError::NotFound) => Err(RegistryError::UnknownClient),
        other => Ok(other?),
    }
}

/// `d` in whole seconds, never negative.
fn seconds(d: Duration) -> u64 {
    u64::try_from(d.whole_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_app() -> ClientSpec {
        ClientSpec { redirect_uris: vec!["https://rp.example/cb".into()], ..ClientSpec::new("rp") }
    }

    #[test]
    fn the_defaults_make_a_confidential_code_client() {
        let spec = web_app();
        assert!(spec.takes_secret());
        let client = spec.to_client(Some(ClientSecretHash::of("s")), false).expect("valid");
        assert_eq!(client.name, "rp", "a blank name is the client id");
        assert_eq!(client.grant_types, [GrantType::AuthorizationCode, GrantType::RefreshToken]);
        assert!(client.scopes.is_oidc() && client.require_consent && !client.admin_api);
        assert_eq!(client.access_token_ttl_secs, Client::DEFAULT_ACCESS_TOKEN_TTL_SECS);
        assert!(!client.from_config && !client.disabled);
        let named = ClientSpec { name: Some("Web".into()), ..web_app() };
        assert_eq!(named.to_client(Some(ClientSecretHash::of("s")), true).expect("valid").name, "Web");
    }

    #[test]
    fn the_rules_of_every_registration_apply() {
        let public = ClientSpec { token_endpoint_auth_method: "none".into(), ..web_app() };
        assert!(!public.takes_secret());
        assert!(public.to_client(None, false).is_ok());
        for bad in [
            ClientSpec { redirect_uris: vec!["https://rp.example/cb#frag".into()], ..web_app() },
            ClientSpec { redirect_uris: vec!["http://rp.example/cb".into()], ..web_app() },
            ClientSpec { redirect_uris: vec![], ..web_app() },
            ClientSpec { grant_types: vec!["implicit".into()], ..web_app() },
            ClientSpec { scopes: vec!["bad scope".into()], ..web_app() },
            ClientSpec { backchannel_logout_uri: Some("not a url".into()), ..web_app() },
            ClientSpec { access_token_ttl_secs: 0, ..web_app() },
            ClientSpec { client_id: "has space".into(), ..web_app() },
            ClientSpec { grant_types: vec!["client_credentials".into()], ..public.clone() },
            ClientSpec { admin_api: true, ..public.clone() },
            ClientSpec { allowed_origins: vec!["https://app.example/".into()], ..web_app() },
            ClientSpec { allowed_origins: vec!["http://app.example".into()], ..web_app() },
            ClientSpec { allowed_origins: vec!["*".into()], ..web_app() },
        ] {
            assert!(bad.to_client(Some(ClientSecretHash::of("s")), false).is_err(), "{bad:?}");
        }
        assert!(web_app().to_client(None, false).is_err(), "a secret method needs a secret");
    }

    #[test]
    fn allowed_origins_are_kept_as_browsers_send_them() {
        let spec = ClientSpec {
            allowed_origins: vec!["HTTPS://App.Example:443".into(), "http://localhost:5173".into()],
            ..web_app()
        };
        let client = spec.to_client(Some(ClientSecretHash::of("s")), false).expect("valid");
        let origins: Vec<_> = client.allowed_origins.iter().map(|o| o.as_str()).collect();
        assert_eq!(origins, ["https://app.example", "http://localhost:5173"]);
        let err = ClientSpec { allowed_origins: vec!["https://app.example/cb".into()], ..web_app() }
            .to_client(Some(ClientSecretHash::of("s")), false)
            .expect_err("a path");
        assert!(err.to_string().contains("https://app.example/cb"), "the error names it: {err}");
    }

    #[test]
    fn the_actor_is_recorded_and_a_stale_admin_may_not_change() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let id = Uuid::new_v4();
        let admin = Actor::Admin { id, may_change: true, ip: Some("192.0.2.1".into()), user_agent: None };
        let e = admin.event(at, "client.disabled", "rp", json!({}));
        assert_eq!(e.detail, json!({ "client_id": "rp", "actor": id }));
        assert_eq!(e.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(e.user_id, None);
        let e = Actor::Operator.event(at, "client.disabled", "rp", json!({}));
        assert_eq!(e.detail, json!({ "client_id": "rp" }), "the command line has no actor id");
        assert_eq!(e.user_agent.as_deref(), Some("portcullis-cli"));
        assert!(admin.may_change().is_ok() && Actor::Operator.may_change().is_ok());
        let stale = Actor::Admin { id, may_change: false, ip: None, user_agent: None };
        assert!(matches!(stale.may_change(), Err(RegistryError::ReauthenticationRequired)));
    }
}
