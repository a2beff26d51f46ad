//! Linked upstream identities.

use super::{Db, Exec, Row, effects::write_one, users::found};
use crate::{Effects, StoreError, UpstreamIdentity, UpstreamRepo};
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! columns {
    () => {
        "issuer, subject, upstream_id, user_id, email, linked_at, last_sign_in_at"
    };
}

/// Inserts nothing for an unknown user (`NotFound`); a linked identity
/// violates the primary key (`Conflict`).
const LINK: &str = "INSERT INTO upstream_identities
        (issuer, subject, upstream_id, user_id, email, linked_at, last_sign_in_at)
     SELECT $1, $2, $3, u.id, $5, $6, $7 FROM users u WHERE u.id = $4";
const UNLINK: &str = "DELETE FROM upstream_identities WHERE issuer = $1 AND subject = $2 AND user_id = $3";
const SIGNED_IN: &str =
    "UPDATE upstream_identities SET last_sign_in_at = $1 WHERE issuer = $2 AND subject = $3";
const BY_IDENTITY: &str =
    concat!("SELECT ", columns!(), " FROM upstream_identities WHERE issuer = $1 AND subject = $2");
/// `upstream_identities_user`; ties (links made in one second) by identity.
const OF_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM upstream_identities WHERE user_id = $1 ORDER BY linked_at, issuer, subject"
);

fn identity(row: &impl Row) -> Result<UpstreamIdentity, StoreError> {
    Ok(UpstreamIdentity {
        issuer: row.text("issuer")?,
        subject: row.text("subject")?,
        upstream_id: row.text("upstream_id")?,
        user_id: row.uuid("user_id")?,
        email: row.opt_text("email")?,
        linked_at: row.at("linked_at")?,
        last_sign_in_at: row.opt_at("last_sign_in_at")?,
    })
}

#[async_trait]
impl<D: Db> UpstreamRepo for D {
    async fn find_upstream_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<UpstreamIdentity>, StoreError> {
        self.reader()
            .fetch_optional(BY_IDENTITY, args![issuer, subject])
            .await?
            .as_ref()
            .map(identity)
            .transpose()
    }

    async fn link_upstream_identity(
        &self,
        i: &UpstreamIdentity,
        effects: &Effects<'_>,
    ) -> Result<(), StoreError> {
        let args =
            args![&i.issuer, &i.subject, &i.upstream_id, i.user_id, &i.email, i.linked_at, i.last_sign_in_at];
        write_one(self, LINK, args, i.linked_at, effects).await
    }

    async fn unlink_upstream_identity(
        &self,
        user_id: Uuid,
        issuer: &str,
        subject: &str,
        at: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<bool, StoreError> {
        match write_one(self, UNLINK, args![issuer, subject, user_id], at, effects).await {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn record_upstream_sign_in(
        &self,
        issuer: &str,
        subject: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        found(self.writer().execute(SIGNED_IN, args![at, issuer, subject]).await?)
    }

    async fn user_upstream_identities(&self, user_id: Uuid) -> Result<Vec<UpstreamIdentity>, StoreError> {
        self.reader().fetch_all(OF_USER, args![user_id]).await?.iter().map(identity).collect()
    }
}
