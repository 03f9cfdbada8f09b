//! Capacity (`api-v1.md` §4.13): the manual current-period aggregation (#75) and the
//! aggregation lists and summaries (#76–#79). Collection of one instance (#30) lives with the
//! instance routes; rules and statements live in `wf_services::{aggregation,
//! capacity_reads}` and `wf_store::repo::{capacity, capacity_reads}`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::aggregation::{self, CurrentAggregation, Scope};
use wf_services::capacity_reads::{
    self as reads, DatabaseAggregationPage, DatabaseSummaryView, InstanceAggregationPage,
    InstanceSummaryView,
};
use wf_store::repo::capacity_reads::{DatabaseAggFilter, InstanceAggFilter};

use super::Params;

use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Capacity routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/capacity/aggregations/current",
            post(aggregate_current),
        )
        .route("/api/v1/capacity/instances", get(instances))
        .route("/api/v1/capacity/instances/summary", get(instances_summary))
        .route("/api/v1/capacity/databases", get(databases))
        .route("/api/v1/capacity/databases/summary", get(databases_summary))
}

/// Instance filters: ids, exact types, dates (`time_range` days when no date is given).
fn instance_filter(q: &Params) -> Result<InstanceAggFilter, wf_domain::AppError> {
    let (mut start, mut end) = (q.date("start_date")?, q.date("end_date")?);
    let range = q.int_or("time_range", "time_range 必须为整数(天)")?;
    if start.is_none()
        && end.is_none()
        && let Some(days) = range
    {
        let today = wf_domain::capacity::china_today(chrono::Utc::now());
        start = today.checked_sub_signed(chrono::Duration::days(days.clamp(-36_500, 36_500)));
        end = Some(today);
    }
    Ok(InstanceAggFilter {
        instance_id: q.trimmed("instance_id").and_then(|v| v.parse().ok()),
        db_type: q.trimmed("db_type"),
        period_type: q.trimmed("period_type"),
        start,
        end,
    })
}

/// `GET /capacity/instances` — newest periods first, or the top-100 instances (`get_all`).
#[utoipa::path(get, path = "/api/v1/capacity/instances", tag = "capacity", operation_id = "capacity_instances",
    responses((status = 200, body = InstanceAggregationPage)))]
pub async fn instances(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = instance_filter(&q)?;
    let page = reads::instance_aggregations(
        &st.svc,
        &f,
        q.page(),
        q.page_size(20, 200),
        q.literal_true("get_all"),
    )
    .await?;
    Ok(ok("操作成功", &page))
}

/// `{summary}` of the instances.
#[derive(Serialize, ToSchema)]
pub struct InstanceSummaryData {
    pub summary: InstanceSummaryView,
}

/// `GET /capacity/instances/summary` — from the latest instance size stats in range.
#[utoipa::path(get, path = "/api/v1/capacity/instances/summary", tag = "capacity", operation_id = "capacity_instances_summary",
    responses((status = 200, body = InstanceSummaryData)))]
pub async fn instances_summary(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let summary = reads::instance_summary(&st.svc, &instance_filter(&q)?).await?;
    Ok(ok("操作成功", &InstanceSummaryData { summary }))
}

/// Database filters (`database_id` resolves to a name when `database_name` is absent).
async fn database_filter(
    st: &AppState,
    q: &Params,
) -> Result<DatabaseAggFilter, crate::error::ApiError> {
    let mut name = q.trimmed("database_name");
    if name.is_none()
        && let Some(id) = q.trimmed("database_id").and_then(|v| v.parse::<i32>().ok())
    {
        // an unknown id matches nothing
        name = Some(
            reads::database_name_of(&st.svc, id)
                .await?
                .unwrap_or_else(|| "\u{0}".into()),
        );
    }
    Ok(DatabaseAggFilter {
        instance_id: q.trimmed("instance_id").and_then(|v| v.parse().ok()),
        db_type: q.trimmed("db_type"),
        database_name: name,
        period_type: q.trimmed("period_type"),
        start: q.date("start_date")?,
        end: q.date("end_date")?,
    })
}

/// `GET /capacity/databases` — newest periods first, or the top-100 databases (`get_all`).
#[utoipa::path(get, path = "/api/v1/capacity/databases", tag = "capacity", operation_id = "capacity_databases",
    responses((status = 200, body = DatabaseAggregationPage)))]
pub async fn databases(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = database_filter(&st, &q).await?;
    let page = reads::database_aggregations(
        &st.svc,
        &f,
        q.page(),
        q.page_size(20, 200),
        q.literal_true("get_all"),
    )
    .await?;
    Ok(ok("数据库统计聚合数据获取成功", &page))
}

/// `{summary}` of the databases.
#[derive(Serialize, ToSchema)]
pub struct DatabaseSummaryData {
    pub summary: DatabaseSummaryView,
}

/// `GET /capacity/databases/summary` — latest row per (instance, database, period type).
#[utoipa::path(get, path = "/api/v1/capacity/databases/summary", tag = "capacity", operation_id = "capacity_databases_summary",
    responses((status = 200, body = DatabaseSummaryData)))]
pub async fn databases_summary(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = database_filter(&st, &q).await?;
    let summary = reads::database_summary(&st.svc, &f).await?;
    Ok(ok(
        "数据库统计聚合汇总获取成功",
        &DatabaseSummaryData { summary },
    ))
}

/// `{result}`.
#[derive(Serialize, ToSchema)]
pub struct CurrentAggregationData {
    pub result: CurrentAggregation,
}

/// `POST /capacity/aggregations/current` — today's daily aggregation as a session.
#[utoipa::path(post, path = "/api/v1/capacity/aggregations/current", tag = "capacity", operation_id = "capacity_aggregate_current",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = CurrentAggregationData)))]
pub async fn aggregate_current(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let me = ctx
        .authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    wf_services::views::require_strings(&body, &["period_type", "scope"])?;
    let scope = Scope::parse(body.text("scope").as_deref())?;
    let requested = body.text("period_type").unwrap_or_else(|| "daily".into());
    let result = aggregation::aggregate_current(&st.svc, scope, &requested, Some(me.id)).await?;
    Ok(ok("已仅聚合今日数据", &CurrentAggregationData { result }))
}
