//! Passkeys (WebAuthn, through webauthn-rs): registration from the account
//! page and discoverable (usernameless) sign-in, with conditional UI.
//!
//! The relying-party id is the issuer's host and the origin its scheme,
//! host and port. Ceremony state is returned serialised for the caller to
//! keep server-side, bound to the browser session and taken once; it never
//! goes to the browser. User verification is required, so a passkey sign-in
//! is multi-factor on its own (possession + PIN or biometric).

use data_encoding::BASE64URL_NOPAD;
use portcullis_mailer::MailContext;
use portcullis_mailer::notify::{Notification, notification_mails};
use portcullis_store::{
    AuditOutcome, Effects, Enrollment, PasskeyRow, Rotation, SessionStateRepo, Store, Throttle, User,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};

use crate::audit::{RequestInfo, event, logged, record};
use crate::journey::Method;
use crate::signin::lockouts_started;
use crate::throttle::{Admission, ip_key, reserve};
use crate::{AuthnError, Lockouts};

/// The longest passkey name kept.
pub const MAX_NAME_CHARS: usize = 64;

/// The WebAuthn relying party of this issuer.
#[derive(Debug)]
pub struct Passkeys {
    webauthn: Webauthn,
}

/// A passkey registration, ready to store.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    /// The credential id, base64url.
    pub credential_id: String,
    /// The serialised credential.
    pub passkey: String,
    /// The credential may be copied between devices (backup-eligible).
    pub synced: bool,
}

/// How a passkey sign-in ended.
#[derive(Debug)]
pub enum PasskeyOutcome {
    /// A valid assertion by an enabled user's registered passkey.
    Success {
        /// Who signed in.
        user: Box<User>,
        /// A passkey, device-bound or synced (see [`Method::amr`]).
        method: Method,
    },
    /// Anything else (unknown credential, bad signature, stale challenge).
    Failed,
    /// The client IP is backing off.
    Refused {
        /// Until when.
        until: OffsetDateTime,
    },
}

fn invalid(e: impl std::fmt::Display) -> AuthnError {
    AuthnError::Passkey(e.to_string())
}

impl Passkeys {
    /// The relying party for `issuer`: `None`-like error when its host is
    /// not a domain (browsers refuse IP addresses as relying-party ids).
    pub fn new(issuer: &Url, rp_name: &str) -> Result<Self, AuthnError> {
        let rp_id = issuer.domain().ok_or_else(|| invalid("the issuer's host is not a domain name"))?;
        let origin = Url::parse(&issuer.origin().ascii_serialization()).map_err(invalid)?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .map_err(invalid)?
            .rp_name(rp_name)
            .build()
            .map_err(invalid)?;
        Ok(Self { webauthn })
    }

    /// Starts registering a passkey for `user`, excluding the ones they
    /// have. Returns the options for the browser and the state to keep.
    pub fn start_registration(
        &self,
        user: &User,
        existing: &[PasskeyRow],
    ) -> Result<(Value, String), AuthnError> {
        let exclude = existing
            .iter()
            .filter_map(|row| serde_json::from_str::<Passkey>(&row.passkey).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(user.id, &user.username, user.shown_name(), Some(exclude))
            .map_err(invalid)?;
        let mut options = serde_json::to_value(options).map_err(invalid)?;
        // A passkey must be discoverable for usernameless sign-in: ask for a
        // resident key (webauthn-rs leaves it to the authenticator).
        if let Some(selection) =
            options.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".into(), json!("required"));
            selection.insert("requireResidentKey".into(), json!(true));
        }
        Ok((options, serde_json::to_string(&state).map_err(invalid)?))
    }

    /// Verifies the browser's registration `response` against the kept `state`.
    pub fn finish_registration(&self, state: &str, response: &Value) -> Result<NewPasskey, AuthnError> {
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(invalid)?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(invalid)?;
        let passkey = self.webauthn.finish_passkey_registration(&response, &state).map_err(invalid)?;
        let serialised = serde_json::to_value(&passkey).map_err(invalid)?;
        let synced = serialised.pointer("/cred/backup_eligible").and_then(Value::as_bool).unwrap_or(false);
        Ok(NewPasskey {
            credential_id: BASE64URL_NOPAD.encode(passkey.cred_id().as_ref()),
            passkey: serialised.to_string(),
            synced,
        })
    }

