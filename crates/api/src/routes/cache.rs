//! Cache endpoints (`api-v1.md` §4.21): statistics and invalidation per account, per instance
//! and for all active instances (memory or Redis backend).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use wf_domain::body::int_value;
use wf_domain::{AppError, Permission};
use wf_services::options as svc;

use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Cache routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cache/stats", get(stats))
        .route("/api/v1/cache/clear/user", post(clear_user))
        .route("/api/v1/cache/clear/instance", post(clear_instance))
        .route("/api/v1/cache/clear/all", post(clear_all))
}

/// `{stats}`: backend, key counts and hit ratios (free-form per backend).
#[derive(Serialize, ToSchema)]
pub struct CacheStats {
    #[schema(value_type = Object)]
    pub stats: Value,
}

/// `{cleared_count}`.
#[derive(Serialize, ToSchema)]
pub struct CacheCleared {
    pub cleared_count: usize,
}

/// `GET /cache/stats` (login).
#[utoipa::path(get, path = "/api/v1/cache/stats", tag = "cache", operation_id = "cache_stats", responses((status = 200, body = CacheStats)))]
pub async fn stats(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    Ok(ok(
        "缓存统计获取成功",
        &CacheStats {
            stats: st.svc.cache().stats().await,
        },
    ))
}

fn instance_id(body: &wf_domain::Body) -> Option<i64> {
    body.get("instance_id").and_then(int_value)
}

/// `POST /cache/clear/user` — one account of one instance.
#[utoipa::path(post, path = "/api/v1/cache/clear/user", tag = "cache", operation_id = "cache_clear_user",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn clear_user(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Admin, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    let (Some(id), Some(username)) = (instance_id(&body), body.trimmed("username")) else {
        return Err(AppError::validation("缺少必要参数: instance_id 和 username").into());
    };
    svc::clear_account_cache(&st.svc, id, &username).await?;
    Ok(ok_empty("用户缓存清除成功"))
}

/// `POST /cache/clear/instance`.
#[utoipa::path(post, path = "/api/v1/cache/clear/instance", tag = "cache", operation_id = "cache_clear_instance",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn clear_instance(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Admin, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    let id = instance_id(&body).ok_or_else(|| AppError::validation("缺少必要参数: instance_id"))?;
    svc::clear_instance_cache(&st.svc, id).await?;
    Ok(ok_empty("实例缓存清除成功"))
}

/// `POST /cache/clear/all` — every active instance.
#[utoipa::path(post, path = "/api/v1/cache/clear/all", tag = "cache", operation_id = "cache_clear_all",
    responses((status = 200, body = CacheCleared)))]
pub async fn clear_all(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Admin, Some(&body))
        .await?;
    let cleared_count = svc::clear_all_caches(&st.svc).await?;
    Ok(ok(
        &format!("已清除 {cleared_count} 个实例的缓存"),
        &CacheCleared { cleared_count },
    ))
}
