//! Dashboard (`api-v1.md` §4.6 #20–#23): login only, cached per node (overview 300 s, charts
//! 180 s, status 30 s). Numbers come from `wf_services::dashboard`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Params;
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::state::AppState;

/// Dashboard routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboard/overview", get(overview))
        .route("/api/v1/dashboard/charts", get(charts))
        .route("/api/v1/dashboard/activities", get(activities))
        .route("/api/v1/dashboard/status", get(status))
}

/// The overview's sections (`api-v1.md` §4.6).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Overview {
    /// `{total, active}`.
    #[schema(value_type = Object)]
    pub users: Value,
    /// `{total (incl. deleted), active}`.
    #[schema(value_type = Object)]
    pub instances: Value,
    /// `{total, active, locked}`.
    #[schema(value_type = Object)]
    pub accounts: Value,
    /// `{total, auto, classifications[]}`.
    #[schema(value_type = Object)]
    pub classified_accounts: Value,
    /// `{total_gb, usage_percent}`.
    #[schema(value_type = Object)]
    pub capacity: Value,
    /// `{total, active, inactive}`.
    #[schema(value_type = Object)]
    pub databases: Value,
}

/// `GET /dashboard/overview`.
#[utoipa::path(get, path = "/api/v1/dashboard/overview", tag = "dashboard", operation_id = "dashboard_overview",
    responses((status = 200, body = Overview)))]
pub async fn overview(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    Ok(ok(
        "操作成功",
        &wf_services::dashboard::overview(&st.svc).await?,
    ))
}

/// The selected series (`log_trend`, `log_levels`, `task_status`, `sync_trend`).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Charts {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub log_trend: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub log_levels: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub task_status: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub sync_trend: Option<Value>,
}

/// `GET /dashboard/charts?type=all|logs|tasks|syncs`.
#[utoipa::path(get, path = "/api/v1/dashboard/charts", tag = "dashboard", operation_id = "dashboard_charts",
    responses((status = 200, body = Charts)))]
pub async fn charts(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.require_login(&st).await?;
    let kind = q.trimmed("type").unwrap_or_else(|| "all".into());
    Ok(ok(
        "操作成功",
        &wf_services::dashboard::charts(&st.svc, &kind).await?,
    ))
}

/// An activity (none are produced: the reference's list is a placeholder).
#[derive(Serialize, ToSchema)]
pub struct Activity {
    pub description: String,
}

/// Always empty (placeholder of the reference).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
pub struct Activities(pub Vec<Activity>);

/// `GET /dashboard/activities` — always `[]`.
#[utoipa::path(get, path = "/api/v1/dashboard/activities", tag = "dashboard", operation_id = "dashboard_activities",
    responses((status = 200, body = Activities)))]
pub async fn activities(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    Ok(ok("操作成功", &Activities(Vec::new())))
}

/// `{system: {cpu, memory, disk}, services: {database, redis}, uptime}` (bytes, percent).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Status {
    #[schema(value_type = Object)]
    pub system: Value,
    #[schema(value_type = Object)]
    pub services: Value,
    pub uptime: String,
}

/// `GET /dashboard/status`.
#[utoipa::path(get, path = "/api/v1/dashboard/status", tag = "dashboard", operation_id = "dashboard_status",
    responses((status = 200, body = Status)))]
pub async fn status(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    let cache = st.cache_healthy().await;
    let uptime = super::health::uptime(&st);
    Ok(ok(
        "操作成功",
        &wf_services::dashboard::status(&st.svc, cache, uptime).await?,
    ))
}
