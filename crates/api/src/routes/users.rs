//! Users (`api-v1.md` §4.18). Rules (password policy, roles, last active admin) live in
//! `wf_services::users`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::users::{self as svc, UserPage, UserStats, UserView};
use wf_store::repo::users::{UserFilter, UserSort};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::{created, ok, ok_empty};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// User routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/stats", get(stats))
        .route(
            "/api/v1/users/{user_id}",
            get(detail).put(update).delete(delete),
        )
}

/// `{user}`.
#[derive(Serialize, ToSchema)]
pub struct UserData {
    pub user: UserView,
}

/// `GET /users`.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "users_list", responses((status = 200, body = UserPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = UserFilter {
        search: q.trimmed("search"),
        role: q.trimmed("role"),
        active: q.status(),
    };
    let sort = match q.sort().as_str() {
        "id" => UserSort::Id,
        "username" => UserSort::Username,
        "role" => UserSort::Role,
        "is_active" => UserSort::IsActive,
        _ => UserSort::CreatedAt,
    };
    let desc = !q
        .get("order")
        .is_some_and(|o| o.trim().eq_ignore_ascii_case("asc"));
    let page = svc::list(&st.svc, &f, sort, desc, q.page(), q.page_size(10, 200)).await?;
    Ok(ok("获取用户列表成功", &page))
}

/// `POST /users`.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "users_create", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = UserData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let user = svc::create(&st.svc, &body).await?;
    Ok(created("用户创建成功", &UserData { user }))
}

/// `GET /users/{user_id}`.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users_detail",
    params(("user_id" = i64, Path)), responses((status = 200, body = UserData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let user = svc::detail(&st.svc, id.one()).await?;
    Ok(ok("获取用户信息成功", &UserData { user }))
}

/// `PUT /users/{user_id}` — partial update.
#[utoipa::path(put, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users_update",
    params(("user_id" = i64, Path)), request_body = crate::openapi::JsonObject, responses((status = 200, body = UserData)))]
pub async fn update(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let user = svc::update(&st.svc, id.one(), &body).await?;
    Ok(ok("用户更新成功", &UserData { user }))
}

/// `DELETE /users/{user_id}` — hard delete.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", operation_id = "users_delete",
    params(("user_id" = i64, Path)), responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn delete(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    let me = ctx
        .authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    svc::delete(&st.svc, me.id, id.one()).await?;
    Ok(ok_empty("用户删除成功"))
}

/// `GET /users/stats`.
#[utoipa::path(get, path = "/api/v1/users/stats", tag = "users", operation_id = "users_stats", responses((status = 200, body = UserStats)))]
pub async fn stats(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok("获取用户统计成功", &svc::stats(&st.svc).await?))
}
