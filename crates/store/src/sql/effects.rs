//! The writes that go with a change ([`crate::Effects`]), on its transaction.

use super::{Arg, Db, Exec, Tx, audit, outbox::insert_mails, sessions, users::found};
use crate::{Effects, EndedAccess, StoreError};
use time::OffsetDateTime;

/// Writes `effects` on `db` (the change's transaction): the audit events
/// (annotated with `ended` when the change ended access), the notices and
/// the session rotation.
pub(crate) async fn apply(
    db: &mut impl Exec,
    effects: &Effects<'_>,
    ended: Option<EndedAccess>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for event in effects.audit {
        match ended {
            Some(ended) => {
                let mut event = event.clone();
                ended.annotate(&mut event.detail);
                audit::record(db, &event).await?;
            }
            None => {
                audit::record(db, event).await?;
            }
        }
    }
    insert_mails(db, effects.mails, now).await?;
    if let Some(r) = effects.rotate {
        sessions::replace(db, r.old_id_hash, r.new).await?;
    }
    Ok(())
}

/// One statement that must change a row (`NotFound` otherwise: nothing
/// written) and its `effects`, in one transaction.
pub(crate) async fn write_one<D: Db>(
    db: &D,
    sql: &'static str,
    args: &[Arg<'_>],
    at: OffsetDateTime,
    effects: &Effects<'_>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    found(tx.execute(sql, args).await?)?;
    apply(&mut tx, effects, None, at).await?;
    tx.commit().await
}
