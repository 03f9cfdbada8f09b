//! Common dropdown options (`api-v1.md` §4.5).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::{AppError, Permission};
use wf_services::options::{self as svc, DatabaseOptions, DbTypeOption, InstanceOption};

use super::Params;
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::state::AppState;

/// Common routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/common/instances/options", get(instance_options))
        .route("/api/v1/common/databases/options", get(database_options))
        .route(
            "/api/v1/common/database-types/options",
            get(database_type_options),
        )
}

/// `{instances}`.
#[derive(Serialize, ToSchema)]
pub struct InstanceOptions {
    pub instances: Vec<InstanceOption>,
}

/// `{options}`.
#[derive(Serialize, ToSchema)]
pub struct DbTypeOptions {
    pub options: Vec<DbTypeOption>,
}

/// `GET /common/instances/options` — active instances by name.
#[utoipa::path(get, path = "/api/v1/common/instances/options", tag = "common", operation_id = "common_instance_options",
    responses((status = 200, body = InstanceOptions)))]
pub async fn instance_options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let instances = svc::instances(&st.svc, q.trimmed("db_type").as_deref()).await?;
    Ok(ok("实例选项获取成功", &InstanceOptions { instances }))
}

/// `GET /common/databases/options` — inventory databases of one instance (`limit`/`offset`).
#[utoipa::path(get, path = "/api/v1/common/databases/options", tag = "common", operation_id = "common_database_options",
    responses((status = 200, body = DatabaseOptions)))]
pub async fn database_options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let iid = q
        .trimmed("instance_id")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v != 0)
        .ok_or_else(|| AppError::validation("instance_id 为必填参数"))?;
    let int = |k: &str, d: i64| {
        q.trimmed(k)
            .map(|v| v.parse::<i64>().ok().filter(|n| *n >= 0))
            .unwrap_or(Some(d))
    };
    let (Some(limit), Some(offset)) = (int("limit", 100), int("offset", 0)) else {
        return Err(AppError::validation("limit/offset 必须为整数").into());
    };
    let data = svc::databases(&st.svc, iid, limit as u64, offset as u64).await?;
    Ok(ok("数据库选项获取成功", &data))
}

/// `GET /common/database-types/options`.
#[utoipa::path(get, path = "/api/v1/common/database-types/options", tag = "common", operation_id = "common_database_type_options",
    responses((status = 200, body = DbTypeOptions)))]
pub async fn database_type_options(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok(
        "数据库类型选项获取成功",
        &DbTypeOptions {
            options: svc::db_types(),
        },
    ))
}