    /// Starts a discoverable sign-in (conditional UI or the button).
    pub fn start_signin(&self) -> Result<(Value, String), AuthnError> {
        let (options, state) = self.webauthn.start_discoverable_authentication().map_err(invalid)?;
        Ok((serde_json::to_value(options).map_err(invalid)?, serde_json::to_string(&state).map_err(invalid)?))
    }

    /// Verifies an assertion: the credential must be registered, belong to
    /// the user handle it names, and sign the kept challenge with user
    /// verification. Returns the stored row, its updated credential and amr.
    fn verify(
        &self,
        state: &str,
        response: &Value,
        stored: Option<PasskeyRow>,
    ) -> Result<(PasskeyRow, String, Method), AuthnError> {
        let state: DiscoverableAuthentication = serde_json::from_str(state).map_err(invalid)?;
        let response: PublicKeyCredential = serde_json::from_value(response.clone()).map_err(invalid)?;
        let (user_handle, _) =
            self.webauthn.identify_discoverable_authentication(&response).map_err(invalid)?;
        let row = stored.ok_or_else(|| invalid("unknown credential"))?;
        if row.user_id != user_handle {
            return Err(invalid("the credential belongs to another user"));
        }
        let mut passkey: Passkey = serde_json::from_str(&row.passkey).map_err(invalid)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&response, state, &passkey)
            .map_err(invalid)?;
        if !result.user_verified() {
            return Err(invalid("the authenticator did not verify the user"));
        }
        passkey.update_credential(&result);
        let method = Method::Passkey { synced: result.backup_eligible() };
        let updated = serde_json::to_string(&passkey).map_err(invalid)?;
        Ok((row, updated, method))
    }
}

/// Session-state kinds of the two ceremonies.
const SIGNIN_STATE: &str = "passkey_signin";
const REGISTER_STATE: &str = "passkey_register";
/// How long a ceremony may take (WebAuthn's recommended timeout).
const CEREMONY_WINDOW: time::Duration = time::Duration::minutes(5);

