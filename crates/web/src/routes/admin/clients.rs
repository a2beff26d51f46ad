//! The console's client pages: one call into
//! `portcullis_protocol::clients::Registry` each. A secret is shown once,
//! on the page that answers the registration or the rotation, and never
//! again. Clients declared in `[[clients]]` are shown without any form:
//! the configuration file is their source of truth (a change posted anyway
//! is refused by the registry).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use portcullis_authn::RequestInfo;
use portcullis_authn::admin::Admin;
use portcullis_protocol::GrantType;
use portcullis_protocol::clients::{Actor, ClientDetail, ClientSpec, DEFAULT_SCOPES, RegistryError};
use portcullis_store::ClientRecord;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{Change, Reader};
use crate::AppState;
use crate::errors::PageError;
use crate::extract::{Requester, csrf_protected};
use crate::pages::render;
use crate::routes::oidc::authorize::see_other;

super::console_routes! {
    GET "/clients" => list,
    GET "/clients/new" => new_client,
    POST "/clients/new" => register,
    GET "/clients/{id}" => show,
    POST "/clients/{id}/rotate-secret" => rotate_secret,
    POST "/clients/{id}/disable" => disable,
    POST "/clients/{id}/enable" => enable,
    POST "/clients/{id}/delete" => delete,
}

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC")).unwrap_or_default()
}

/// `id` as one path segment: every byte but the unreserved ones
/// percent-encoded (client ids may hold `/`, `?`, `#`, `%`…).
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The console page of the client `id`.
fn page_of(id: &str) -> String {
    format!("/admin/clients/{}", segment(id))
}

/// Who makes a change: the administrator, from the request's address.
fn actor(admin: &Admin, info: RequestInfo) -> Actor {
    Actor::Admin {
        id: admin.user.id,
        may_change: admin.may_change().is_ok(),
        ip: info.ip,
        user_agent: info.user_agent,
    }
}

/// A client as a row of the list (and the head of its page).
struct ClientRow {
    href: String,
    id: String,
    name: String,
    auth_method: String,
    from_config: bool,
    disabled: bool,
    admin_api: bool,
    dpop_bound: bool,
}

impl From<&ClientRecord> for ClientRow {
    fn from(c: &ClientRecord) -> Self {
        Self {
            href: page_of(&c.client_id),
            id: c.client_id.clone(),
            name: c.name.clone(),
            auth_method: c.token_endpoint_auth_method.clone(),
            from_config: c.from_config,
            disabled: c.disabled,
            admin_api: c.admin_api,
            dpop_bound: c.dpop_bound_access_tokens,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    clients: Vec<ClientRow>,
    notice: Option<&'static str>,
}

/// `?done=…` after a change.
#[derive(Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// The fixed notices a change may report (never reflected text).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "deleted" => "The client is deleted; its grants are revoked.",
        "disabled" => "The client is disabled: it can neither authenticate nor start a sign-in.",
        "enabled" => "The client is enabled.",
        _ => return None,
    })
}

/// `GET /admin/clients`.
pub(crate) async fn list(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let clients = state.registry().list().await?.iter().map(ClientRow::from).collect();
    let page = ClientsPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        clients,
        notice: notice(&query.done),
    };
    render(StatusCode::OK, &page)
}

/// The registration form, as posted (every field optional, so that a
/// stale session is sent to sign in again rather than told about a field).
#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    name: String,
    /// `client_secret_basic`, `client_secret_post` or `none` (public).
    #[serde(default)]
    auth_method: String,
    /// One URI a line.
    #[serde(default)]
    redirect_uris: String,
    /// One URI a line.
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    /// One origin a line.
    #[serde(default)]
    allowed_origins: String,
    #[serde(default)]
    require_pushed_authorization_requests: Option<String>,
    /// One resource identifier a line.
    #[serde(default)]
    resources: String,
    #[serde(default)]
    grant_authorization_code: Option<String>,
    #[serde(default)]
    grant_refresh_token: Option<String>,
    #[serde(default)]
    grant_client_credentials: Option<String>,
    #[serde(default)]
    grant_device_code: Option<String>,
    /// Space-separated.
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    require_consent: Option<String>,
    /// Seconds.
    #[serde(default)]
    access_token_ttl: String,
    #[serde(default)]
    admin_api: Option<String>,
    #[serde(default)]
    dpop_bound_access_tokens: Option<String>,
}
csrf_protected!(RegisterForm);

