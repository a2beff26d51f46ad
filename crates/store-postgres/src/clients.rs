//! Registered clients in PostgreSQL: lists as `TEXT[]`, instants to the second.

use async_trait::async_trait;
use portcullis_store::{ClientRecord, ClientRepo, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::users::to_second;
use crate::{PgStore, backend_err};

const COLUMNS: &str = "client_id, name, client_secret_sha256, redirect_uris, post_logout_redirect_uris, \
                       grant_types, token_endpoint_auth_method, scopes, require_consent, backchannel_logout_uri, \
                       jwks, id_token_signed_response_alg, access_token_ttl_secs, from_config, created_at, updated_at";

const INSERT: &str = "INSERT INTO clients (client_id, name, client_secret_sha256, redirect_uris, \
                      post_logout_redirect_uris, grant_types, token_endpoint_auth_method, scopes, require_consent, \
                      backchannel_logout_uri, jwks, id_token_signed_response_alg, access_token_ttl_secs, \
                      from_config, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

fn record(row: &PgRow) -> ClientRecord {
    ClientRecord {
        client_id: row.get("client_id"),
        name: row.get("name"),
        client_secret_sha256: row.get("client_secret_sha256"),
        redirect_uris: row.get("redirect_uris"),
        post_logout_redirect_uris: row.get("post_logout_redirect_uris"),
        grant_types: row.get("grant_types"),
        token_endpoint_auth_method: row.get("token_endpoint_auth_method"),
        scopes: row.get("scopes"),
        require_consent: row.get("require_consent"),
        backchannel_logout_uri: row.get("backchannel_logout_uri"),
        jwks: row.get("jwks"),
        id_token_signed_response_alg: row.get("id_token_signed_response_alg"),
        access_token_ttl_secs: row.get("access_token_ttl_secs"),
        from_config: row.get("from_config"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn bind_all<'q>(
    sql: &'q str,
    c: &ClientRecord,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.client_id.clone())
        .bind(c.name.clone())
        .bind(c.client_secret_sha256.clone())
        .bind(c.redirect_uris.clone())
        .bind(c.post_logout_redirect_uris.clone())
        .bind(c.grant_types.clone())
        .bind(c.token_endpoint_auth_method.clone())
        .bind(c.scopes.clone())
        .bind(c.require_consent)
        .bind(c.backchannel_logout_uri.clone())
        .bind(c.jwks.clone())
        .bind(c.id_token_signed_response_alg.clone())
        .bind(c.access_token_ttl_secs)
        .bind(c.from_config)
        .bind(to_second(c.created_at))
        .bind(to_second(c.updated_at))
}

#[async_trait]
impl ClientRepo for PgStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let done = bind_all(INSERT, client).execute(self.pool()).await;
        self.clients_generation.advance();
        done.map_err(backend_err)?;
        Ok(())
    }

    async fn upsert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let sql = format!(
            "{INSERT} ON CONFLICT (client_id) DO UPDATE SET name = excluded.name,
               client_secret_sha256 = excluded.client_secret_sha256, redirect_uris = excluded.redirect_uris,
               post_logout_redirect_uris = excluded.post_logout_redirect_uris, grant_types = excluded.grant_types,
               token_endpoint_auth_method = excluded.token_endpoint_auth_method, scopes = excluded.scopes,
               require_consent = excluded.require_consent, backchannel_logout_uri = excluded.backchannel_logout_uri,
               jwks = excluded.jwks,
               id_token_signed_response_alg = excluded.id_token_signed_response_alg,
               access_token_ttl_secs = excluded.access_token_ttl_secs, from_config = excluded.from_config,
               updated_at = excluded.updated_at"
        );
        let done = bind_all(&sql, client).execute(self.pool()).await;
        self.clients_generation.advance();
        done.map_err(backend_err)?;
        Ok(())
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        Ok(row.as_ref().map(record))
    }

    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY client_id COLLATE \"C\"");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.map_err(backend_err)?;
        Ok(rows.iter().map(record).collect())
    }

    async fn delete_client(&self, client_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(self.pool())
            .await;
        self.clients_generation.advance();
        let done = done.map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    fn clients_generation(&self) -> u64 {
        self.clients_generation.get()
    }
}
