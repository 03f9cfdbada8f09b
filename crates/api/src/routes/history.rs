//! History: sync sessions (`api-v1.md` §4.16) — list, detail with per-instance records and
//! progress, error records, cancel. Every endpoint requires `view` (cancel too).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use wf_domain::Permission;
use wf_services::sessions::{self as svc, SessionDetail, SessionErrors, SessionPage};
use wf_store::repo::sessions::{SessionFilter, SessionSort};

use super::Params;
use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Session routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/history/sessions", get(list))
        .route("/api/v1/history/sessions/{session_id}", get(detail))
        .route(
            "/api/v1/history/sessions/{session_id}/error-logs",
            get(error_logs),
        )
        .route("/api/v1/history/sessions/{session_id}/cancel", post(cancel))
}

/// `{session}` of the detail.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SessionData {
    pub session: SessionDetail,
}

/// `GET /history/sessions`.
#[utoipa::path(get, path = "/api/v1/history/sessions", tag = "history", operation_id = "history_sessions_list",
    responses((status = 200, body = SessionPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = SessionFilter {
        sync_type: q.trimmed("sync_type"),
        sync_category: q.trimmed("sync_category"),
        status: q.trimmed("status"),
    };
    let sort = match q.sort().as_str() {
        "completed_at" => SessionSort::CompletedAt,
        "status" => SessionSort::Status,
        _ => SessionSort::StartedAt,
    };
    let page = svc::list(
        &st.svc,
        &f,
        sort,
        q.desc(true),
        q.page(),
        q.page_size(20, 100),
    )
    .await?;
    Ok(ok("获取同步会话列表成功", &page))
}

/// `GET /history/sessions/{session_id}`.
#[utoipa::path(get, path = "/api/v1/history/sessions/{session_id}", tag = "history", operation_id = "history_sessions_detail",
    params(("session_id" = String, Path)), responses((status = 200, body = SessionData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let session = svc::detail(&st.svc, &id).await?;
    Ok(ok("获取同步会话详情成功", &SessionData { session }))
}

/// `GET /history/sessions/{session_id}/error-logs`.
#[utoipa::path(get, path = "/api/v1/history/sessions/{session_id}/error-logs", tag = "history",
    operation_id = "history_sessions_error_logs", params(("session_id" = String, Path)),
    responses((status = 200, body = SessionErrors)))]
pub async fn error_logs(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok(
        "获取错误日志成功",
        &svc::error_logs(&st.svc, &id).await?,
    ))
}

/// `POST /history/sessions/{session_id}/cancel` — a running session stops starting instances
/// and stays `cancelled`.
#[utoipa::path(post, path = "/api/v1/history/sessions/{session_id}/cancel", tag = "history",
    operation_id = "history_sessions_cancel", params(("session_id" = String, Path)),
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn cancel(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    svc::cancel(&st.svc, &id).await?;
    Ok(ok_empty("会话已取消"))
}
