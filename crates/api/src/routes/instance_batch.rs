//! Instance batch operations and statistics (`api-v1.md` §4.7): CSV batch create, batch soft
//! or hard delete, statistics.

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use wf_domain::{AppError, Body, BodyKind, Permission};
use wf_services::instance_batch::{self as svc, BatchCreated, BatchDeleted, InstanceStatistics};

use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::{ApiError, ApiResult};
use crate::payload::{Payload, multipart_parts};
use crate::state::AppState;

/// Batch routes (literal paths win over `/instances/{instance_id}`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances/batch-create", post(batch_create))
        .route("/api/v1/instances/batch-delete", post(batch_delete))
        .route("/api/v1/instances/statistics", get(statistics))
}

/// The multipart parts of a request (none for other content types).
async fn parts_of(st: &AppState, req: Request) -> Result<Vec<crate::payload::Part>, ApiError> {
    let ct = crate::payload::content_type(req.headers());
    let body = axum::body::to_bytes(req.into_body(), st.settings.max_content_length)
        .await
        .map_err(|_| ApiError(AppError::framework(413, wf_domain::error::MSG_TOO_LARGE)))?;
    Ok(
        if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
            multipart_parts(&ct, body)
        } else {
            Vec::new()
        },
    )
}

/// `POST /instances/batch-create` — multipart `file` (CSV).
#[utoipa::path(post, path = "/api/v1/instances/batch-create", tag = "instances", operation_id = "instances_batch_create",
    responses((status = 200, body = BatchCreated)))]
pub async fn batch_create(State(st): State<AppState>, ctx: Ctx, req: Request) -> ApiResult {
    let parts = parts_of(&st, req).await?;
    let fields: Map<String, Value> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name.clone(),
                Value::String(String::from_utf8_lossy(&p.data).into_owned()),
            )
        })
        .collect();
    let form = Payload(Body {
        map: fields,
        kind: BodyKind::Form,
        not_object: false,
        empty: false,
    });
    ctx.authorize_write(&st, Permission::Create, Some(&form))
        .await?;
    let file = parts
        .iter()
        .find(|p| {
            p.name == "file"
                && p.filename
                    .as_deref()
                    .is_some_and(|f| f.to_lowercase().ends_with(".csv"))
        })
        .ok_or_else(svc::no_csv)?;
    let rows = svc::parse_csv(&file.data)?;
    let result = svc::create_rows(&st.svc, rows).await?;
    Ok(ok(
        &format!("成功创建 {} 个实例", result.created_count),
        &result,
    ))
}

/// `POST /instances/batch-delete` — soft (default) or hard.
#[utoipa::path(post, path = "/api/v1/instances/batch-delete", tag = "instances", operation_id = "instances_batch_delete",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = BatchDeleted)))]
pub async fn batch_delete(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    let (ids, hard) = svc::read_batch_delete(&body.json_only())?;
    let result = svc::batch_delete(&st.svc, &ids, hard).await?;
    let n = result.deleted_count;
    let message = if hard {
        format!("成功删除 {n} 个实例")
    } else {
        format!("成功移入回收站 {n} 个实例")
    };
    Ok(ok(&message, &result))
}

/// `GET /instances/statistics`.
#[utoipa::path(get, path = "/api/v1/instances/statistics", tag = "instances", operation_id = "instances_statistics",
    responses((status = 200, body = InstanceStatistics)))]
pub async fn statistics(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok("获取实例统计信息成功", &svc::statistics(&st.svc).await?))
}