impl RegisterForm {
    /// What the form shows first: a random id, a confidential code and
    /// refresh-token client with consent and the default scopes.
    fn blank() -> Self {
        let defaults = ClientSpec::new(portcullis_core::random::hex_id());
        Self {
            csrf_token: String::new(),
            client_id: defaults.client_id,
            name: String::new(),
            auth_method: defaults.token_endpoint_auth_method,
            redirect_uris: String::new(),
            post_logout_redirect_uris: String::new(),
            backchannel_logout_uri: String::new(),
            allowed_origins: String::new(),
            require_pushed_authorization_requests: None,
            resources: String::new(),
            grant_authorization_code: Some("on".into()),
            grant_refresh_token: Some("on".into()),
            grant_client_credentials: None,
            grant_device_code: None,
            scopes: DEFAULT_SCOPES.join(" "),
            require_consent: Some("on".into()),
            access_token_ttl: defaults.access_token_ttl_secs.to_string(),
            admin_api: None,
            dpop_bound_access_tokens: None,
        }
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    /// The client typed: the registry checks it (an unreadable lifetime is
    /// zero, which it refuses).
    fn spec(&self) -> ClientSpec {
        let grants = [
            (&self.grant_authorization_code, "authorization_code"),
            (&self.grant_refresh_token, "refresh_token"),
            (&self.grant_client_credentials, "client_credentials"),
            (&self.grant_device_code, GrantType::DEVICE_CODE),
        ];
        let backchannel = self.backchannel_logout_uri.trim();
        ClientSpec {
            name: Some(self.name.trim().to_owned()),
            redirect_uris: Self::lines(&self.redirect_uris),
            post_logout_redirect_uris: Self::lines(&self.post_logout_redirect_uris),
            grant_types: grants.iter().filter(|(on, _)| on.is_some()).map(|(_, g)| (*g).to_owned()).collect(),
            token_endpoint_auth_method: self.auth_method.clone(),
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            require_consent: self.require_consent.is_some(),
            backchannel_logout_uri: (!backchannel.is_empty()).then(|| backchannel.to_owned()),
            allowed_origins: Self::lines(&self.allowed_origins),
            require_pushed_authorization_requests: self.require_pushed_authorization_requests.is_some(),
            resources: Self::lines(&self.resources),
            access_token_ttl_secs: self.access_token_ttl.trim().parse().unwrap_or(0),
            admin_api: self.admin_api.is_some(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens.is_some(),
            ..ClientSpec::new(self.client_id.trim())
        }
    }
}

#[derive(Template)]
#[template(path = "admin/client_new.html")]
struct NewClientPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    form: &'a RegisterForm,
    error: Option<String>,
}

fn new_client_page(
    admin: &Admin,
    form: &RegisterForm,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let page =
        NewClientPage { csrf_token: &admin.session.csrf_token, admin: &admin.user.username, form, error };
    render(status, &page)
}

/// `GET /admin/clients/new`.
pub(crate) async fn new_client(Reader(admin): Reader) -> Result<HttpResponse, PageError> {
    new_client_page(&admin, &RegisterForm::blank(), StatusCode::OK, None)
}

/// A secret on the one page that shows it (a public client: none).
#[derive(Template)]
#[template(path = "admin/client_secret.html")]
struct SecretPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    heading: &'a str,
    client_id: &'a str,
    href: String,
    secret: Option<String>,
    /// A rotation (then `previous_until` says whether the old one still works).
    rotated: bool,
    previous_until: Option<String>,
}

