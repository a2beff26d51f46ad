//! Mailed single-use tokens, and the "mail me a link" requests (one of the
//! job queues, see [`super::Queue`]) the mail worker turns into them.
//!
//! Consuming is a conditional `UPDATE … RETURNING` inside a write
//! transaction: of two concurrent uses, the second finds the token used
//! (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: it waits for the first's row lock).

use super::{
    Db, Exec, Lock, Queue, Row, Tx, effects::apply, grants::end_access, outbox::insert_mails, users::found,
};
use crate::{
    Effects, EmailToken, EmailTokenPurpose, EmailTokenRepo, LinkRequestRow, NewMail, StoreError,
    normalise_login,
};
use async_trait::async_trait;
use portcullis_core::random::hex_id;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! columns {
    () => {
        "token_hash, purpose, user_id, new_email, session_hash, created_at, expires_at, used_at, account_stamp"
    };
}

/// The columns a claim of link requests returns.
pub const LINK_REQUEST_COLUMNS: &str =
    "id, purpose, user_id, session_hash, resume, ip, user_agent, created_at";

const INSERT: &str =
    concat!("INSERT INTO email_tokens (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
const FIND: &str =
    concat!("SELECT ", columns!(), " FROM email_tokens WHERE token_hash = $1 AND purpose = $2");
/// A live token of the purpose, issued under the account's current
/// security stamp (if it was bound to one).
const CONSUME: &str = concat!(
    "UPDATE email_tokens SET used_at = $1
     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
       AND (account_stamp IS NULL
            OR account_stamp = (SELECT security_stamp FROM users WHERE users.id = email_tokens.user_id))
     RETURNING ",
    columns!()
);
/// `$5`: the link was bound to the account's security stamp (an
/// invitation), which any email change replaces — so using it proved the
/// current address: it is verified.
const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1, security_stamp = $2, updated_at = $3,
         email_verified = CASE WHEN $5 THEN TRUE ELSE email_verified END
     WHERE id = $4";
const USE_SIGN_IN_LINKS: &str = "UPDATE email_tokens SET used_at = $1
     WHERE user_id = $2 AND purpose IN ('reset', 'magic_link') AND used_at IS NULL";
const SET_EMAIL: &str =
    "UPDATE users SET email = $1, email_norm = $2, email_verified = TRUE, security_stamp = $3,
                                         updated_at = $4
     WHERE id = $5";
const EMAIL_VERIFIED: &str = "UPDATE users SET email_verified = TRUE, updated_at = $1 WHERE id = $2";
const INSERT_LINK_REQUEST: &str = "INSERT INTO link_requests (id, purpose, user_id, session_hash, resume, ip,
                                                             user_agent, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const COMPLETE_LINK_REQUEST: &str = "DELETE FROM link_requests WHERE id = $1 RETURNING id";

fn token(row: &impl Row) -> Result<EmailToken, StoreError> {
    Ok(EmailToken {
        token_hash: row.text("token_hash")?,
        purpose: EmailTokenPurpose::parse(&row.text("purpose")?)?,
        user_id: row.uuid("user_id")?,
        new_email: row.opt_text("new_email")?,
        session_hash: row.opt_text("session_hash")?,
        created_at: row.at("created_at")?,
        expires_at: row.at("expires_at")?,
        used_at: row.opt_at("used_at")?,
        account_stamp: row.opt_text("account_stamp")?,
    })
}

fn link_request(row: &impl Row) -> Result<LinkRequestRow, StoreError> {
    Ok(LinkRequestRow {
        id: row.text("id")?,
        purpose: EmailTokenPurpose::parse(&row.text("purpose")?)?,
        user_id: row.opt_uuid("user_id")?,
        session_hash: row.opt_text("session_hash")?,
        resume: row.opt_text("resume")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        created_at: row.at("created_at")?,
    })
}

/// Marks a live token of `purpose` used on `db`; returns it, or `None`.
async fn consume(
    db: &mut impl Exec,
    token_hash: &str,
    purpose: EmailTokenPurpose,
    now: OffsetDateTime,
) -> Result<Option<EmailToken>, StoreError> {
    db.fetch_optional(CONSUME, args![now, token_hash, purpose.as_str()])
        .await?
        .as_ref()
        .map(token)
        .transpose()
}

pub(crate) async fn insert_token(db: &mut impl Exec, t: &EmailToken) -> Result<(), StoreError> {
    let args = args![
        &t.token_hash,
        t.purpose.as_str(),
        t.user_id,
        &t.new_email,
        &t.session_hash,
        t.created_at,
        t.expires_at,
        t.used_at,
        &t.account_stamp
    ];
    db.execute(INSERT, args).await.map(drop)
}

#[async_trait]
impl<D: Db> EmailTokenRepo for D {
    async fn create_email_token(&self, t: &EmailToken, mails: &[NewMail]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert_token(&mut tx, t).await?;
        insert_mails(&mut tx, mails, t.created_at).await?;
        tx.commit().await
    }

    async fn find_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
    ) -> Result<Option<EmailToken>, StoreError> {
        let row = self.reader().fetch_optional(FIND, args![token_hash, purpose.as_str()]).await?;
        row.as_ref().map(token).transpose()
    }

    async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<EmailToken>, StoreError> {
        let mut tx = self.begin().await?;
        let used = consume(&mut tx, token_hash, purpose, now).await?;
        tx.commit().await?;
        Ok(used)
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: OffsetDateTime,
        effects: &Effects<'_>,
    ) -> Result<Option<Uuid>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::Reset, now).await? else {
            return Ok(None);
        };
        let proves_address = t.account_stamp.is_some();
        found(
            tx.execute(SET_PASSWORD, args![password_hash, &hex_id(), now, t.user_id, proves_address]).await?,
        )?;
        end_access(&mut tx, t.user_id, None, now).await?;
        tx.execute(USE_SIGN_IN_LINKS, args![now, t.user_id]).await?;
        apply(&mut tx, effects, None, now).await?;
        tx.commit().await?;
        Ok(Some(t.user_id))
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
        mails: &[NewMail],
    ) -> Result<Option<Uuid>, StoreError> {
        let mut tx = self.begin().await?;
        let Some(t) = consume(&mut tx, token_hash, EmailTokenPurpose::VerifyEmail, now).await? else {
            return Ok(None);
        };
        let changed = match &t.new_email {
            Some(email) => {
                let (norm, stamp) = (normalise_login(email), hex_id());
                tx.execute(SET_EMAIL, args![email, &norm, &stamp, now, t.user_id]).await?
            }
            None => tx.execute(EMAIL_VERIFIED, args![now, t.user_id]).await?,
        };
        found(changed)?;
        insert_mails(&mut tx, mails, now).await?;
        tx.commit().await?;
        Ok(Some(t.user_id))
    }

    async fn create_link_request(&self, r: &LinkRequestRow) -> Result<(), StoreError> {
        let args = args![
            &r.id,
            r.purpose.as_str(),
            r.user_id,
            &r.session_hash,
            &r.resume,
            &r.ip,
            &r.user_agent,
            r.created_at
        ];
        self.writer().execute(INSERT_LINK_REQUEST, args).await.map(drop)
    }

    async fn claim_link_requests(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<LinkRequestRow>, StoreError> {
        let rows = super::claim(self, Queue::LinkRequests, now, lease_until, i64::from(limit)).await?;
        rows.iter().map(link_request).collect()
    }

    async fn complete_link_request(
        &self,
        id: &str,
        token: Option<&EmailToken>,
        mails: &[NewMail],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // The user's row first, as deleting the user locks it before its
        // cascade reaches this request: in the other order (this request,
        // then the token's foreign key on the user) a concurrent deletion
        // deadlocked with it on PostgreSQL.
        if let Some(t) = token {
            self.lock(&mut tx, Lock::User(t.user_id)).await?;
        }
        // Completed meanwhile by a worker whose lease had run out: nothing more.
        if tx.fetch_optional(COMPLETE_LINK_REQUEST, args![id]).await?.is_none() {
            return Ok(());
        }
        if let Some(t) = token {
            insert_token(&mut tx, t).await?;
            insert_mails(&mut tx, mails, t.created_at).await?;
        }
        tx.commit().await
    }

    async fn delete_expired_email_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.writer().execute("DELETE FROM email_tokens WHERE expires_at <= $1", args![now]).await
    }
}
