//! TOTP (RFC 6238) with the parameters every authenticator app understands:
//! HMAC-SHA-1, 6 digits, 30-second steps, ±1 step of clock drift. The
//! secret is sealed at rest under the key-encryption key, bound to its
//! user; a code is accepted at most once (the store keeps the last step).

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use portcullis_keys::Kek;
use portcullis_store::Store;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AuthnError;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps of drift accepted on either side of now.
pub const DRIFT_STEPS: i64 = 1;

/// A 160-bit TOTP secret (RFC 4226 recommends 160 bits).
#[derive(Clone)]
pub struct TotpSecret([u8; 20]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        Self(portcullis_core::random::bytes::<20>())
    }

    /// The secret as base32 (what authenticator apps take when typed).
    pub fn base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The code of time step `step`.
    pub fn code_at(&self, step: i64) -> u32 {
        code(&self.0, step)
    }

    /// The step at which `typed` is valid around `now` (±[`DRIFT_STEPS`]),
    /// compared in constant time; `None` when it is valid at none.
    pub fn matching_step(&self, typed: &str, now: OffsetDateTime) -> Option<i64> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now);
        let mut found = None;
        for step in (current - DRIFT_STEPS)..=(current + DRIFT_STEPS) {
            let expected = format!("{:0width$}", self.code_at(step), width = DIGITS as usize);
            if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) {
                found = found.or(Some(step));
            }
        }
        found
    }

    /// The `otpauth://` URI an app scans (issuer and account label).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| {
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.base32(),
            enc(issuer)
        )
    }

    fn seal(&self, kek: &Kek, user_id: Uuid) -> Result<String, AuthnError> {
        kek.seal(&sealing_id(user_id), &self.0).map_err(|e| AuthnError::Crypto(e.to_string()))
    }

    fn open(kek: &Kek, user_id: Uuid, sealed: &str) -> Result<Self, AuthnError> {
        let bytes = kek.open(&sealing_id(user_id), sealed).map_err(|e| AuthnError::Crypto(e.to_string()))?;
        let secret: [u8; 20] =
            bytes.try_into().map_err(|_| AuthnError::Crypto("a TOTP secret has the wrong length".into()))?;
        Ok(Self(secret))
    }
}

/// The sealing key id binds a secret to its user: a sealed secret copied to
/// another user's row does not open.
fn sealing_id(user_id: Uuid) -> String {
    format!("totp:{user_id}")
}

/// The time step of `at`.
pub fn step_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(STEP_SECS)
}

/// RFC 4226 HOTP with RFC 6238's counter.
fn code(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10_u32.pow(DIGITS)
}

/// The QR code of `text` as an SVG document (rendered server-side; no script).
pub fn qr_svg(text: &str) -> Result<String, AuthnError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| AuthnError::Crypto(e.to_string()))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// An enrollment in progress, to show: the QR code, the typed form of the
/// secret and the URI.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The secret, base32, grouped by four for reading.
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// The QR code of the URI, SVG.
    pub qr_svg: String,
}

fn enrollment(secret: &TotpSecret, issuer: &str, account: &str) -> Result<Enrollment, AuthnError> {
    let uri = secret.otpauth_uri(issuer, account);
    let b32 = secret.base32();
    let grouped =
        b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
    Ok(Enrollment { secret: grouped.join(" "), qr_svg: qr_svg(&uri)?, uri })
}

/// TOTP operations over the store, with the key that seals secrets.
#[derive(Debug, Clone, Copy)]
pub struct Totp<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Seals and opens secrets.
    pub kek: &'a Kek,
    /// The issuer name shown in the app.
    pub issuer: &'a str,
}

/// The state of a user's authenticator app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpState {
    /// Not set up.
    None,
    /// Set up but not yet confirmed by a first code (does not count).
    Pending,
    /// Confirmed: a second factor.
    Enabled,
}

