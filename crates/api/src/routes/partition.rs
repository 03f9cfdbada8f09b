//! Partition management (`api-v1.md` §4.14 #80–#86): reads need `view`, create/cleanup
//! `admin`. Rules live in `wf_services::partitions`, catalogue work in `wf_store::partitions`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::capacity::PeriodType;
use wf_domain::{AppError, Permission, time};
use wf_services::partitions::{
    self as svc, CleanupResult, CoreMetrics, CreateResult, PartitionEntry, PartitionInfo,
    PartitionPage,
};

use super::Params;
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Partition routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/partition/info", get(info))
        .route("/api/v1/partition/status", get(status))
        .route("/api/v1/partition/partitions", get(list))
        .route("/api/v1/partition/create", post(create))
        .route("/api/v1/partition/cleanup", post(cleanup))
        .route("/api/v1/partition/statistics", get(statistics))
        .route(
            "/api/v1/partition/aggregations/core-metrics",
            get(core_metrics),
        )
}

/// `{data, timestamp}` (the contract's doubly nested shape).
#[derive(Serialize, ToSchema)]
pub struct InfoData {
    pub data: PartitionInfo,
    /// UTC ISO-8601.
    pub timestamp: String,
}

/// `GET /partition/info`.
#[utoipa::path(get, path = "/api/v1/partition/info", tag = "partition", operation_id = "partition_info",
    responses((status = 200, body = InfoData)))]
pub async fn info(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = svc::info(&st.svc, "获取分区信息失败").await?;
    Ok(ok(
        "分区信息获取成功",
        &InfoData {
            data,
            timestamp: time::iso(&chrono::Utc::now()),
        },
    ))
}

/// Overview of `/partition/status`.
#[derive(Serialize, ToSchema)]
pub struct StatusView {
    pub status: String,
    pub total_partitions: u64,
    pub total_size: String,
    pub total_records: i64,
    pub missing_partitions: Vec<String>,
    pub partitions: Vec<PartitionEntry>,
}

/// `{data, timestamp}` of the status.
#[derive(Serialize, ToSchema)]
pub struct StatusData {
    pub data: StatusView,
    pub timestamp: String,
}

/// `GET /partition/status` — `healthy` when the stats partitions of this and the next two
/// months exist.
#[utoipa::path(get, path = "/api/v1/partition/status", tag = "partition", operation_id = "partition_status",
    responses((status = 200, body = StatusData)))]
pub async fn status(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let i = svc::info(&st.svc, "获取分区状态失败").await?;
    let data = StatusView {
        status: i.status,
        total_partitions: i.total_partitions,
        total_size: i.total_size,
        total_records: i.total_records,
        missing_partitions: i.missing_partitions,
        partitions: i.partitions,
    };
    Ok(ok(
        "分区状态获取成功",
        &StatusData {
            data,
            timestamp: time::iso(&chrono::Utc::now()),
        },
    ))
}

/// `GET /partition/partitions` — filtered, sorted, paged.
#[utoipa::path(get, path = "/api/v1/partition/partitions", tag = "partition", operation_id = "partition_list",
    responses((status = 200, body = PartitionPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let query = svc::ListQuery {
        search: q.trimmed("search"),
        table_type: q.trimmed("table_type"),
        status: q.trimmed("status"),
        sort: q.sort(),
        desc: q.desc(false),
        page: q.page(),
        limit: q.page_size(20, 200),
    };
    Ok(ok("分区列表获取成功", &svc::list(&st.svc, &query).await?))
}

/// `{result, timestamp}` of a create.
#[derive(Serialize, ToSchema)]
pub struct CreateData {
    pub result: CreateResult,
    pub timestamp: String,
}

/// `POST /partition/create` — the four partitions of the month of `date`.
#[utoipa::path(post, path = "/api/v1/partition/create", tag = "partition", operation_id = "partition_create",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = CreateData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Admin, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    let raw = body
        .trimmed("date")
        .ok_or_else(|| AppError::validation("缺少日期参数"))?;
    let date = chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
        .map_err(|_| AppError::validation("无法解析日期"))?;
    let result = svc::create(&st.svc, date).await?;
    Ok(ok(
        "分区创建任务已触发",
        &CreateData {
            result,
            timestamp: time::iso(&chrono::Utc::now()),
        },
    ))
}

/// `{result, timestamp}` of a cleanup.
#[derive(Serialize, ToSchema)]
pub struct CleanupData {
    pub result: CleanupResult,
    pub timestamp: String,
}

/// `POST /partition/cleanup` — months before the retention window (≥ 1 month).
#[utoipa::path(post, path = "/api/v1/partition/cleanup", tag = "partition", operation_id = "partition_cleanup",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = CleanupData)))]
pub async fn cleanup(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Admin, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    let months = match body.get("retention_months") {
        None | Some(serde_json::Value::Null) => 12,
        Some(serde_json::Value::Bool(_)) => {
            return Err(AppError::validation("retention_months 必须为数字").into());
        }
        Some(v) => wf_domain::body::int_value(v)
            .filter(|_| !v.is_f64())
            .ok_or_else(|| AppError::validation("retention_months 必须为数字"))?,
    };
    let result = svc::cleanup(&st.svc, months).await?;
    Ok(ok(
        "旧分区清理任务已触发",
        &CleanupData {
            result,
            timestamp: time::iso(&chrono::Utc::now()),
        },
    ))
}

/// Statistics of `/partition/statistics`.
#[derive(Serialize, ToSchema)]
pub struct StatisticsView {
    pub total_records: i64,
    pub total_partitions: u64,
    pub total_size: String,
    pub total_size_bytes: i64,
    pub partitions: Vec<PartitionEntry>,
    pub tables: Vec<String>,
}

/// `{data, timestamp}` of the statistics.
#[derive(Serialize, ToSchema)]
pub struct StatisticsData {
    pub data: StatisticsView,
    pub timestamp: String,
}

/// `GET /partition/statistics`.
#[utoipa::path(get, path = "/api/v1/partition/statistics", tag = "partition", operation_id = "partition_statistics",
    responses((status = 200, body = StatisticsData)))]
pub async fn statistics(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let i = svc::info(&st.svc, "获取分区统计信息失败").await?;
    let data = StatisticsView {
        total_records: i.total_records,
        total_partitions: i.total_partitions,
        total_size: i.total_size,
        total_size_bytes: i.total_size_bytes,
        partitions: i.partitions,
        tables: i.tables,
    };
    Ok(ok(
        "分区统计信息获取成功",
        &StatisticsData {
            data,
            timestamp: time::iso(&chrono::Utc::now()),
        },
    ))
}

/// `GET /partition/aggregations/core-metrics` — `period_type` (default daily), `days` buckets.
#[utoipa::path(get, path = "/api/v1/partition/aggregations/core-metrics", tag = "partition",
    operation_id = "partition_core_metrics", responses((status = 200, body = CoreMetrics)))]
pub async fn core_metrics(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let kind = match q.trimmed("period_type") {
        None => PeriodType::Daily,
        Some(p) => PeriodType::parse(&p).ok_or_else(|| AppError::validation("不支持的周期类型"))?,
    };
    let days = q
        .trimmed("days")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(7)
        .max(1);
    Ok(ok(
        "核心聚合指标获取成功",
        &svc::core_metrics(&st.svc, kind, days).await?,
    ))
}
