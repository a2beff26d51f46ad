//! Registered clients.

use super::{
    Db, Exec, Row, Tx, count,
    effects::{apply, write_one},
    users::found,
};
use crate::{ClientRecord, ClientRepo, Effects, EndedAccess, StoreError};
use async_trait::async_trait;
use time::OffsetDateTime;

macro_rules! columns {
    () => {
        "client_id, name, client_secret_sha256, redirect_uris, post_logout_redirect_uris, grant_types, \
         token_endpoint_auth_method, scopes, require_consent, backchannel_logout_uri, jwks, \
         id_token_signed_response_alg, access_token_ttl_secs, from_config, previous_secret_sha256, \
         previous_secret_expires_at, disabled, admin_api, allowed_origins, dpop_bound_access_tokens, \
         require_pushed_authorization_requests, resources, created_at, updated_at"
    };
}

macro_rules! insert {
    () => {
        concat!(
            "INSERT INTO clients (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, $24)"
        )
    };
}

const INSERT: &str = insert!();
const UPSERT: &str = concat!(
    insert!(),
    " ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
       client_secret_sha256 = excluded.client_secret_sha256, redirect_uris = excluded.redirect_uris,
       post_logout_redirect_uris = excluded.post_logout_redirect_uris, grant_types = excluded.grant_types,
       token_endpoint_auth_method = excluded.token_endpoint_auth_method, scopes = excluded.scopes,
       require_consent = excluded.require_consent, backchannel_logout_uri = excluded.backchannel_logout_uri,
       jwks = excluded.jwks, id_token_signed_response_alg = excluded.id_token_signed_response_alg,
       access_token_ttl_secs = excluded.access_token_ttl_secs, from_config = excluded.from_config,
       previous_secret_sha256 = excluded.previous_secret_sha256,
       previous_secret_expires_at = excluded.previous_secret_expires_at, disabled = excluded.disabled,
       admin_api = excluded.admin_api, allowed_origins = excluded.allowed_origins,
       dpop_bound_access_tokens = excluded.dpop_bound_access_tokens,
       require_pushed_authorization_requests = excluded.require_pushed_authorization_requests,
       resources = excluded.resources,
       updated_at = excluded.updated_at"
);
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM clients WHERE client_id = $1");
const ALL: &str = concat!("SELECT ", columns!(), " FROM clients ORDER BY client_id");

// The run-time clients' changes: a client declared in configuration is
// never matched (the configuration is its source of truth).
/// The replaced secret overlaps with the new one until `$2`. (Every
/// right-hand side reads the row as it was before the update.)
const ROTATE_WITH_OVERLAP: &str = "UPDATE clients SET previous_secret_sha256 = client_secret_sha256,
       previous_secret_expires_at = $2, client_secret_sha256 = $1, updated_at = $3
     WHERE client_id = $4 AND NOT from_config AND client_secret_sha256 IS NOT NULL";
const ROTATE: &str = "UPDATE clients SET previous_secret_sha256 = NULL,
       previous_secret_expires_at = NULL, client_secret_sha256 = $1, updated_at = $2
     WHERE client_id = $3 AND NOT from_config AND client_secret_sha256 IS NOT NULL";
const SET_DISABLED: &str =
    "UPDATE clients SET disabled = $1, updated_at = $2 WHERE client_id = $3 AND NOT from_config";
const LIVE_GRANTS: &str = "SELECT COUNT(*) AS n FROM grants
     WHERE client_id = $1 AND revoked_at IS NULL AND expires_at > $2";
/// Grants (with their codes and refresh tokens), consents and pending
/// requests go with it (`ON DELETE CASCADE`).
const UNREGISTER: &str = "DELETE FROM clients WHERE client_id = $1 AND NOT from_config";

