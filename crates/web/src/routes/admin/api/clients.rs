//! `clients`: list, register (the secret answered once), read, delete,
//! rotate the secret, disable and enable — with the field names of
//! `[[clients]]`. Clients declared in the configuration file are listed
//! (`from_config: true`) and refused any change (409): the file is their
//! source of truth. One call into `protocol::clients::Registry` each.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_protocol::clients::{ClientDetail, ClientSpec, Registered};
use portcullis_store::ClientRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Caller, List, PageQuery, instant, list_schema, segment};
use crate::AppState;
use crate::errors::AdminApiError;

super::api_routes! {
    GET "/clients" => list,
    POST "/clients" => register,
    GET "/clients/{id}" => show,
    DELETE "/clients/{id}" => delete,
    POST "/clients/{id}/secret" => rotate_secret,
    POST "/clients/{id}/disable" => disable,
    POST "/clients/{id}/enable" => enable,
}

type Answer = Result<HttpResponse, AdminApiError>;

/// A client (its secret is never shown again after registration or rotation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientOut {
    client_id: String,
    name: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public).
    token_endpoint_auth_method: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    /// Web origins whose pages may call the token, userinfo and revocation
    /// endpoints (CORS), besides those a public client's redirect URIs imply.
    allowed_origins: Vec<String>,
    /// Every access token is DPoP-bound (RFC 9449 §5.2): token requests
    /// without a DPoP proof are refused.
    dpop_bound_access_tokens: bool,
    /// Must push its authorization requests (PAR, RFC 9126).
    require_pushed_authorization_requests: bool,
    /// The resource servers (RFC 8707 identifiers, from `[[resources]]`) it
    /// may ask access tokens for.
    resources: Vec<String>,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    require_consent: bool,
    id_token_signed_response_alg: String,
    /// Access token lifetime, seconds.
    access_token_ttl: i64,
    /// May use the admin API (client_credentials with scope `admin`).
    admin_api: bool,
    disabled: bool,
    /// Declared in `[[clients]]`: read-only here.
    from_config: bool,
    /// Until when the secret the last rotation replaced is still accepted.
    #[schema(format = DateTime)]
    previous_secret_valid_until: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl ClientOut {
    fn of(c: &ClientRecord, previous_until: Option<time::OffsetDateTime>) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            token_endpoint_auth_method: c.token_endpoint_auth_method.clone(),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            allowed_origins: c.allowed_origins.clone(),
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            resources: c.resources.clone(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes.clone(),
            require_consent: c.require_consent,
            id_token_signed_response_alg: c.id_token_signed_response_alg.clone(),
            access_token_ttl: c.access_token_ttl_secs,
            admin_api: c.admin_api,
            disabled: c.disabled,
            from_config: c.from_config,
            previous_secret_valid_until: previous_until.map(instant),
            created_at: instant(c.created_at),
        }
    }
}

list_schema!(ClientList, ClientOut);

/// A client to register: the fields of `[[clients]]` (left out: its defaults).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClientIn {
    /// Left out: a random id.
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// Default `client_secret_basic`; `none` makes a public client (PKCE, no secret).
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    /// Web origins (`https://app.example`: no path) whose pages may call the
    /// token, userinfo and revocation endpoints (CORS); a public client's
    /// redirect URIs' origins are allowed without being listed.
    #[serde(default)]
    allowed_origins: Vec<String>,
    /// Require DPoP-bound access tokens (RFC 9449 §5.2); default false.
    #[serde(default)]
    dpop_bound_access_tokens: bool,
    /// Default false: must push its authorization requests (PAR, RFC 9126).
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// Identifiers of configured `[[resources]]` (RFC 8707) it may ask
    /// access tokens for; an unknown one is refused.
    #[serde(default)]
    resources: Vec<String>,
    /// Default `authorization_code`, `refresh_token`; also `client_credentials`
    /// and `urn:ietf:params:oauth:grant-type:device_code`.
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    /// Default `openid profile email offline_access`.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// Default true.
    #[serde(default)]
    require_consent: Option<bool>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// Access token lifetime in seconds (default 300).
    #[serde(default)]
    #[schema(minimum = 1)]
    access_token_ttl: Option<u32>,
    /// The client's public keys (a JWKS), for `private_key_jwt`.
    #[serde(default)]
    jwks: Option<String>,
    #[serde(default)]
    admin_api: bool,
}

