//! Conversion between the typed [`Client`] and the stored [`ClientRecord`].

use portcullis_store::ClientRecord;
use time::OffsetDateTime;

use crate::{
    Client, ClientId, ClientSecretHash, GrantType, IdTokenAlg, ModelError, Origin, PreviousSecret,
    RedirectUri, ResourceId, ScopeSet, TokenEndpointAuthMethod,
};

fn uris(raw: &[String]) -> Result<Vec<RedirectUri>, ModelError> {
    raw.iter().map(|u| RedirectUri::parse(u)).collect()
}

impl Client {
    /// Parses and validates a stored client.
    pub fn from_record(r: &ClientRecord) -> Result<Self, ModelError> {
        let client = Client {
            client_id: ClientId::parse(&r.client_id)?,
            name: r.name.clone(),
            client_secret_sha256: r
                .client_secret_sha256
                .as_deref()
                .map(ClientSecretHash::from_hex)
                .transpose()?,
            redirect_uris: uris(&r.redirect_uris)?,
            post_logout_redirect_uris: uris(&r.post_logout_redirect_uris)?,
            grant_types: r.grant_types.iter().map(|g| GrantType::parse(g)).collect::<Result<_, _>>()?,
            token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&r.token_endpoint_auth_method)?,
            scopes: ScopeSet::from_tokens(r.scopes.iter().map(String::as_str))?,
            require_consent: r.require_consent,
            backchannel_logout_uri: r
                .backchannel_logout_uri
                .as_deref()
                .map(|u| url::Url::parse(u).map_err(|_| ModelError::RedirectUri))
                .transpose()?,
            id_token_signed_response_alg: IdTokenAlg::parse(&r.id_token_signed_response_alg)?,
            jwks: r.jwks.clone(),
            access_token_ttl_secs: u32::try_from(r.access_token_ttl_secs)
                .map_err(|_| ModelError::Inconsistent("access_token_ttl out of range"))?,
            from_config: r.from_config,
            previous_secret: match (&r.previous_secret_sha256, r.previous_secret_expires_at) {
                (Some(hash), Some(until)) => {
                    Some(PreviousSecret { hash: ClientSecretHash::from_hex(hash)?, until })
                }
                (None, _) => None,
                (Some(_), None) => return Err(ModelError::Inconsistent("a previous secret needs its end")),
            },
            disabled: r.disabled,
            admin_api: r.admin_api,
            allowed_origins: r.allowed_origins.iter().map(|o| Origin::parse(o)).collect::<Result<_, _>>()?,
            dpop_bound_access_tokens: r.dpop_bound_access_tokens,
            require_pushed_authorization_requests: r.require_pushed_authorization_requests,
            resources: r.resources.iter().map(|o| ResourceId::parse(o)).collect::<Result<_, _>>()?,
        };
        client.validate()?;
        Ok(client)
    }

    /// The row to store, stamped `at` (created and updated).
    pub fn to_record(&self, at: OffsetDateTime) -> ClientRecord {
        ClientRecord {
            client_id: self.client_id.as_str().to_owned(),
            name: self.name.clone(),
            client_secret_sha256: self.client_secret_sha256.as_ref().map(ClientSecretHash::to_hex),
            redirect_uris: self.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect(),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            grant_types: self.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            token_endpoint_auth_method: self.token_endpoint_auth_method.as_str().to_owned(),
            scopes: self.scopes.iter().map(str::to_owned).collect(),
            require_consent: self.require_consent,
            backchannel_logout_uri: self.backchannel_logout_uri.as_ref().map(|u| u.as_str().to_owned()),
            id_token_signed_response_alg: self.id_token_signed_response_alg.as_str().to_owned(),
            jwks: self.jwks.clone(),
            access_token_ttl_secs: i64::from(self.access_token_ttl_secs),
            from_config: self.from_config,
            previous_secret_sha256: self.previous_secret.as_ref().map(|p| p.hash.to_hex()),
            previous_secret_expires_at: self.previous_secret.as_ref().map(|p| p.until),
            disabled: self.disabled,
            admin_api: self.admin_api,
            allowed_origins: self.allowed_origins.iter().map(|o| o.as_str().to_owned()).collect(),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            resources: self.resources.iter().map(|r| r.as_str().to_owned()).collect(),
            created_at: at,
            updated_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Client;
    use crate::client::tests::{confidential, public};
    use time::macros::datetime;

    #[test]
    fn clients_round_trip_through_records() {
        let rotated = Client {
            previous_secret: Some(crate::PreviousSecret {
                hash: crate::ClientSecretHash::of("old"),
                until: datetime!(2026-01-01 00:05 UTC),
            }),
            disabled: true,
            admin_api: true,
            allowed_origins: vec![crate::Origin::parse("https://app.rp.example").expect("origin")],
            dpop_bound_access_tokens: true,
            ..confidential()
        };
        for client in [confidential(), public(), rotated] {
            let record = client.to_record(datetime!(2026-01-01 00:00 UTC));
            assert_eq!(Client::from_record(&record).expect("valid record"), client);
        }
    }

    #[test]
    fn a_bad_record_is_refused_not_trusted() {
        let mut record = confidential().to_record(datetime!(2026-01-01 00:00 UTC));
        record.grant_types.push("implicit".into());
        assert!(Client::from_record(&record).is_err());
        let mut record = confidential().to_record(datetime!(2026-01-01 00:00 UTC));
        record.client_secret_sha256 = None;
        assert!(Client::from_record(&record).is_err(), "client_secret_basic needs a secret");
        let mut record = confidential().to_record(datetime!(2026-01-01 00:00 UTC));
        record.access_token_ttl_secs = -1;
        assert!(Client::from_record(&record).is_err());
        let mut record = confidential().to_record(datetime!(2026-01-01 00:00 UTC));
        record.allowed_origins.push("https://app.rp.example/".into());
        assert!(Client::from_record(&record).is_err(), "an origin with a path");
    }
}