fn record(row: &impl Row) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        client_id: row.text("client_id")?,
        name: row.text("name")?,
        client_secret_sha256: row.opt_text("client_secret_sha256")?,
        redirect_uris: row.list("redirect_uris")?,
        post_logout_redirect_uris: row.list("post_logout_redirect_uris")?,
        grant_types: row.list("grant_types")?,
        token_endpoint_auth_method: row.text("token_endpoint_auth_method")?,
        scopes: row.list("scopes")?,
        require_consent: row.flag("require_consent")?,
        backchannel_logout_uri: row.opt_text("backchannel_logout_uri")?,
        jwks: row.opt_text("jwks")?,
        id_token_signed_response_alg: row.text("id_token_signed_response_alg")?,
        access_token_ttl_secs: row.int("access_token_ttl_secs")?,
        from_config: row.flag("from_config")?,
        previous_secret_sha256: row.opt_text("previous_secret_sha256")?,
        previous_secret_expires_at: row.opt_at("previous_secret_expires_at")?,
        disabled: row.flag("disabled")?,
        admin_api: row.flag("admin_api")?,
        allowed_origins: row.list("allowed_origins")?,
        dpop_bound_access_tokens: row.flag("dpop_bound_access_tokens")?,
        require_pushed_authorization_requests: row.flag("require_pushed_authorization_requests")?,
        resources: row.list("resources")?,
        created_at: row.at("created_at")?,
        updated_at: row.at("updated_at")?,
    })
}

/// Runs `sql` (insert or upsert) for `c` on `exec`.
async fn put(exec: &mut impl Exec, sql: &'static str, c: &ClientRecord) -> Result<u64, StoreError> {
    let args = args![
        &c.client_id,
        &c.name,
        &c.client_secret_sha256,
        &c.redirect_uris,
        &c.post_logout_redirect_uris,
        &c.grant_types,
        &c.token_endpoint_auth_method,
        &c.scopes,
        c.require_consent,
        &c.backchannel_logout_uri,
        &c.jwks,
        &c.id_token_signed_response_alg,
        c.access_token_ttl_secs,
        c.from_config,
        &c.previous_secret_sha256,
        c.previous_secret_expires_at,
        c.disabled,
        c.admin_api,
        &c.allowed_origins,
        c.dpop_bound_access_tokens,
        c.require_pushed_authorization_requests,
        &c.resources,
        c.created_at,
        c.updated_at
    ];
    exec.execute(sql, args).await
}

/// Writes `c` with `sql` (insert or upsert); the client cache's counter
/// advances whatever the outcome.
async fn write<D: Db>(db: &D, sql: &'static str, c: &ClientRecord) -> Result<u64, StoreError> {
    let _changed = db.clients_counter().on_drop();
    put(&mut db.writer(), sql, c).await
}

#[async_trait]
impl<D: Db> ClientRepo for D {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        write(self, INSERT, client).await.map(drop)
    }

    async fn upsert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        write(self, UPSERT, client).await.map(drop)
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.reader().fetch_optional(BY_ID, args![client_id]).await?.as_ref().map(record).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        self.reader().fetch_all(ALL, args![]).await?.iter().map(record).collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<(), StoreError> {
        let _changed = self.clients_counter().on_drop();
        found(self.writer().execute("DELETE FROM clients WHERE client_id = $1", args![client_id]).await?)
    }

    async fn register_client(&self, client: &ClientRecord, effects: &Effects<'_>) -> Result<(), StoreError> {
        let _changed = self.clients_counter().on_drop();
        let mut tx = self.begin().await?;
        put(&mut tx, INSERT, client).await?;
        apply(&mut tx, effects, None, client.created_at).await?;
        tx.commit().await
    }

    async fn rotate_client_secret(
        &self,
        client_id: &str,
        new_sha256: &str,
        previous_until: Option<OffsetDateTime>,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        let _changed = self.clients_counter().on_drop();
        let mut tx = self.begin().await?;
        let changed = match previous_until {
            Some(until) => tx.execute(ROTATE_WITH_OVERLAP, args![new_sha256, until, at, client_id]).await?,
            None => tx.execute(ROTATE, args![new_sha256, at, client_id]).await?,
        };
        found(changed)?;
        apply(&mut tx, effects, None, at).await?;
        tx.commit().await
    }

    async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        let _changed = self.clients_counter().on_drop();
        write_one(self, SET_DISABLED, args![disabled, at, client_id], at, effects).await
    }

    async fn unregister_client(
        &self,
        client_id: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<u64, StoreError> {
        let _changed = self.clients_counter().on_drop();
        let mut tx = self.begin().await?;
        let grants = count(tx.fetch_one(LIVE_GRANTS, args![client_id, at]).await?.int("n")?);
        found(tx.execute(UNREGISTER, args![client_id]).await?)?;
        apply(&mut tx, effects, Some(EndedAccess { sessions: 0, grants }), at).await?;
        tx.commit().await?;
        Ok(grants)
    }

    fn clients_generation(&self) -> u64 {
        self.clients_counter().get()
    }
}
