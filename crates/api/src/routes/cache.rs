//! Cache endpoints (`api-v1.md` §4.21): statistics and invalidation per account, per instance
//! and for all active instances (memory or Redis backend).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use wf_domain::AppError;
use wf_store::entity::instance;

use crate::cache::{account_prefix, instance_prefix};
use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::{ApiResult, PublicError};
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

/// `GET /cache/stats` (login).
#[utoipa::path(get, path = "/api/v1/cache/stats", tag = "cache", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn stats(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    Ok(ok(
        "缓存统计获取成功",
        json!({"stats": st.cache.stats().await}),
    ))
}

fn int_field(body: &Payload, k: &str) -> Option<i64> {
    match body.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn instance_of(
    st: &AppState,
    id: i64,
    public: &str,
) -> Result<instance::Model, crate::error::ApiError> {
    let found = match i32::try_from(id) {
        Ok(i) => instance::Entity::find_by_id(i)
            .one(&st.db)
            .await
            .public(public)?,
        Err(_) => None,
    };
    found.ok_or_else(|| AppError::not_found("实例不存在").into())
}

/// `POST /cache/clear/user` — one account of one instance.
#[utoipa::path(post, path = "/api/v1/cache/clear/user", tag = "cache", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn clear_user(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "admin", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    let (Some(id), Some(username)) = (int_field(&body, "instance_id"), body.trimmed("username"))
    else {
        return Err(AppError::validation("缺少必要参数: instance_id 和 username").into());
    };
    let inst = instance_of(&st, id, "清除用户缓存失败").await?;
    st.cache
        .invalidate_prefix(&account_prefix(inst.id, &username))
        .await
        .map_err(|_| AppError::conflict("用户缓存清除失败"))?;
    Ok(ok_empty("用户缓存清除成功"))
}

/// `POST /cache/clear/instance`.
#[utoipa::path(post, path = "/api/v1/cache/clear/instance", tag = "cache", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn clear_instance(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "admin", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    let id = int_field(&body, "instance_id")
        .ok_or_else(|| AppError::validation("缺少必要参数: instance_id"))?;
    let inst = instance_of(&st, id, "清除实例缓存失败").await?;
    st.cache
        .invalidate_prefix(&instance_prefix(inst.id))
        .await
        .map_err(|_| AppError::conflict("实例缓存清除失败"))?;
    Ok(ok_empty("实例缓存清除成功"))
}

/// `POST /cache/clear/all` — every active instance.
#[utoipa::path(post, path = "/api/v1/cache/clear/all", tag = "cache", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn clear_all(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "admin", Some(&body)).await?;
    let rows = instance::Entity::find()
        .filter(instance::Column::IsActive.eq(true))
        .all(&st.db)
        .await
        .public("清除所有缓存失败")?;
    let mut cleared = 0;
    for i in rows {
        match st.cache.invalidate_prefix(&instance_prefix(i.id)).await {
            Ok(_) => cleared += 1,
            Err(e) => tracing::warn!(instance = i.id, error = %e, "cache clear failed"),
        }
    }
    Ok(ok(
        &format!("已清除 {cleared} 个实例的缓存"),
        json!({"cleared_count": cleared}),
    ))
}
