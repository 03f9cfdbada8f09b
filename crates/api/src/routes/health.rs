//! Health (`api-v1.md` §4.3) and admin app-info (§4.4).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::state::AppState;

/// Health and admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/health/ping", get(ping))
        .route("/api/v1/health/basic", get(basic))
        .route("/api/v1/health/health", get(health))
        .route("/api/v1/health/detailed", get(detailed))
        .route("/api/v1/health/cache", get(cache))
        .route("/api/v1/admin/app-info", get(app_info))
}

/// `"<d>天 <h>小时 <m>分钟"` since process start (health and dashboard status).
pub(super) fn uptime(st: &AppState) -> String {
    let s = st.started_at.elapsed().as_secs();
    format!(
        "{}天 {}小时 {}分钟",
        s / 86400,
        (s % 86400) / 3600,
        (s % 3600) / 60
    )
}

fn china_now() -> String {
    wf_domain::time::iso_in(&chrono::Utc::now(), wf_domain::time::china())
}

fn state(b: bool) -> &'static str {
    if b { "connected" } else { "error" }
}

/// `{status: "ok"}`.
#[derive(Serialize, ToSchema)]
pub struct Ping {
    pub status: &'static str,
}

/// Basic health: `timestamp` is Unix seconds with microseconds.
#[derive(Serialize, ToSchema)]
pub struct BasicHealth {
    pub status: &'static str,
    pub timestamp: f64,
    pub version: &'static str,
}

/// Store and cache health.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `healthy` or `unhealthy`.
    pub status: &'static str,
    /// `connected` or `error`.
    pub database: &'static str,
    pub redis: &'static str,
    /// Asia/Shanghai ISO-8601.
    pub timestamp: String,
    pub uptime: String,
}

/// One component of the detailed health.
#[derive(Serialize, ToSchema)]
pub struct Component {
    pub healthy: bool,
    pub status: &'static str,
    /// Cache only: the backend serving rate limits and the cache now — `redis`, `memory`, or
    /// `memory (redis unreachable)` when `CACHE_TYPE=redis` and Redis does not answer (both
    /// fall back to this node's memory; issue 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'static str>,
}

/// Components of the detailed health.
#[derive(Serialize, ToSchema)]
pub struct Components {
    pub database: Component,
    pub cache: Component,
    pub system: Component,
    /// Leader and heartbeat of the scheduler (issue 11).
    pub scheduler: wf_services::scheduler::SchedulerHealth,
}

/// Detailed health.
#[derive(Serialize, ToSchema)]
pub struct DetailedHealth {
    pub status: &'static str,
    /// Asia/Shanghai ISO-8601.
    pub timestamp: String,
    pub version: &'static str,
    pub components: Components,
}

/// Application name and version.
#[derive(Serialize, ToSchema)]
pub struct AppInfo {
    pub app_name: String,
    pub app_version: String,
}

/// `GET /health/ping` — does not touch the database.
#[utoipa::path(get, path = "/api/v1/health/ping", tag = "health", operation_id = "health_ping", responses((status = 200, body = Ping)))]
pub async fn ping() -> Response {
    ok("健康检查成功", &Ping { status: "ok" })
}

/// `GET /health/basic`.
#[utoipa::path(get, path = "/api/v1/health/basic", tag = "health", operation_id = "health_basic", responses((status = 200, body = BasicHealth)))]
pub async fn basic() -> Response {
    let timestamp = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    ok(
        "服务运行正常",
        &BasicHealth {
            status: "healthy",
            timestamp,
            version: "1.0.7",
        },
    )
}

async fn probe(st: &AppState) -> (bool, bool) {
    (
        wf_services::options::store_healthy(&st.svc).await,
        st.cache_healthy().await,
    )
}

fn overall(db: bool, cache: bool) -> &'static str {
    if db && cache { "healthy" } else { "unhealthy" }
}

/// `GET /health/health`.
#[utoipa::path(get, path = "/api/v1/health/health", tag = "health", operation_id = "health_health", responses((status = 200, body = Health)))]
pub async fn health(State(st): State<AppState>) -> Response {
    let (db, cache) = probe(&st).await;
    let data = Health {
        status: overall(db, cache),
        database: state(db),
        redis: state(cache),
        timestamp: china_now(),
        uptime: uptime(&st),
    };
    ok("操作成功", &data)
}

/// `GET /health/detailed`.
#[utoipa::path(get, path = "/api/v1/health/detailed", tag = "health", operation_id = "health_detailed",
    responses((status = 200, body = DetailedHealth)))]
pub async fn detailed(State(st): State<AppState>) -> Response {
    let (db, cache) = probe(&st).await;
    let scheduler = wf_services::scheduler::health(&st.svc).await;
    let data = DetailedHealth {
        status: overall(db, cache && scheduler.healthy),
        timestamp: china_now(),
        version: "1.0.7",
        components: Components {
            database: Component {
                healthy: db,
                status: state(db),
                backend: None,
            },
            cache: Component {
                healthy: cache,
                status: state(cache),
                backend: Some(match (st.settings.cache_type == "redis", cache) {
                    (false, _) => "memory",
                    (true, true) => "redis",
                    (true, false) => "memory (redis unreachable)",
                }),
            },
            system: Component {
                healthy: true,
                status: "ok",
                backend: None,
            },
            scheduler,
        },
    };
    ok("操作成功", &data)
}

/// `GET /health/cache` (login).
#[utoipa::path(get, path = "/api/v1/health/cache", tag = "health", operation_id = "health_cache", responses((status = 200, body = Component)))]
pub async fn cache(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    let healthy = st.cache_healthy().await;
    Ok(ok(
        "缓存健康检查成功",
        &Component {
            healthy,
            status: state(healthy),
            backend: None,
        },
    ))
}

/// `GET /admin/app-info`.
#[utoipa::path(get, path = "/api/v1/admin/app-info", tag = "admin", operation_id = "admin_app_info", responses((status = 200, body = AppInfo)))]
pub async fn app_info(State(st): State<AppState>) -> Response {
    let data = AppInfo {
        app_name: st.settings.app_name.clone(),
        app_version: st.settings.app_version.clone(),
    };
    ok("获取应用信息成功", &data)
}
