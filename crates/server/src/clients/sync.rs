//! Syncs `[[clients]]` into the store at start: each declared client is
//! upserted and marked `from_config`; clients created at run time are untouched.

use portcullis_store::Store;
use time::OffsetDateTime;

use crate::settings::Settings;

/// Upserts every configuration-declared client; returns how many.
pub(crate) async fn sync_config_clients(
    store: &dyn Store,
    settings: &Settings,
    now: OffsetDateTime,
) -> Result<usize, String> {
    for (i, declared) in settings.clients.iter().enumerate() {
        // Settings::load validated every entry already; this only fails for
        // settings built in code without validation.
        let client = declared.to_client().map_err(|e| format!("clients[{i}]: {e}"))?;
        store
            .upsert_client(&client.to_record(now))
            .await
            .map_err(|e| format!("cannot store client {}: {e}", client.client_id))?;
    }
    Ok(settings.clients.len())
}
