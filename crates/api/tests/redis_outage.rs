//! Redis going away (issue 16): a Redis server the test starts itself on a loopback port is
//! killed under a node with `CACHE_TYPE=redis`. Logins keep working and the login rate limit
//! still holds (the limiter falls back to the node's memory), cached reads fall back to the
//! store, and `/health/detailed` says the cache is unhealthy and served from memory. The
//! Redis process is stopped by its pid.

mod common;

use common::TestApp;
use serde_json::json;
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_limiter_and_cache_fall_back_and_health_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = format!("redis://127.0.0.1:{port}/0");
    let mut app = TestApp::with_env(&[("CACHE_TYPE", "redis"), ("CACHE_REDIS_URL", &url)]).await;
    app.login_admin().await;
    let h = app.get("/api/v1/health/detailed").await.ok(200, "操作成功");
    assert_eq!(h["components"]["cache"]["backend"], "redis", "{h}");
    assert_eq!(h["components"]["cache"]["healthy"], true);

    let _ = redis.kill();
    let _ = redis.wait();

    // reads that use the cache fall back to the store
    app.get("/api/v1/instances")
        .await
        .ok(200, "获取实例列表成功");
    app.get("/api/v1/accounts/classifications/rules")
        .await
        .ok(200, "分类规则列表获取成功");
    // the rule cache misses and reads the store
    wf_services::classification_cache::active_rules(&app.state.svc, "x")
        .await
        .expect("rules from the store while Redis is down");
    let h = app.get("/api/v1/health/detailed").await.ok(200, "操作成功");
    assert_eq!(h["status"], "unhealthy", "{h}");
    assert_eq!(h["components"]["cache"]["healthy"], false);
    assert_eq!(
        h["components"]["cache"]["backend"],
        "memory (redis unreachable)"
    );
    // the login limit still holds: 10 attempts per window, the 11th is refused
    let mut other = app.client();
    other.fetch_csrf().await;
    for _ in 0..10 {
        other
            .post(
                "/api/v1/auth/login",
                json!({"username": "admin", "password": "nope"}),
            )
            .await
            .err(401, "INVALID_CREDENTIALS", None);
    }
    let r = other
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "nope"}),
        )
        .await;
    r.err(429, "RATE_LIMIT_EXCEEDED", Some("请求过于频繁,请稍后再试"));
    // the logged-in session keeps working
    app.get("/api/v1/users").await.ok(200, "获取用户列表成功");
}