/// `POST /admin/clients/new`: the new client's page with its secret, shown
/// this once; a refused registration shows the form again with why.
pub(crate) async fn register(
    state: web::Data<AppState>,
    Requester(info): Requester,
    Change { admin, form }: Change<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    let registered = match state.registry().register(&actor(&admin, info), &form.spec()).await {
        Ok(registered) => registered,
        Err(e @ RegistryError::Invalid(_)) => {
            return new_client_page(&admin, &form, StatusCode::BAD_REQUEST, Some(e.to_string()));
        }
        Err(RegistryError::Taken) => {
            let taken = "A client with this id exists already: choose another id.".to_owned();
            return new_client_page(&admin, &form, StatusCode::CONFLICT, Some(taken));
        }
        Err(e) => return Err(e.into()),
    };
    let id = registered.client.client_id.as_str();
    let page = SecretPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        heading: "Client registered",
        client_id: id,
        href: page_of(id),
        secret: registered.secret,
        rotated: false,
        previous_until: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage<'a> {
    csrf_token: &'a str,
    admin: &'a str,
    client: ClientRow,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: String,
    /// Listed, then implied by a public client's redirect URIs.
    allowed_origins: Vec<String>,
    implied_origins: Vec<String>,
    require_par: bool,
    resources: Vec<String>,
    grant_types: String,
    scopes: String,
    require_consent: bool,
    access_token_ttl: i64,
    id_token_alg: String,
    has_secret: bool,
    previous_until: Option<String>,
    created: String,
    updated: String,
    notice: Option<&'static str>,
}

/// `GET /admin/clients/{id}`.
pub(crate) async fn show(
    state: web::Data<AppState>,
    Reader(admin): Reader,
    path: web::Path<String>,
    query: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let ClientDetail { record, previous_secret_until, implied_origins } =
        state.registry().client(&path).await?;
    let page = ClientPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        client: ClientRow::from(&record),
        redirect_uris: record.redirect_uris,
        post_logout_redirect_uris: record.post_logout_redirect_uris,
        backchannel_logout_uri: record.backchannel_logout_uri.unwrap_or_default(),
        allowed_origins: record.allowed_origins,
        implied_origins,
        require_par: record.require_pushed_authorization_requests,
        resources: record.resources,
        grant_types: record.grant_types.join(" "),
        scopes: record.scopes.join(" "),
        require_consent: record.require_consent,
        access_token_ttl: record.access_token_ttl_secs,
        id_token_alg: record.id_token_signed_response_alg,
        has_secret: record.client_secret_sha256.is_some(),
        previous_until: previous_secret_until.map(when),
        created: when(record.created_at),
        updated: when(record.updated_at),
        notice: notice(&query.done),
    };
    render(StatusCode::OK, &page)
}

/// A client action's form: the CSRF token, the overlap of a rotation (in
/// seconds; blank: none) and the id typed to confirm a deletion.
#[derive(Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    overlap_secs: String,
    #[serde(default)]
    confirm: String,
}
csrf_protected!(ActionForm);

/// `POST /admin/clients/{id}/rotate-secret`: the new secret, shown this once.
pub(crate) async fn rotate_secret(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let overlap = match form.overlap_secs.trim() {
        "" => 0,
        secs => secs.parse::<u32>().map_err(|_| {
            PageError::NotChanged(StatusCode::BAD_REQUEST, "The overlap is a whole number of seconds.")
        })?,
    };
    let overlap = time::Duration::seconds(overlap.into());
    let rotated = state.registry().rotate_secret(&actor(&admin, info), &path, overlap).await?;
    let page = SecretPage {
        csrf_token: &admin.session.csrf_token,
        admin: &admin.user.username,
        heading: "New client secret",
        client_id: &path,
        href: page_of(&path),
        secret: Some(rotated.secret),
        rotated: true,
        previous_until: rotated.previous_until.map(when),
    };
    render(StatusCode::OK, &page)
}

/// `POST /admin/clients/{id}/disable`.
pub(crate) async fn disable(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    state.registry().set_disabled(&actor(&admin, info), &path, true).await?;
    Ok(see_other(&format!("{}?done=disabled", page_of(&path))))
}

/// `POST /admin/clients/{id}/enable`.
pub(crate) async fn enable(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, .. }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    state.registry().set_disabled(&actor(&admin, info), &path, false).await?;
    Ok(see_other(&format!("{}?done=enabled", page_of(&path))))
}

/// `POST /admin/clients/{id}/delete` (`confirm` must be the client id).
pub(crate) async fn delete(
    state: web::Data<AppState>,
    Requester(info): Requester,
    path: web::Path<String>,
    Change { admin, form }: Change<ActionForm>,
) -> Result<HttpResponse, PageError> {
    state.registry().delete(&actor(&admin, info), &path, form.confirm.trim()).await?;
    Ok(see_other("/admin/clients?done=deleted"))
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(segment("web-app_1.x~"), "web-app_1.x~");
        assert_eq!(segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
    }
}
