//! `groups`: list, create, read, rename (`If-Match`), delete; members in
//! and out. A group's name is a value of the `groups` claim of its members.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use portcullis_authn::admin::{GroupDetail, group_version};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, IfMatch, List, PageQuery, instant, list_schema, tagged, uuid};
use crate::AppState;
use crate::errors::AdminApiError;

super::api_routes! {
    GET "/groups" => list,
    POST "/groups" => create,
    GET "/groups/{id}" => show,
    PATCH "/groups/{id}" => rename,
    DELETE "/groups/{id}" => delete,
    PUT "/groups/{id}/members/{user_id}" => add_member,
    DELETE "/groups/{id}/members/{user_id}" => remove_member,
}

type Answer = Result<HttpResponse, AdminApiError>;

/// A group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GroupOut {
    id: Uuid,
    /// Unique, case-insensitively; the value in members' `groups` claim.
    name: String,
    /// The members' user ids.
    members: Vec<Uuid>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&GroupDetail> for GroupOut {
    fn from(d: &GroupDetail) -> Self {
        Self {
            id: d.group.id,
            name: d.group.name.clone(),
            members: d.members.iter().map(|u| u.id).collect(),
            created_at: instant(d.group.created_at),
        }
    }
}

list_schema!(GroupList, GroupOut);

/// A group's name (to create it, or rename it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupIn {
    /// 1–64 characters.
    name: String,
}

/// Whether a membership changed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Membership {
    /// True if this call changed it (false: it already was so).
    changed: bool,
}

fn tagged_group(status: StatusCode, detail: &GroupDetail) -> HttpResponse {
    tagged(status, &GroupOut::from(detail), &group_version(&detail.group, &detail.members))
}

/// Lists groups by name.
#[utoipa::path(get, path = "/admin/api/v1/groups", tag = "groups", params(PageQuery),
    responses((status = 200, description = "A page of groups", body = GroupList)))]
pub(crate) async fn list(state: web::Data<AppState>, _caller: Caller, page: web::Query<PageQuery>) -> Answer {
    let (limit, after) = (page.limit()?, page.after("groups")?);
    let groups = state.admin().groups().list_with_members().await?;
    let (items, next) =
        super::page_of(groups, |g| g.group.name.to_lowercase(), after.as_deref(), limit, "groups");
    Ok(HttpResponse::Ok().json(List { items: items.iter().map(GroupOut::from).collect(), next }))
}

/// Creates a group.
#[utoipa::path(post, path = "/admin/api/v1/groups", tag = "groups", request_body = GroupIn,
    responses((status = 201, description = "Created", body = GroupOut,
        headers(("ETag" = String, description = "The group's version")))))]
pub(crate) async fn create(state: web::Data<AppState>, caller: Caller, body: web::Json<GroupIn>) -> Answer {
    let group = state.admin().groups().create_group(caller.by(), &body.name, &caller.info).await?;
    Ok(tagged_group(StatusCode::CREATED, &GroupDetail { group, members: Vec::new() }))
}

/// Reads a group (with its `ETag`).
#[utoipa::path(get, path = "/admin/api/v1/groups/{id}", tag = "groups", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The group", body = GroupOut,
        headers(("ETag" = String, description = "The group's version: send it as If-Match to rename it")))))]
pub(crate) async fn show(state: web::Data<AppState>, _caller: Caller, id: web::Path<String>) -> Answer {
    let detail = state.admin().groups().detail(uuid(&id)?).await?;
    Ok(tagged_group(StatusCode::OK, &detail))
}

/// Renames a group — only from the version `If-Match` names.
#[utoipa::path(patch, path = "/admin/api/v1/groups/{id}", tag = "groups", request_body = GroupIn,
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "The ETag this change is based on")),
    responses((status = 200, description = "The group as renamed", body = GroupOut,
        headers(("ETag" = String, description = "The new version")))))]
pub(crate) async fn rename(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    IfMatch(version): IfMatch,
    body: web::Json<GroupIn>,
) -> Answer {
    let id = uuid(&id)?;
    let groups = state.admin().groups();
    let renamed = groups.rename_group_detail(caller.by(), id, &body.name, &version, &caller.info).await?;
    Ok(tagged_group(StatusCode::OK, &renamed))
}

/// Deletes a group and its memberships.
#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}", tag = "groups", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    state.admin().groups().delete_group(caller.by(), uuid(&id)?, &caller.info).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes a user a member of the group.
#[utoipa::path(put, path = "/admin/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, description = "A member", body = Membership)))]
pub(crate) async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, user) = (uuid(&path.0)?, uuid(&path.1)?);
    let changed = state.admin().groups().add_user(caller.by(), id, user, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Membership { changed }))
}

/// Takes a user out of the group.
#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 200, description = "Not a member", body = Membership)))]
pub(crate) async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Answer {
    let (id, user) = (uuid(&path.0)?, uuid(&path.1)?);
    let changed = state.admin().groups().remove_member(caller.by(), id, user, &caller.info).await?;
    Ok(HttpResponse::Ok().json(Membership { changed }))
}