impl NewClientIn {
    fn spec(self) -> ClientSpec {
        let defaults = ClientSpec::new(self.client_id.unwrap_or_default());
        ClientSpec {
            name: self.name,
            token_endpoint_auth_method: self
                .token_endpoint_auth_method
                .unwrap_or(defaults.token_endpoint_auth_method),
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri,
            allowed_origins: self.allowed_origins,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            resources: self.resources,
            grant_types: self.grant_types.unwrap_or(defaults.grant_types),
            scopes: self.scopes.unwrap_or(defaults.scopes),
            require_consent: self.require_consent.unwrap_or(defaults.require_consent),
            id_token_signed_response_alg: self
                .id_token_signed_response_alg
                .unwrap_or(defaults.id_token_signed_response_alg),
            access_token_ttl_secs: self.access_token_ttl.unwrap_or(defaults.access_token_ttl_secs),
            jwks: self.jwks,
            admin_api: self.admin_api,
            client_id: defaults.client_id,
        }
    }
}

/// A registered client and its secret — shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegisteredOut {
    #[serde(flatten)]
    client: ClientOut,
    /// The secret (confidential clients with a secret; else null).
    client_secret: Option<String>,
}

/// How long the replaced secret stays valid beside the new one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateIn {
    /// Seconds (0, the default, to 2592000 = 30 days).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 2592000)]
    overlap_secs: u32,
}

/// A new secret — shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RotatedOut {
    client_secret: String,
    /// Until when the replaced secret is still accepted (null: no longer).
    #[schema(format = DateTime)]
    previous_secret_valid_until: Option<String>,
}

/// What deleting a client revoked.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeletedOut {
    /// Grants (refresh tokens) revoked.
    grants: u64,
}

/// Lists clients by id.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients", params(PageQuery),
    responses((status = 200, description = "A page of clients", body = ClientList)))]
pub(crate) async fn list(state: web::Data<AppState>, _caller: Caller, page: web::Query<PageQuery>) -> Answer {
    let (limit, after) = (page.limit()?, page.after("clients")?);
    let clients = state.registry().list().await?;
    let (items, next) = super::page_of(clients, |c| c.client_id.clone(), after.as_deref(), limit, "clients");
    Ok(HttpResponse::Ok().json(List { items: items.iter().map(|c| ClientOut::of(c, None)).collect(), next }))
}

/// Registers a client; answers its secret this once.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = NewClientIn,
    responses((status = 201, description = "Registered", body = RegisteredOut)))]
pub(crate) async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewClientIn>,
) -> Answer {
    let registry = state.registry();
    let Registered { client, secret } =
        registry.register(&caller.registry_actor(), &body.into_inner().spec()).await?;
    let record = client.to_record(registry.now);
    let out = RegisteredOut { client: ClientOut::of(&record, None), client_secret: secret };
    Ok(HttpResponse::Created().json(out))
}

/// Reads a client.
#[utoipa::path(get, path = "/admin/api/v1/clients/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 200, description = "The client", body = ClientOut)))]
pub(crate) async fn show(state: web::Data<AppState>, _caller: Caller, id: web::Path<String>) -> Answer {
    let ClientDetail { record, previous_secret_until, .. } = state.registry().client(segment(&id)?).await?;
    Ok(HttpResponse::Ok().json(ClientOut::of(&record, previous_secret_until)))
}

/// Deletes a client and revokes its grants.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = DeletedOut)))]
pub(crate) async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let id = segment(&id)?;
    let grants = state.registry().delete(&caller.registry_actor(), id, id).await?;
    Ok(HttpResponse::Ok().json(DeletedOut { grants }))
}

/// Gives the client a new secret, answered this once; the old one stays
/// valid for `overlap_secs`.
#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/secret", tag = "clients", params(("id" = String, Path)),
    request_body = RotateIn,
    responses((status = 200, description = "Rotated", body = RotatedOut)))]
pub(crate) async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<RotateIn>,
) -> Answer {
    let overlap = time::Duration::seconds(i64::from(body.overlap_secs));
    let rotated = state.registry().rotate_secret(&caller.registry_actor(), segment(&id)?, overlap).await?;
    let out = RotatedOut {
        client_secret: rotated.secret,
        previous_secret_valid_until: rotated.previous_until.map(instant),
    };
    Ok(HttpResponse::build(StatusCode::OK).json(out))
}

/// Disables a client: it can neither authenticate nor start a sign-in.
#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/disable", tag = "clients", params(("id" = String, Path)),
    responses((status = 204, description = "Disabled")))]
pub(crate) async fn disable(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    state.registry().set_disabled(&caller.registry_actor(), segment(&id)?, true).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Enables a disabled client.
#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/enable", tag = "clients", params(("id" = String, Path)),
    responses((status = 204, description = "Enabled")))]
pub(crate) async fn enable(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    state.registry().set_disabled(&caller.registry_actor(), segment(&id)?, false).await?;
    Ok(HttpResponse::NoContent().finish())
}
