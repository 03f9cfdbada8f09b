//! History: logs (`api-v1.md` §4.17 #98–#102): every endpoint needs `admin`. Queries live in
//! `wf_store::repo::logs`, views in `wf_services::logs`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::{AppError, Permission};
use wf_services::logs::{self as svc, LogItem, LogPage, LogStatistics};
use wf_store::repo::logs::{LogFilter, LogSort};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::state::AppState;

/// Log routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/history/logs/list", get(list))
        .route("/api/v1/history/logs/search", get(search))
        .route("/api/v1/history/logs/statistics", get(statistics))
        .route("/api/v1/history/logs/modules", get(modules))
        .route("/api/v1/history/logs/detail/{log_id}", get(detail))
}

/// An ISO-8601 instant (offset or naive = UTC); `None` when absent or unparsable.
pub(super) fn instant(raw: Option<String>) -> Option<DateTime<Utc>> {
    let raw = raw?;
    let raw = raw.replace(' ', "T");
    DateTime::parse_from_rfc3339(&raw)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The list/search filters: `level`, `module`, `search`, `start_time`/`end_time`, else the last
/// `hours` (1–2160, default 24).
fn filter(q: &Params) -> Result<LogFilter, AppError> {
    let level = q
        .trimmed("level")
        .map(|l| svc::parse_level(&l))
        .transpose()?;
    let (start, end) = (
        instant(q.trimmed("start_time")),
        instant(q.trimmed("end_time")),
    );
    let mut window_hours = None;
    let start = if start.is_none() && end.is_none() {
        let hours = match q.trimmed("hours") {
            None => 24,
            Some(h) => {
                let h: i64 = h
                    .parse()
                    .map_err(|_| AppError::validation("hours 参数格式无效"))?;
                if h < 1 {
                    return Err(AppError::validation("hours 参数必须为正整数"));
                }
                h.min(2160)
            }
        };
        window_hours = Some(hours);
        Some(Utc::now() - Duration::hours(hours))
    } else {
        start
    };
    Ok(LogFilter {
        start,
        end,
        level,
        module: q.trimmed("module"),
        search: q.trimmed("search"),
        window_hours,
    })
}

async fn page(
    st: &AppState,
    q: &Params,
    public: &'static str,
) -> Result<LogPage, crate::error::ApiError> {
    let f = filter(q)?;
    let sort = match q.sort().as_str() {
        "id" => LogSort::Id,
        "level" => LogSort::Level,
        "module" => LogSort::Module,
        "message" => LogSort::Message,
        _ => LogSort::Timestamp,
    };
    let desc = q.desc(true);
    Ok(svc::list(
        &st.svc,
        &f,
        sort,
        desc,
        q.page(),
        q.page_size(20, 200),
        public,
    )
    .await?)
}

/// `GET /history/logs/list` — newest first.
#[utoipa::path(get, path = "/api/v1/history/logs/list", tag = "history", operation_id = "history_logs_list",
    responses((status = 200, body = LogPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::Admin).await?;
    Ok(ok(
        "日志列表获取成功",
        &page(&st, &q, "获取日志列表失败").await?,
    ))
}

/// `GET /history/logs/search` — the same as the list.
#[utoipa::path(get, path = "/api/v1/history/logs/search", tag = "history", operation_id = "history_logs_search",
    responses((status = 200, body = LogPage)))]
pub async fn search(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::Admin).await?;
    Ok(ok("操作成功", &page(&st, &q, "日志查询失败").await?))
}

/// `GET /history/logs/statistics` — the last `hours` (default 24).
#[utoipa::path(get, path = "/api/v1/history/logs/statistics", tag = "history", operation_id = "history_logs_statistics",
    responses((status = 200, body = LogStatistics)))]
pub async fn statistics(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::Admin).await?;
    let hours = q
        .trimmed("hours")
        .and_then(|h| h.parse().ok())
        .unwrap_or(24);
    Ok(ok("操作成功", &svc::statistics(&st.svc, hours).await?))
}

/// `{modules}`.
#[derive(Serialize, ToSchema)]
pub struct ModuleList {
    pub modules: Vec<String>,
}

/// `GET /history/logs/modules`.
#[utoipa::path(get, path = "/api/v1/history/logs/modules", tag = "history", operation_id = "history_logs_modules",
    responses((status = 200, body = ModuleList)))]
pub async fn modules(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::Admin).await?;
    Ok(ok(
        "操作成功",
        &ModuleList {
            modules: svc::modules(&st.svc).await?,
        },
    ))
}

/// `{log}`.
#[derive(Serialize, ToSchema)]
pub struct LogData {
    pub log: LogItem,
}

/// `GET /history/logs/detail/{log_id}`.
#[utoipa::path(get, path = "/api/v1/history/logs/detail/{log_id}", tag = "history", operation_id = "history_logs_detail",
    params(("log_id" = i64, Path)), responses((status = 200, body = LogData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::Admin).await?;
    Ok(ok(
        "操作成功",
        &LogData {
            log: svc::detail(&st.svc, id.one()).await?,
        },
    ))
}
