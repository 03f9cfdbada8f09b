//! Cache endpoints (`api-v1.md` §4.21): statistics and invalidation per account, per instance
//! and for all active instances (memory or Redis backend).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use wf_domain::body::int_value;
use wf_domain::{AppError, Permission};
use wf_services::classification_cache::{self, ClassificationCacheStats};
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
        .route(
            "/api/v1/cache/classification/clear",
            post(clear_classification),
        )
        .route(
            "/api/v1/cache/classification/clear/{db_type}",
            post(clear_classification_db_type),
        )
        .route(
            "/api/v1/cache/classification/stats",
            get(classification_stats),
        )
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

/// `POST /cache/classification/clear` — the whole classification rule cache.
#[utoipa::path(post, path = "/api/v1/cache/classification/clear", tag = "cache", operation_id = "cache_classification_clear",
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn clear_classification(
    State(st): State<AppState>,
    ctx: Ctx,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    classification_cache::clear(&st.svc).await?;
    Ok(ok_empty("分类缓存已清除"))
}

/// `POST /cache/classification/clear/{db_type}` — one engine's rule entry (case-insensitive).
#[utoipa::path(post, path = "/api/v1/cache/classification/clear/{db_type}", tag = "cache",
    operation_id = "cache_classification_clear_db_type", params(("db_type" = String, Path)),
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn clear_classification_db_type(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(db_type): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    classification_cache::clear_db_type(&st.svc, &db_type).await?;
    Ok(ok_empty(&format!("数据库类型 {db_type} 缓存已清除")))
}

/// `GET /cache/classification/stats` — backend state and the cached rules per db type.
#[utoipa::path(get, path = "/api/v1/cache/classification/stats", tag = "cache", operation_id = "cache_classification_stats",
    responses((status = 200, body = ClassificationCacheStats)))]
pub async fn classification_stats(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let stats = classification_cache::stats(&st.svc).await;
    Ok(ok("分类缓存统计获取成功", &stats))
}
