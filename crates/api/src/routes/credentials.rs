//! Credentials (`api-v1.md` §4.9): passwords encrypted at rest, only ever returned masked.
//! Rules and queries live in `wf_services::credentials`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::credentials::{self as svc, CredentialPage, CredentialView};
use wf_store::repo::credentials::{CredentialFilter, CredentialSort};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::{created, ok};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Credential routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credentials", get(list).post(create))
        .route(
            "/api/v1/credentials/{credential_id}",
            get(detail).put(update),
        )
        .route("/api/v1/credentials/{credential_id}/delete", post(delete))
}

/// `{credential}`.
#[derive(Serialize, ToSchema)]
pub struct CredentialData {
    pub credential: CredentialView,
}

/// `{credential_id}` of a delete.
#[derive(Serialize, ToSchema)]
pub struct CredentialDeleted {
    pub credential_id: i32,
}

/// `GET /credentials`.
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials", operation_id = "credentials_list",
    responses((status = 200, body = CredentialPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = CredentialFilter {
        search: q.trimmed("search"),
        credential_type: q.filter("credential_type"),
        db_type: q.filter("db_type"),
        active: q.status(),
        tags: q.all("tags"),
    };
    let sort = match q.sort().as_str() {
        "id" => CredentialSort::Id,
        "name" => CredentialSort::Name,
        "credential_type" => CredentialSort::CredentialType,
        "db_type" => CredentialSort::DbType,
        "username" => CredentialSort::Username,
        "is_active" => CredentialSort::IsActive,
        "instance_count" => CredentialSort::InstanceCount,
        _ => CredentialSort::CreatedAt,
    };
    let page = svc::list(
        &st.svc,
        &f,
        sort,
        q.desc(true),
        q.page(),
        q.page_size(20, 200),
    )
    .await?;
    Ok(ok("操作成功", &page))
}

/// `POST /credentials`.
#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials", operation_id = "credentials_create",
    request_body = crate::openapi::JsonObject, responses((status = 201, body = CredentialData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let credential = svc::create(&st.svc, &body.json_only()).await?;
    Ok(created("数据保存成功", &CredentialData { credential }))
}

/// `GET /credentials/{credential_id}`.
#[utoipa::path(get, path = "/api/v1/credentials/{credential_id}", tag = "credentials", operation_id = "credentials_detail",
    params(("credential_id" = i64, Path)), responses((status = 200, body = CredentialData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let credential = svc::detail(&st.svc, id.one()).await?;
    Ok(ok("操作成功", &CredentialData { credential }))
}

/// `PUT /credentials/{credential_id}`.
#[utoipa::path(put, path = "/api/v1/credentials/{credential_id}", tag = "credentials", operation_id = "credentials_update",
    params(("credential_id" = i64, Path)), request_body = crate::openapi::JsonObject,
    responses((status = 200, body = CredentialData)))]
pub async fn update(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let credential = svc::update(&st.svc, id.one(), &body.json_only()).await?;
    Ok(ok("数据更新成功", &CredentialData { credential }))
}

/// `POST /credentials/{credential_id}/delete` — hard delete; instances keep existing with
/// `credential_id` null.
#[utoipa::path(post, path = "/api/v1/credentials/{credential_id}/delete", tag = "credentials", operation_id = "credentials_delete",
    params(("credential_id" = i64, Path)), responses((status = 200, body = CredentialDeleted)))]
pub async fn delete(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    let credential_id = svc::delete(&st.svc, id.one()).await?;
    Ok(ok("数据删除成功", &CredentialDeleted { credential_id }))
}
