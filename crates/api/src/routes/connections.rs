//! Connections (`api-v1.md` §4.8): connection tests (existing instance or ad-hoc parameters),
//! parameter validation, batch tests and derived connection status. The probes live in
//! `wf_services::connection`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::json;
use wf_domain::body::int_value;
use wf_domain::{AppError, Permission};
use wf_services::connection::{
    self as svc, BatchTestResult, ConnectionResult, ConnectionStatus, TestFailure, TestTarget,
};

use super::Ids;
use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::{ApiError, ApiResult};
use crate::payload::Payload;
use crate::state::AppState;

/// Connection routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connections/actions/test", post(test))
        .route(
            "/api/v1/connections/actions/validate-params",
            post(validate_params),
        )
        .route("/api/v1/connections/actions/batch-test", post(batch_test))
        .route("/api/v1/connections/status/{instance_id}", get(status))
}

/// 409 `DATABASE_CONNECTION_ERROR`; the error class only for admins (or debug builds).
fn failure_error(f: &TestFailure, details: bool) -> ApiError {
    let mut extra = json!({"connection_error_id": f.error_id, "error_code": f.error_code});
    if details {
        extra["details"] = json!({"error_type": f.error_type});
    }
    AppError::endpoint(409, "DATABASE_CONNECTION_ERROR", "数据库连接失败")
        .with_extra(extra)
        .into()
}

/// `POST /connections/actions/test`.
#[utoipa::path(post, path = "/api/v1/connections/actions/test", tag = "connections", operation_id = "connections_test",
    request_body = crate::openapi::JsonObject,
    responses((status = 200, body = ConnectionResult), (status = 409, body = crate::openapi::ErrorEnvelope)))]
pub async fn test(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_fields(false)?;
    let (target, message) = match body.get("instance_id") {
        None => (TestTarget::Params, "连接测试成功"),
        Some(v) if v.is_null() => return Err(AppError::validation("instance_id 不能为空").into()),
        Some(v) => {
            let id = int_value(v).ok_or_else(|| AppError::validation("instance_id 必须是整数"))?;
            (
                TestTarget::Instance(i32::try_from(id).ok()),
                "实例连接测试成功",
            )
        }
    };
    match svc::test(&st.svc, target, &body).await? {
        Ok(result) => Ok(ok(message, &result)),
        Err(f) => {
            let debug = st.settings.debug && !st.settings.is_production();
            Err(failure_error(&f, ctx.is_admin(&st).await || debug))
        }
    }
}

/// `POST /connections/actions/validate-params`.
#[utoipa::path(post, path = "/api/v1/connections/actions/validate-params", tag = "connections",
    operation_id = "connections_validate_params", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn validate_params(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_fields(false)?;
    svc::check_params(&st.svc, &body, &["db_type", "port"]).await?;
    Ok(ok_empty("连接参数验证通过"))
}

/// `POST /connections/actions/batch-test` — 1–50 instances, at most 4 probed at once, results
/// in request order.
#[utoipa::path(post, path = "/api/v1/connections/actions/batch-test", tag = "connections",
    operation_id = "connections_batch_test", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = BatchTestResult)))]
pub async fn batch_test(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let ids = svc::read_batch_ids(&body.json_only())?;
    Ok(ok("批量连接测试完成", &svc::batch_test(&st.svc, ids).await))
}

/// `GET /connections/status/{instance_id}` (deleted instances included).
#[utoipa::path(get, path = "/api/v1/connections/status/{instance_id}", tag = "connections",
    operation_id = "connections_status", params(("instance_id" = i64, Path)),
    responses((status = 200, body = ConnectionStatus)))]
pub async fn status(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok(
        "获取连接状态成功",
        &svc::status(&st.svc, id.one()).await?,
    ))
}
