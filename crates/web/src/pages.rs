//! Server-rendered pages (askama, `web/templates/`); their errors are
//! answered by [`crate::errors::PageError`].

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use askama::Template;

use crate::errors::PageError;
use crate::headers::csp_allowing_redirect_to;

#[derive(Template)]
#[template(path = "pages/login.html")]
pub(crate) struct LoginPage<'a> {
    pub(crate) csrf_token: &'a str,
    /// The pending authorization request this sign-in resumes, if any.
    pub(crate) request: &'a str,
    /// The account page a re-authentication returns to, if any.
    pub(crate) return_to: &'a str,
    /// The username to prefill (`login_hint`, or what was typed).
    pub(crate) username: &'a str,
    pub(crate) message: Option<&'a str>,
    pub(crate) notice: Option<&'a str>,
    /// Whether passkeys work here (the issuer's host is a domain name).
    pub(crate) passkeys: bool,
    /// Offer "Email me a sign-in link" (`recovery.magic_link` and mail available).
    pub(crate) magic_link: bool,
    /// "Continue with …", one per upstream provider.
    pub(crate) upstreams: Vec<UpstreamButton>,
}

/// Goes on to `to` (a local path) by a new navigation, not a redirect: the
/// answer to an upstream's callback. The sign-in form at the upstream
/// started a navigation whose redirects its CSP `form-action` governs to
/// the end (in Chromium); a redirect from here on to a relying party on
/// another origin would be blocked by it. A refresh is a navigation of its
/// own.
#[derive(Template)]
#[template(path = "pages/continue.html")]
pub(crate) struct ContinuePage<'a> {
    pub(crate) to: &'a str,
}

/// A "Continue with …" link on the sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamButton {
    /// `/login/upstream/{id}`, with the pending request and return path.
    pub(crate) href: String,
    /// The provider's display name.
    pub(crate) label: String,
}

/// An upstream identity linked to the account, as the account page lists it.
#[derive(Debug, Clone)]
pub(crate) struct LinkedView {
    pub(crate) provider: String,
    pub(crate) email: String,
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) linked: String,
    pub(crate) last_used: String,
}

#[derive(Template)]
#[template(path = "pages/second_factor.html")]
pub(crate) struct SecondFactorPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) request: &'a str,
    pub(crate) totp: bool,
    pub(crate) recovery: bool,
    pub(crate) passkey: bool,
    /// The user has no second factor: offer enrollment.
    pub(crate) enroll: bool,
    pub(crate) message: Option<&'a str>,
}

/// A passkey row on the account page.
pub(crate) struct PasskeyView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) created: String,
    pub(crate) last_used: String,
}

/// An authenticator-app enrollment in progress.
pub(crate) struct EnrollmentView {
    pub(crate) qr_data_uri: String,
    pub(crate) secret: String,
}

/// A session row on the account page.
pub(crate) struct SessionView {
    pub(crate) sid: String,
    pub(crate) current: bool,
    pub(crate) created: String,
    pub(crate) last_seen: String,
    pub(crate) ip: String,
    pub(crate) user_agent: String,
    /// The upstream provider it signed in through (its display name), if any.
    pub(crate) via: String,
}

#[derive(Template)]
#[template(path = "pages/account.html")]
pub(crate) struct AccountPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) username: &'a str,
    /// A pending authorization request to continue after enrollment.
    pub(crate) request: &'a str,
    pub(crate) enroll_required: bool,
    /// The session may only enroll a second factor (the rest is hidden).
    pub(crate) enroll_only: bool,
    pub(crate) can_continue: bool,
    pub(crate) notice: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    pub(crate) passkeys_enabled: bool,
    pub(crate) passkeys: Vec<PasskeyView>,
    pub(crate) totp_enabled: bool,
    pub(crate) enrollment: Option<EnrollmentView>,
    pub(crate) has_factor: bool,
    pub(crate) recovery_left: u64,
    pub(crate) sessions: Vec<SessionView>,
    /// The clients holding the user's consent or tokens.
    pub(crate) apps: Vec<AppView>,
    /// The upstream identities linked to the account.
    pub(crate) linked: Vec<LinkedView>,
    /// The upstreams that may be linked: `(id, display name)`.
    pub(crate) linkable: Vec<(String, String)>,
    /// Whether changes are allowed without confirming again.
    pub(crate) recent: bool,
    /// Whether a new password needs no current password (a recent second
    /// factor or passkey).
    pub(crate) password_confirmed: bool,
    pub(crate) min_length: usize,
}

#[derive(Template)]
#[template(path = "pages/recovery_codes.html")]
pub(crate) struct RecoveryCodesPage<'a> {
    pub(crate) codes: &'a [String],
    pub(crate) request: &'a str,
    pub(crate) first: bool,
    pub(crate) csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/landing.html")]
