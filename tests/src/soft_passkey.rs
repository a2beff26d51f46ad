//! A software WebAuthn authenticator (ES256, `none` attestation, user
//! verification), for tests that drive passkey ceremonies without a
//! browser: it answers the options `webauthn-rs` produces with the JSON a
//! browser would post. The browser tests use Chromium's virtual
//! authenticator instead.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::Private;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One resident credential.
#[derive(Debug)]
pub struct SoftPasskey {
    key: EcKey<Private>,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    rp_id: String,
    origin: String,
    counter: u32,
    /// Report the credential as backup-eligible (a synced passkey).
    pub backup_eligible: bool,
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        n if n < 24 => out.push(0x40 | u8::try_from(n).unwrap_or(0)),
        n if n < 256 => out.extend([0x58, u8::try_from(n).unwrap_or(0)]),
        n => {
            out.push(0x59);
            out.extend(u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
    out.extend(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    out.push(0x60 | u8::try_from(text.len()).unwrap_or(0));
    out.extend(text.as_bytes());
}

fn challenge(options: &Value) -> String {
    options["publicKey"]["challenge"].as_str().expect("a challenge").to_owned()
}

impl SoftPasskey {
    /// A new credential for the relying party `rp_id` at `origin`.
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        Self {
            key: EcKey::generate(&group).expect("key"),
            credential_id: portcullis_core::random::bytes::<16>().to_vec(),
            user_handle: Vec::new(),
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            counter: 0,
            backup_eligible: false,
        }
    }

    fn flags(&self, attested: bool) -> u8 {
        // UP | UV, BE when synced, AT when attested credential data follows.
        0x01 | 0x04 | if self.backup_eligible { 0x08 } else { 0 } | if attested { 0x40 } else { 0 }
    }

    fn cose_key(&self) -> Vec<u8> {
        let group = self.key.group();
        let mut ctx = BigNumContext::new().expect("ctx");
        let point = self
            .key
            .public_key()
            .to_bytes(group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .expect("point");
        let (x, y) = point[1..].split_at(32);
        let mut out = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, x);
        out.push(0x22);
        cbor_bytes(&mut out, y);
        out
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// The browser's answer to registration `options`.
    pub fn register(&mut self, options: &Value) -> Value {
        let user_id = options["publicKey"]["user"]["id"].as_str().expect("a user id");
        self.user_handle = B64.decode(user_id.trim_end_matches('=')).expect("user handle");
        let client_data = self.client_data("webauthn.create", &challenge(options));
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend(u16::try_from(self.credential_id.len()).unwrap_or(0).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xA3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xA0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key", "extensions": {},
            "response": { "clientDataJSON": B64.encode(&client_data), "attestationObject": B64.encode(&attestation) },
        })
    }

    /// The browser's answer to (discoverable) authentication `options`.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", &challenge(options));
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(false));
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let digest = Sha256::digest(&signed);
        let signature = EcdsaSig::sign(&digest, &self.key).expect("sign").to_der().expect("der");
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id, "rawId": id, "type": "public-key", "extensions": {},
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(&signature),
                "userHandle": B64.encode(&self.user_handle),
            },
        })
    }
}
