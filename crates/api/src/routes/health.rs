//! Health (`api-v1.md` §4.3) and admin app-info (§4.4).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

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

async fn db_ok(st: &AppState) -> bool {
    let backend = st.db.get_database_backend();
    st.db
        .query_one_raw(Statement::from_string(backend, "SELECT 1"))
        .await
        .is_ok()
}

/// `"<d>天 <h>小时 <m>分钟"` since process start.
fn uptime(st: &AppState) -> String {
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

/// `GET /health/ping` — does not touch the database.
#[utoipa::path(get, path = "/api/v1/health/ping", tag = "health", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn ping() -> Response {
    ok("健康检查成功", json!({"status": "ok"}))
}

/// `GET /health/basic`.
#[utoipa::path(get, path = "/api/v1/health/basic", tag = "health", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn basic() -> Response {
    let ts = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    ok(
        "服务运行正常",
        json!({"status": "healthy", "timestamp": ts, "version": "1.0.7"}),
    )
}

/// `GET /health/health`.
#[utoipa::path(get, path = "/api/v1/health/health", tag = "health", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn health(State(st): State<AppState>) -> Response {
    let (db, cache) = (db_ok(&st).await, st.cache_healthy().await);
    let s = |b: bool| if b { "connected" } else { "error" };
    ok(
        "操作成功",
        json!({
            "status": if db && cache { "healthy" } else { "unhealthy" },
            "database": s(db),
            "redis": s(cache),
            "timestamp": china_now(),
            "uptime": uptime(&st),
        }),
    )
}

/// `GET /health/detailed`.
#[utoipa::path(get, path = "/api/v1/health/detailed", tag = "health", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn detailed(State(st): State<AppState>) -> Response {
    let (db, cache) = (db_ok(&st).await, st.cache_healthy().await);
    let s = |b: bool| if b { "connected" } else { "error" };
    ok(
        "操作成功",
        json!({
            "status": if db && cache { "healthy" } else { "unhealthy" },
            "timestamp": china_now(),
            "version": "1.0.7",
            "components": {
                "database": {"healthy": db, "status": s(db)},
                "cache": {"healthy": cache, "status": s(cache)},
                "system": {"healthy": true, "status": "ok"},
            },
        }),
    )
}

/// `GET /health/cache` (login).
#[utoipa::path(get, path = "/api/v1/health/cache", tag = "health", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn cache(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.require_login(&st).await?;
    let healthy = st.cache_healthy().await;
    Ok(ok(
        "缓存健康检查成功",
        json!({"healthy": healthy, "status": if healthy { "connected" } else { "error" }}),
    ))
}

/// `GET /admin/app-info`.
#[utoipa::path(get, path = "/api/v1/admin/app-info", tag = "admin", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn app_info(State(st): State<AppState>) -> Response {
    ok(
        "获取应用信息成功",
        json!({"app_name": st.settings.app_name, "app_version": st.settings.app_version}),
    )
}