pub(crate) struct LandingPage<'a> {
    pub(crate) signed_in_as: Option<&'a str>,
    pub(crate) csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/logout.html")]
pub(crate) struct LogoutPage<'a> {
    pub(crate) csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "pages/consent.html")]
pub(crate) struct ConsentPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) request: &'a str,
    pub(crate) client_name: &'a str,
    pub(crate) scopes: &'a [String],
}

/// The stage of `/device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceStage {
    /// Type the code.
    Enter,
    /// Approve or deny.
    Confirm,
    /// Approved: back to the device.
    Approved,
    /// Denied.
    Denied,
    /// Too many wrong codes.
    Refused,
}

#[derive(Template)]
#[template(path = "pages/device.html")]
pub(crate) struct DevicePage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) stage: DeviceStage,
    /// The code (as typed, or as shown `XXXX-XXXX` once found).
    pub(crate) user_code: String,
    pub(crate) client_name: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) message: Option<&'a str>,
}

impl<'a> DevicePage<'a> {
    /// The code form, filled with `user_code`, saying `message`.
    pub(crate) fn enter(csrf_token: &'a str, user_code: &str, message: Option<&'a str>) -> Self {
        let user_code = user_code.chars().take(32).collect();
        let (client_name, scopes) = (String::new(), Vec::new());
        Self { csrf_token, stage: DeviceStage::Enter, user_code, client_name, scopes, message }
    }

    /// Too many wrong codes.
    pub(crate) fn refused(csrf_token: &'a str, message: &'a str) -> Self {
        Self { stage: DeviceStage::Refused, ..Self::enter(csrf_token, "", Some(message)) }
    }

    /// Approve or deny `prompt`, whose scopes read `scopes`.
    pub(crate) fn confirm(
        csrf_token: &'a str,
        prompt: &portcullis_protocol::device::verify::DevicePrompt,
        scopes: Vec<String>,
    ) -> Self {
        Self {
            csrf_token,
            stage: DeviceStage::Confirm,
            user_code: prompt.user_code.clone(),
            client_name: prompt.client.name.clone(),
            scopes,
            message: None,
        }
    }

    /// The decision on `prompt` is made.
    pub(crate) fn done(
        csrf_token: &'a str,
        prompt: &portcullis_protocol::device::verify::DevicePrompt,
        approved: bool,
    ) -> Self {
        let stage = if approved { DeviceStage::Approved } else { DeviceStage::Denied };
        Self { stage, scopes: Vec::new(), ..Self::confirm(csrf_token, prompt, Vec::new()) }
    }
}

#[derive(Template)]
#[template(path = "pages/end_session.html")]
pub(crate) struct EndSessionPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) client_name: Option<&'a str>,
    pub(crate) notice: Option<&'a str>,
    pub(crate) id_token_hint: &'a str,
    pub(crate) post_logout_redirect_uri: &'a str,
    pub(crate) state: &'a str,
    pub(crate) client_id: &'a str,
}

#[derive(Template)]
#[template(path = "pages/signed_out.html")]
pub(crate) struct SignedOutPage<'a> {
    pub(crate) client_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
pub(crate) struct SetupPage<'a> {
    pub(crate) csrf_token: &'a str,
    pub(crate) token: &'a str,
    pub(crate) username: &'a str,
    pub(crate) email: &'a str,
    pub(crate) min_length: usize,
    pub(crate) message: Option<&'a str>,
}

/// Sets `Retry-After` to the seconds from `now` until `until` (at least 1).
pub(crate) fn retry_after(res: &mut HttpResponse, until: time::OffsetDateTime, now: time::OffsetDateTime) {
    let wait = (until - now).whole_seconds().max(1);
    if let Ok(value) = wait.to_string().parse() {
        res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
    }
}

/// Renders `page` with `status`.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, PageError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status).content_type(ContentType::html()).body(html))
}

/// [`render`] for a page whose form may end in a redirect to `target` (a
/// verified redirect URI): its CSP's `form-action` allows that target too
/// (see [`csp_allowing_redirect_to`]).
pub(crate) fn render_redirecting(
    status: StatusCode,
    page: &impl Template,
    target: Option<&url::Url>,
) -> Result<HttpResponse, PageError> {
    let mut res = render(status, page)?;
    if let Some(csp) = target.and_then(csp_allowing_redirect_to) {
        res.headers_mut().insert(actix_web::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(res)
}

/// A connected app on the account page.
pub(crate) struct AppView {
    pub(crate) client_id: String,
    pub(crate) name: String,
    pub(crate) scopes: String,
    pub(crate) since: String,
}
