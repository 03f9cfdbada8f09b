//! Capacity (`api-v1.md` §4.13): the manual current-period aggregation (#75). Collection of
//! one instance (#30) lives with the instance routes; rules and statements live in
//! `wf_services::aggregation` and `wf_store::repo::capacity`.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::aggregation::{self, CurrentAggregation, Scope};

use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Capacity routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/capacity/aggregations/current",
        post(aggregate_current),
    )
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
