//! Registered clients.

use super::{Db, Exec, Row, users::found};
use crate::{ClientRecord, ClientRepo, StoreError};
use async_trait::async_trait;

macro_rules! columns {
    () => {
        "client_id, name, client_secret_sha256, redirect_uris, post_logout_redirect_uris, grant_types, \
         token_endpoint_auth_method, scopes, require_consent, backchannel_logout_uri, jwks, \
         id_token_signed_response_alg, access_token_ttl_secs, from_config, created_at, updated_at"
    };
}

macro_rules! insert {
    () => {
        concat!(
            "INSERT INTO clients (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
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
       updated_at = excluded.updated_at"
);
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM clients WHERE client_id = $1");
const ALL: &str = concat!("SELECT ", columns!(), " FROM clients ORDER BY client_id");

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
        created_at: row.at("created_at")?,
        updated_at: row.at("updated_at")?,
    })
}

/// Writes `c` with `sql` (insert or upsert); the client cache's counter
/// advances whatever the outcome.
async fn write<D: Db>(db: &D, sql: &'static str, c: &ClientRecord) -> Result<u64, StoreError> {
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
        c.created_at,
        c.updated_at
    ];
    let _changed = db.clients_counter().on_drop();
    db.writer().execute(sql, args).await
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

    fn clients_generation(&self) -> u64 {
        self.clients_counter().get()
    }
}