impl Passkeys {
    /// Starts a discoverable sign-in for the browser session `session_hash`
    /// (its state kept server-side, bound to the session, taken once);
    /// returns the options for the browser.
    #[tracing::instrument(skip_all)]
    pub async fn begin_signin(
        &self,
        states: &dyn SessionStateRepo,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Value, AuthnError> {
        let (options, ceremony) = self.start_signin()?;
        states.put_session_state(session_hash, SIGNIN_STATE, &ceremony, now + CEREMONY_WINDOW).await?;
        Ok(options)
    }

    /// Takes the kept state of the session's sign-in ceremony (once).
    pub(crate) async fn take_signin(
        states: &dyn SessionStateRepo,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, AuthnError> {
        Ok(states.take_session_state(session_hash, SIGNIN_STATE, now).await?)
    }

    /// Starts registering a passkey for `user` in the session `session_hash`;
    /// returns the options for the browser.
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn begin_registration(
        &self,
        store: &dyn Store,
        states: &dyn SessionStateRepo,
        session_hash: &str,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<Value, AuthnError> {
        let existing = store.list_passkeys(user.id).await?;
        let (options, ceremony) = self.start_registration(user, &existing)?;
        states.put_session_state(session_hash, REGISTER_STATE, &ceremony, now + CEREMONY_WINDOW).await?;
        Ok(options)
    }

    /// Finishes the session's registration ceremony: verifies `response`
    /// against the kept state (taken once), stores the passkey as `name`
    /// and audits it. `CeremonyExpired` without a kept state, `Passkey` for
    /// a refused response, `Taken` for a credential registered already.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_registration_for(
        &self,
        store: &dyn Store,
        states: &dyn SessionStateRepo,
        session_hash: &str,
        user: &User,
        name: &str,
        response: &Value,
        now: OffsetDateTime,
        request: &RequestInfo,
    ) -> Result<(PasskeyRow, Method), AuthnError> {
        let (new, method) = self.verified_registration(states, session_hash, response, now).await?;
        let row = register(store, user, name, new, now, request, With::default()).await?;
        Ok((row, method))
    }

    /// The session's registration ceremony, verified: `response` checked
    /// against the kept state (taken once); nothing stored yet.
    /// `CeremonyExpired` without a kept state, `Passkey` for a refused response.
    pub(crate) async fn verified_registration(
        &self,
        states: &dyn SessionStateRepo,
        session_hash: &str,
        response: &Value,
        now: OffsetDateTime,
    ) -> Result<(NewPasskey, Method), AuthnError> {
        let ceremony = states
            .take_session_state(session_hash, REGISTER_STATE, now)
            .await?
            .ok_or(AuthnError::CeremonyExpired)?;
        let new = self.finish_registration(&ceremony, response)?;
        let method = Method::Passkey { synced: new.synced };
        Ok((new, method))
    }
}

/// The credential id a browser's assertion names, base64url (to look it up).
pub fn credential_id_of(response: &Value) -> Option<String> {
    let raw = response.get("rawId").or_else(|| response.get("id"))?.as_str()?;
    let bytes = BASE64URL_NOPAD.decode(raw.trim_end_matches('=').as_bytes()).ok()?;
    Some(BASE64URL_NOPAD.encode(&bytes))
}

/// What a new passkey's transaction writes besides the passkey and its
/// audit event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct With<'a> {
    /// Queue the "passkey added" notice (product name and links).
    pub notice: Option<&'a MailContext>,
    /// Give the acting session a new id.
    pub rotate: Option<Rotation<'a>>,
}

/// Stores a verified registration under `name` with its `passkey.added`
/// audit event and what `with` asks for, in one store transaction.
/// `Taken` for a credential registered already.
pub(crate) async fn register(
    store: &dyn Store,
    user: &User,
    name: &str,
    new: NewPasskey,
    now: OffsetDateTime,
    request: &RequestInfo,
    with: With<'_>,
) -> Result<PasskeyRow, AuthnError> {
    let name: String = name.trim().chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    let row = PasskeyRow {
        id: Uuid::new_v4(),
        user_id: user.id,
        credential_id: new.credential_id,
        name: if name.is_empty() { "Passkey".to_owned() } else { name },
        passkey: new.passkey,
        created_at: now,
        last_used_at: None,
    };
    let mails = match with.notice {
        Some(mail) => notification_mails(mail, user, &Notification::PasskeyAdded { name: row.name.clone() })?,
        None => Vec::new(),
    };
    let detail = json!({ "passkey_id": row.id, "name": row.name });
    let audit = [event(now, "passkey.added", AuditOutcome::Success, Some(user.id), request, detail)];
    let effects = Effects { audit: &audit, mails: &mails, rotate: with.rotate };
    store.enroll_factor(user.id, Enrollment::Passkey(&row), now, &effects).await?;
    logged(&audit, None);
    Ok(row)
}

/// One passkey sign-in attempt: a reservation on the client IP's counter
/// first, then verification; a failure keeps it (an assertion cannot be
/// guessed, so the IP's is the only counter).
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)] // the journey's parts, as finish_registration_for
pub async fn sign_in(
    passkeys: &Passkeys,
    store: &dyn Store,
    throttle: &dyn Throttle,
    lockouts: &Lockouts,
    state: &str,
    response: &Value,
    now: OffsetDateTime,
    request: &RequestInfo,
) -> Result<PasskeyOutcome, AuthnError> {
    let counters: Vec<_> = request.ip.as_deref().map(|ip| (ip_key(ip), &lockouts.ip)).into_iter().collect();
    let attempt = match reserve(throttle, &counters, now).await? {
        Admission::Admitted(attempt) => attempt,
        Admission::Refused { until } => return Ok(PasskeyOutcome::Refused { until }),
    };
    let stored = match credential_id_of(response) {
        Some(id) => store.find_passkey_by_credential(&id).await?,
        None => None,
    };
    let verified = passkeys.verify(state, response, stored);
    let user = match &verified {
        Ok((row, _, _)) => store.find_user(row.user_id).await?.filter(|u| !u.disabled),
        Err(_) => None,
    };
    match (verified, user) {
        (Ok((row, updated, method)), Some(user)) => {
            store.record_passkey_use(row.id, &updated, now).await?;
            attempt.succeeded(&[]).await?;
            let detail = json!({ "method": "passkey", "passkey_id": row.id });
            record(store, now, "signin.success", AuditOutcome::Success, Some(user.id), request, detail).await;
            Ok(PasskeyOutcome::Success { user: Box::new(user), method })
        }
        (verified, _) => {
            let why = verified.err().map_or_else(|| "disabled user".to_owned(), |e| e.to_string());
            tracing::info!(reason = %why, "passkey sign-in failed");
            let detail = json!({ "method": "passkey" });
            record(store, now, "signin.failure", AuditOutcome::Failure, None, request, detail).await;
            lockouts_started(store, attempt.failed(), None, request, now).await;
            Ok(PasskeyOutcome::Failed)
        }
    }
}
