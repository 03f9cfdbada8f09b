//! Connections (`api-v1.md` §4.8): connection tests (existing instance or ad-hoc parameters),
//! parameter validation, batch tests (bounded parallelism) and derived connection status.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use futures::StreamExt;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use wf_domain::{AppError, db_type, time};
use wf_services::connection::{TestFailure, test_connection};
use wf_store::entity::{credential, instance};

use crate::ctx::{Ctx, path_id};
use crate::envelope::ok;
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::Payload;
use crate::state::AppState;

/// How many instances a batch test probes at once.
const BATCH_PARALLELISM: usize = 4;

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

fn non_empty_object(body: &Payload) -> Result<(), ApiError> {
    body.require_object()?;
    if body.map.is_empty() {
        return Err(AppError::validation("请求数据不能为空").into());
    }
    Ok(())
}

/// Integer or numeric string.
fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(b)) => *b,
        Some(_) => true,
    }
}

/// Validate `db_type`, `port` and an optional `credential_id` (shared by test and validate).
async fn check_params(
    st: &AppState,
    body: &Payload,
    required: &[&str],
) -> Result<(String, i32, Option<i32>), ApiError> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !truthy(body.get(k)))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::validation(format!("缺少必需参数: {}", missing.join(", "))).into());
    }
    let raw = body.text("db_type").unwrap_or_default();
    let t = db_type::normalize(&raw);
    if !db_type::is_supported(&t) {
        return Err(AppError::validation(format!("不支持的数据库类型: {raw}")).into());
    }
    let port = body
        .get("port")
        .and_then(int_value)
        .ok_or_else(|| AppError::validation("端口号必须是有效的数字"))?;
    if !(1..=65535).contains(&port) {
        return Err(AppError::validation("端口号必须在1-65535之间").into());
    }
    let cred = match body.get("credential_id") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id =
                int_value(v).ok_or_else(|| AppError::validation("credential_id 必须是整数"))?;
            let found = match i32::try_from(id) {
                Ok(id) => credential::Entity::find_by_id(id).one(&st.db).await?,
                Err(_) => None,
            };
            Some(found.ok_or_else(|| AppError::not_found("凭据不存在"))?.id)
        }
    };
    Ok((t, port as i32, cred))
}

fn failure_error(f: &TestFailure, admin: bool, debug: bool) -> ApiError {
    let mut extra = json!({"connection_error_id": f.error_id, "error_code": f.error_code});
    if admin || debug {
        extra["details"] = json!({"error_type": f.error_type});
    }
    AppError::endpoint(409, "DATABASE_CONNECTION_ERROR", "数据库连接失败")
        .with_extra(extra)
        .into()
}

/// `POST /connections/actions/test`.
#[utoipa::path(post, path = "/api/v1/connections/actions/test", tag = "connections", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope), (status = 409, body = crate::openapi::ErrorEnvelope)))]
pub async fn test(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "view", Some(&body)).await?;
    let body = body.json_only();
    non_empty_object(&body)?;
    const PUB: &str = "连接测试失败";
    let (inst, persist, message) = if body.has("instance_id") {
        let v = body.get("instance_id").cloned().unwrap_or(Value::Null);
        if v.is_null() {
            return Err(AppError::validation("instance_id 不能为空").into());
        }
        let id = int_value(&v).ok_or_else(|| AppError::validation("instance_id 必须是整数"))?;
        let found = match i32::try_from(id) {
            Ok(id) => instance::Entity::find_by_id(id)
                .one(&st.db)
                .await
                .public(PUB)?,
            Err(_) => None,
        };
        (
            found.ok_or_else(|| AppError::not_found("实例不存在"))?,
            true,
            "实例连接测试成功",
        )
    } else {
        let (t, port, cred) =
            check_params(&st, &body, &["db_type", "host", "port", "credential_id"]).await?;
        let transient = instance::Model {
            id: 0,
            name: body.trimmed("name").unwrap_or_else(|| "temp_test".into()),
            db_type: t,
            host: body.trimmed("host").unwrap_or_default(),
            port,
            database_name: body.trimmed("database_name"),
            database_version: None,
            main_version: None,
            detailed_version: None,
            sync_count: 0,
            credential_id: cred,
            description: None,
            is_active: true,
            last_connected: None,
            last_check_at: None,
            last_connection_error: None,
            created_at: None,
            updated_at: None,
            deleted_at: None,
        };
        (transient, false, "连接测试成功")
    };
    match test_connection(&st.db, &st.cipher, &inst, persist)
        .await
        .public(PUB)?
    {
        Ok(result) => Ok(ok(message, result)),
        Err(f) => Err(failure_error(
            &f,
            ctx.is_admin(&st).await,
            st.settings.debug && !st.settings.is_production(),
        )),
    }
}