impl Totp<'_> {
    /// Where the user's enrollment stands.
    pub async fn state(&self, user_id: Uuid) -> Result<TotpState, AuthnError> {
        Ok(match self.store.find_totp(user_id).await? {
            None => TotpState::None,
            Some(row) if row.confirmed_at.is_some() => TotpState::Enabled,
            Some(_) => TotpState::Pending,
        })
    }

    /// Starts (or restarts) enrollment with a new secret, stored sealed and
    /// unconfirmed. Fails with `Taken` when an app is already enabled.
    pub async fn begin(
        &self,
        user_id: Uuid,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Enrollment, AuthnError> {
        let secret = TotpSecret::generate();
        self.store.begin_totp(user_id, &secret.seal(self.kek, user_id)?, now).await?;
        enrollment(&secret, self.issuer, account)
    }

    /// The enrollment in progress, to show again (the same secret).
    pub async fn pending(&self, user_id: Uuid, account: &str) -> Result<Option<Enrollment>, AuthnError> {
        let Some(row) = self.store.find_totp(user_id).await?.filter(|r| r.confirmed_at.is_none()) else {
            return Ok(None);
        };
        let secret = TotpSecret::open(self.kek, user_id, &row.secret_sealed)?;
        enrollment(&secret, self.issuer, account).map(Some)
    }

    /// Checks `typed` against the user's secret (the pending one when
    /// `confirming`, which then confirms it). True at most once per step.
    pub async fn check(
        &self,
        user_id: Uuid,
        typed: &str,
        confirming: bool,
        now: OffsetDateTime,
    ) -> Result<bool, AuthnError> {
        let Some(step) = self.matching_step(user_id, typed, confirming, now).await? else {
            return Ok(false);
        };
        Ok(self.store.accept_totp_step(user_id, step, confirming, now).await?)
    }

    /// The time step at which `typed` is valid for the user's secret (the
    /// pending one when `confirming`), without accepting it: the caller
    /// accepts it in the transaction of its effect.
    pub async fn matching_step(
        &self,
        user_id: Uuid,
        typed: &str,
        confirming: bool,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, AuthnError> {
        let Some(row) = self.store.find_totp(user_id).await? else { return Ok(None) };
        if row.confirmed_at.is_some() == confirming {
            return Ok(None);
        }
        let secret = TotpSecret::open(self.kek, user_id, &row.secret_sealed)?;
        Ok(secret.matching_step(typed, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (8 digits there; the last 6 here).
    #[test]
    fn rfc6238_vectors() {
        let secret = TotpSecret(*b"12345678901234567890");
        for (t, expected) in
            [(59, 287082), (1111111109, 81804), (1111111111, 50471), (1234567890, 5924), (2000000000, 279037)]
        {
            assert_eq!(secret.code_at(t / STEP_SECS), expected, "t={t}");
        }
    }

    #[test]
    fn drift_of_one_step_and_no_more() {
        let secret = TotpSecret::generate();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("instant");
        let step = step_of(now);
        let code = |s| format!("{:06}", secret.code_at(s));
        assert_eq!(secret.matching_step(&code(step), now), Some(step));
        assert_eq!(secret.matching_step(&code(step - 1), now), Some(step - 1));
        assert_eq!(secret.matching_step(&code(step + 1), now), Some(step + 1));
        assert_eq!(secret.matching_step(&code(step + 2), now), None);
        assert_eq!(secret.matching_step(&code(step - 2), now), None);
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("abcdef", now), None);
    }

    #[test]
    fn uri_and_qr() {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri("Portcullis", "alice@example.com");
        assert!(uri.starts_with("otpauth://totp/Portcullis:alice%40example.com?secret="), "{uri}");
        assert!(uri.contains(&secret.base32()));
        let svg = qr_svg(&uri).expect("qr");
        assert!(svg.contains("<svg"), "{svg}");
    }

    #[test]
    fn sealed_secret_opens_only_for_its_user() {
        let kek = Kek::generate();
        let secret = TotpSecret::generate();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = secret.seal(&kek, alice).expect("seal");
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(TotpSecret::open(&kek, alice, &sealed).expect("open").0, secret.0);
        assert!(TotpSecret::open(&kek, bob, &sealed).is_err());
    }
}
