//! Scheduler (`api-v1.md` §4.15 #87–#93): reads need `scheduler.view`, writes
//! `scheduler.manage`. Jobs are rows in the store; rules live in `wf_services::scheduler`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::scheduler::{self as svc, JobDetail, JobView, ReloadResult};

use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Scheduler routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/scheduler/jobs", get(list))
        .route("/api/v1/scheduler/jobs/reload", post(reload))
        .route("/api/v1/scheduler/jobs/{job_id}", get(detail).put(update))
        .route("/api/v1/scheduler/jobs/{job_id}/pause", post(pause))
        .route("/api/v1/scheduler/jobs/{job_id}/resume", post(resume))
        .route("/api/v1/scheduler/jobs/{job_id}/run", post(run))
}

/// The job list: `data` is an array (`api-v1.md` §4.15).
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
pub struct JobList(pub Vec<JobView>);

/// `GET /scheduler/jobs` — an array of jobs by id.
#[utoipa::path(get, path = "/api/v1/scheduler/jobs", tag = "scheduler", operation_id = "scheduler_jobs",
    responses((status = 200, body = JobList)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::SchedulerView).await?;
    Ok(ok("任务列表获取成功", &JobList(svc::list(&st.svc).await?)))
}

/// `GET /scheduler/jobs/{job_id}`.
#[utoipa::path(get, path = "/api/v1/scheduler/jobs/{job_id}", tag = "scheduler", operation_id = "scheduler_job_detail",
    params(("job_id" = String, Path)), responses((status = 200, body = JobDetail)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, Permission::SchedulerView).await?;
    Ok(ok("任务详情获取成功", &svc::detail(&st.svc, &id).await?))
}

/// `PUT /scheduler/jobs/{job_id}` — a new trigger for a built-in job.
#[utoipa::path(put, path = "/api/v1/scheduler/jobs/{job_id}", tag = "scheduler", operation_id = "scheduler_job_update",
    params(("job_id" = String, Path)), request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::SchedulerManage, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    svc::update_trigger(&st.svc, &id, &body.map).await?;
    Ok(ok_empty("任务更新成功"))
}

/// `POST /scheduler/jobs/{job_id}/pause`.
#[utoipa::path(post, path = "/api/v1/scheduler/jobs/{job_id}/pause", tag = "scheduler", operation_id = "scheduler_job_pause",
    params(("job_id" = String, Path)), responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn pause(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::SchedulerManage, Some(&body))
        .await?;
    svc::set_paused(&st.svc, &id, true).await?;
    Ok(ok_empty("任务暂停成功"))
}

/// `POST /scheduler/jobs/{job_id}/resume`.
#[utoipa::path(post, path = "/api/v1/scheduler/jobs/{job_id}/resume", tag = "scheduler", operation_id = "scheduler_job_resume",
    params(("job_id" = String, Path)), responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn resume(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::SchedulerManage, Some(&body))
        .await?;
    svc::set_paused(&st.svc, &id, false).await?;
    Ok(ok_empty("任务恢复成功"))
}

/// `{manual_job_id}`.
#[derive(Serialize, ToSchema)]
pub struct RunStarted {
    pub manual_job_id: String,
}

/// `POST /scheduler/jobs/{job_id}/run` — once now, in the background, as a `manual` run.
#[utoipa::path(post, path = "/api/v1/scheduler/jobs/{job_id}/run", tag = "scheduler", operation_id = "scheduler_job_run",
    params(("job_id" = String, Path)), responses((status = 200, body = RunStarted)))]
pub async fn run(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    let me = ctx
        .authorize_write(&st, Permission::SchedulerManage, Some(&body))
        .await?;
    let manual_job_id = svc::run_now(&st.svc, &id, Some(me.id)).await?;
    Ok(ok("任务已提交后台执行", &RunStarted { manual_job_id }))
}

/// `POST /scheduler/jobs/reload` — built-ins back to their default triggers.
#[utoipa::path(post, path = "/api/v1/scheduler/jobs/reload", tag = "scheduler", operation_id = "scheduler_reload",
    responses((status = 200, body = ReloadResult)))]
pub async fn reload(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::SchedulerManage, Some(&body))
        .await?;
    let r = svc::reload(&st.svc).await?;
    let message = format!(
        "已删除 {} 个任务,重新加载 {} 个任务",
        r.deleted_count, r.reloaded_count
    );
    Ok(ok(&message, &r))
}
