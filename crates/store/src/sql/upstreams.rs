//! Linked upstream identities.

use super::{Db, Exec, Lock, Row, Tx, effects::apply, effects::write_one, groups, users, users::found};
use crate::{
    Effects, StoreError, UpstreamGrants, UpstreamIdentity, UpstreamRepo, UpstreamSignIn, User,
    normalise_login,
};
use async_trait::async_trait;
use serde_json::{Value, json};
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
/// The grants of the last sign-in, replaced by this one's; no row when the
/// identity is not linked.
const GRANTED: &str = "SELECT granted FROM upstream_identities WHERE issuer = $1 AND subject = $2";
const SIGNED_IN_WITH: &str = "UPDATE upstream_identities SET last_sign_in_at = $1, granted = $2
     WHERE issuer = $3 AND subject = $4";
const BY_IDENTITY: &str =
    concat!("SELECT ", columns!(), " FROM upstream_identities WHERE issuer = $1 AND subject = $2");
/// `upstream_identities_user`; ties (links made in one second) by identity.
const OF_USER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM upstream_identities WHERE user_id = $1 ORDER BY linked_at, issuer, subject"
);

/// `{"roles": [...], "groups": [...]}`, as stored in `granted`.
fn grants_json(g: &UpstreamGrants) -> String {
    json!({ "roles": g.roles, "groups": g.groups }).to_string()
}

/// The stored `granted` text; what does not parse grants nothing.
fn grants_of(text: &str) -> UpstreamGrants {
    let value: Value = serde_json::from_str(text).unwrap_or_default();
    let list = |key: &str| -> Vec<String> {
        value[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
    };
    UpstreamGrants { roles: list("roles"), groups: list("groups") }
}

/// What the rules gave and still give: of `grants`, what `before` recorded
/// or the account did not hold yet (a role or group given by hand is not
/// the rules' to take away later).
fn given(grants: &[String], before: &[String], held: &[String]) -> Vec<String> {
    let held = |g: &String| held.iter().any(|h| normalise_login(h) == normalise_login(g));
    grants.iter().filter(|g| before.contains(g) || !held(g)).cloned().collect()
}

/// The account's roles after the rules' `given` replaced their `before`:
/// what only `before` gave is removed, the rest kept in order, then what
/// `given` gives added.
fn roles_after(roles: &[String], before: &[String], given: &[String]) -> Vec<String> {
    let mut after: Vec<String> =
        roles.iter().filter(|r| given.contains(r) || !before.contains(r)).cloned().collect();
    for role in given {
        if !after.contains(role) {
            after.push(role.clone());
        }
    }
    after
}

/// Makes the account's memberships follow the rules' `given` instead of
/// their `before`: leaves the groups only `before` gave, joins those
/// `given` gives (creating the ones that do not exist).
async fn follow_groups(
    tx: &mut impl Exec,
    user_id: Uuid,
    before: &[String],
    given: &[String],
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    for name in before.iter().filter(|g| !given.contains(g)) {
        if let Some(row) = tx.fetch_optional(groups::BY_NAME, args![&normalise_login(name)]).await? {
            let group = groups::group(&row)?;
            tx.execute(groups::REMOVE_MEMBER, args![group.id, user_id]).await?;
        }
    }
    for name in given {
        let group = match tx.fetch_optional(groups::BY_NAME, args![&normalise_login(name)]).await? {
            Some(row) => groups::group(&row)?,
            None => {
                let norm = normalise_login(name);
                groups::group(&tx.fetch_one(groups::INSERT, args![Uuid::new_v4(), name, &norm, at]).await?)?
            }
        };
        tx.execute(groups::ADD_MEMBER, args![group.id, user_id, at]).await?;
    }
    Ok(())
}

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

    async fn upstream_sign_in(
        &self,
        s: &UpstreamSignIn<'_>,
        effects: &Effects<'_>,
    ) -> Result<User, StoreError> {
        let i = s.identity;
        let mut tx = self.begin().await?;
        if let Some(new) = s.create {
            users::insert(&mut tx, new).await?;
        }
        self.lock(&mut tx, Lock::User(i.user_id)).await?;
        let before = if s.link {
            let args = args![&i.issuer, &i.subject, &i.upstream_id, i.user_id, &i.email, s.at, s.at];
            found(tx.execute(LINK, args).await?)?;
            UpstreamGrants::default()
        } else {
            let row = tx.fetch_one(GRANTED, args![&i.issuer, &i.subject]).await?;
            grants_of(&row.text("granted")?)
        };
        let user = users::user(&tx.fetch_one(users::BY_ID, args![i.user_id]).await?)?;
        let groups_held = tx.fetch_all(groups::OF_USER, args![i.user_id]).await?;
        let groups_held = groups_held.iter().map(|r| r.text("name")).collect::<Result<Vec<_>, _>>()?;
        let given = UpstreamGrants {
            roles: given(&s.grants.roles, &before.roles, &user.roles),
            groups: given(&s.grants.groups, &before.groups, &groups_held),
        };
        let recorded = grants_json(&given);
        found(tx.execute(SIGNED_IN_WITH, args![s.at, &recorded, &i.issuer, &i.subject]).await?)?;
        let roles = roles_after(&user.roles, &before.roles, &given.roles);
        if roles != user.roles {
            tx.execute(users::SET_ROLES, args![&roles, s.at, i.user_id]).await?;
        }
        follow_groups(&mut tx, i.user_id, &before.groups, &given.groups, s.at).await?;
        let user = users::user(&tx.fetch_one(users::BY_ID, args![i.user_id]).await?)?;
        apply(&mut tx, effects, None, s.at).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_upstream_identities(&self, user_id: Uuid) -> Result<Vec<UpstreamIdentity>, StoreError> {
        self.reader().fetch_all(OF_USER, args![user_id]).await?.iter().map(identity).collect()
    }
}