/// `POST /connections/actions/validate-params`.
#[utoipa::path(post, path = "/api/v1/connections/actions/validate-params", tag = "connections", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn validate_params(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "view", Some(&body)).await?;
    let body = body.json_only();
    non_empty_object(&body)?;
    check_params(&st, &body, &["db_type", "port"]).await?;
    Ok(crate::envelope::ok_empty("连接参数验证通过"))
}

/// `POST /connections/actions/batch-test` — 1–50 instances, at most 4 probed at once, results
/// in request order.
#[utoipa::path(post, path = "/api/v1/connections/actions/batch-test", tag = "connections", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn batch_test(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "view", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    let list = match body.get("instance_ids") {
        None | Some(Value::Null) => return Err(AppError::validation("缺少实例ID列表").into()),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(AppError::validation("实例ID列表必须为整数").into()),
    };
    if list.is_empty() {
        return Err(AppError::validation("实例ID列表不能为空").into());
    }
    let ids: Vec<i64> = list
        .iter()
        .map(int_value)
        .collect::<Option<_>>()
        .ok_or_else(|| AppError::validation("实例ID列表必须为整数"))?;
    if ids.len() > 50 {
        return Err(AppError::validation("批量测试数量不能超过50个").into());
    }
    let results: Vec<Value> = futures::stream::iter(ids)
        .map(|id| {
            let st = st.clone();
            async move {
                let found = match i32::try_from(id) {
                    Ok(i) => instance::Entity::find_by_id(i).one(&st.db).await,
                    Err(_) => Ok(None),
                };
                match found {
                    Ok(Some(inst)) => match test_connection(&st.db, &st.cipher, &inst, true).await {
                        Ok(Ok(mut r)) => {
                            r["instance_id"] = json!(inst.id);
                            r["instance_name"] = json!(inst.name);
                            r
                        }
                        Ok(Err(f)) => json!({"instance_id": inst.id, "instance_name": inst.name, "success": false,
                            "message": "数据库连接失败", "error_code": f.error_code, "error_id": f.error_id}),
                        Err(_) => unexpected(id),
                    },
                    Ok(None) => json!({"instance_id": id, "success": false, "error": "实例不存在"}),
                    Err(_) => unexpected(id),
                }
            }
        })
        .buffered(BATCH_PARALLELISM)
        .collect()
        .await;
    let success = results
        .iter()
        .filter(|r| r["success"] == json!(true))
        .count();
    Ok(ok(
        "批量连接测试完成",
        json!({"results": results, "summary": {"total": results.len(), "success": success, "failed": results.len() - success}}),
    ))
}

fn unexpected(id: i64) -> Value {
    json!({"instance_id": id, "success": false, "message": "数据库连接失败", "error_code": "BATCH_TEST_FAILED",
        "error_id": uuid::Uuid::new_v4().simple().to_string()})
}

/// Derived connection status (`domain.md` §3.4).
pub fn connection_status(last: Option<&chrono::DateTime<chrono::Utc>>) -> &'static str {
    match last {
        None => "unknown",
        Some(t) => {
            let age = chrono::Utc::now() - *t;
            if age < chrono::Duration::hours(1) {
                "good"
            } else if age < chrono::Duration::days(1) {
                "warning"
            } else {
                "poor"
            }
        }
    }
}

/// `GET /connections/status/{instance_id}` (deleted instances included).
#[utoipa::path(get, path = "/api/v1/connections/status/{instance_id}", tag = "connections", params(("instance_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn status(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let found = match path_id(&id)? {
        Some(id) => instance::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public("获取连接状态失败")?,
        None => None,
    };
    let i = found.ok_or_else(|| AppError::not_found("实例不存在"))?;
    Ok(ok(
        "获取连接状态成功",
        json!({
            "instance_id": i.id, "instance_name": i.name, "db_type": i.db_type, "host": i.host, "port": i.port,
            "last_connected": time::iso_opt(i.last_connected.as_ref()), "status": connection_status(i.last_connected.as_ref()),
            "is_active": i.is_active,
        }),
    ))
}
