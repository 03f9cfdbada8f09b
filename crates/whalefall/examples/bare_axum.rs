//! The yardstick of `bench/ping.sh` (issue 16): a bare axum 0.8 JSON handler answering
//! `GET /api/v1/health/ping` with the same envelope as WhaleFall, no middleware.
//! Usage: `bare_axum [ADDR]` (default `127.0.0.1:5098`).

use axum::{Json, Router, routing::get};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5098".into());
    let app = Router::new().route(
        "/api/v1/health/ping",
        get(|| async {
            Json(serde_json::json!({
                "success": true, "error": false, "message": "健康检查成功",
                "timestamp": chrono_free_now(), "data": {"status": "ok"}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}

/// Seconds since the epoch as text (the envelope's timestamp without a date library).
fn chrono_free_now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("{:.6}", d.as_secs_f64()))
        .unwrap_or_default()
}
