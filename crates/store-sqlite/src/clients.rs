//! Registered clients in SQLite: lists as JSON arrays, instants as unix seconds.

use async_trait::async_trait;
use portcullis_store::{ClientRecord, ClientRepo, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::{SqliteStore, backend_err};

const COLUMNS: &str = "client_id, name, client_secret_sha256, redirect_uris, post_logout_redirect_uris, \
                       grant_types, token_endpoint_auth_method, scopes, require_consent, backchannel_logout_uri, \
                       jwks, id_token_signed_response_alg, access_token_ttl_secs, from_config, created_at, updated_at";

const INSERT: &str = "INSERT INTO clients (client_id, name, client_secret_sha256, redirect_uris, \
                      post_logout_redirect_uris, grant_types, token_endpoint_auth_method, scopes, require_consent, \
                      backchannel_logout_uri, jwks, id_token_signed_response_alg, access_token_ttl_secs, \
                      from_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("clients.{what}"))
}

fn list(row: &SqliteRow, column: &str) -> Result<Vec<String>, StoreError> {
    let raw: String = row.get(column);
    serde_json::from_str(&raw).map_err(|_| corrupt(column))
}

fn instant(row: &SqliteRow, column: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(row.get(column)).map_err(|_| corrupt(column))
}

fn record(row: &SqliteRow) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        client_id: row.get("client_id"),
        name: row.get("name"),
        client_secret_sha256: row.get("client_secret_sha256"),
        redirect_uris: list(row, "redirect_uris")?,
        post_logout_redirect_uris: list(row, "post_logout_redirect_uris")?,
        grant_types: list(row, "grant_types")?,
        token_endpoint_auth_method: row.get("token_endpoint_auth_method"),
        scopes: list(row, "scopes")?,
        require_consent: row.get("require_consent"),
        backchannel_logout_uri: row.get("backchannel_logout_uri"),
        jwks: row.get("jwks"),
        id_token_signed_response_alg: row.get("id_token_signed_response_alg"),
        access_token_ttl_secs: row.get("access_token_ttl_secs"),
        from_config: row.get("from_config"),
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn json(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn bind_all<'q>(
    sql: &'q str,
    c: &ClientRecord,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.client_id.clone())
        .bind(c.name.clone())
        .bind(c.client_secret_sha256.clone())
        .bind(json(&c.redirect_uris))
        .bind(json(&c.post_logout_redirect_uris))
        .bind(json(&c.grant_types))
        .bind(c.token_endpoint_auth_method.clone())
        .bind(json(&c.scopes))
        .bind(c.require_consent)
        .bind(c.backchannel_logout_uri.clone())
        .bind(c.jwks.clone())
        .bind(c.id_token_signed_response_alg.clone())
        .bind(c.access_token_ttl_secs)
        .bind(c.from_config)
        .bind(c.created_at.unix_timestamp())
        .bind(c.updated_at.unix_timestamp())
}

#[async_trait]
impl ClientRepo for SqliteStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let done = bind_all(INSERT, client).execute(self.write_pool()).await;
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
        let done = bind_all(&sql, client).execute(self.write_pool()).await;
        self.clients_generation.advance();
        done.map_err(backend_err)?;
        Ok(())
    }

    async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_optional(self.pool())
            .await
            .map_err(backend_err)?;
        row.as_ref().map(record).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY client_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await.map_err(backend_err)?;
        rows.iter().map(record).collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(self.write_pool())
            .await;
        self.clients_generation.advance();
        let done = done.map_err(backend_err)?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    fn clients_generation(&self) -> u64 {
        self.clients_generation.get()
    }
}
