//! The unified log centre on the selected store (issue 11): application events reach
//! `unified_logs` through the tracing layer and the batched writer, secrets never do, the
//! request's id travels from `X-Request-Id` into the entry; list/search/statistics/modules/
//! detail/export per the contract. One test per binary: the writer is process-wide.

mod common;

use common::TestApp;
use serde_json::json;
use tracing_subscriber::prelude::*;

#[tokio::test]
async fn events_reach_the_log_centre_without_secrets() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    tracing_subscriber::registry()
        .with(wf_services::logcentre::UnifiedLogLayer)
        .init();
    wf_services::logcentre::install(app.state.svc.store().clone());
    tracing::info!(
        module = "log_test",
        password = "hunter2",
        nested = "plain",
        "first entry"
    );
    tracing::warn!(module = "log_test", token = "abc", "=cmd|' /C calc'!A0");
    tracing::error!(module = "other_mod", "something broke");
    // inside a request: a capacity sync of an unreachable instance logs a warning
    let iid = app
        .create_instance(
            json!({"name": "log-closed", "db_type": "postgresql", "host": "127.0.0.1", "port": 1}),
        )
        .await;
    let token = app.fetch_csrf().await;
    let r = app
        .send(
            "POST",
            &format!("/api/v1/instances/{iid}/actions/sync-capacity"),
            Some(("application/json", b"{}".to_vec())),
            &[("X-CSRFToken", &token), ("X-Request-Id", "req-log-test-1")],
        )
        .await;
    let e = r.err(409, "DATABASE_CONNECTION_ERROR", None);
    assert_eq!(e["context"]["request_id"], "req-log-test-1");
    assert_eq!(e["context"]["user_id"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let l = app
        .get("/api/v1/history/logs/list?module=log_test")
        .await
        .ok(200, "日志列表获取成功");
    assert_eq!(l["total"], 2, "{l}");
    let first = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["message"] == "first entry")
        .unwrap();
    assert_eq!(first["context"]["password"], "***");
    assert_eq!(first["context"]["nested"], "plain");
    assert_eq!(first["level"], "INFO");
    assert!(first["timestamp"].as_str().unwrap().ends_with("+08:00"));
    let all = app
        .get("/api/v1/history/logs/search?search=req-log-test-1")
        .await
        .ok(200, "操作成功");
    assert!(
        all["total"].as_u64().unwrap() >= 1,
        "the request's entries carry its id: {all}"
    );
    assert_eq!(all["items"][0]["context"]["user_id"], 1);
    let errs = app
        .get("/api/v1/history/logs/list?level=error")
        .await
        .ok(200, "日志列表获取成功");
    assert!(
        errs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["level"] == "ERROR")
    );
    let asc = app
        .get("/api/v1/history/logs/list?sort=id&order=asc&page_size=1")
        .await
        .ok(200, "日志列表获取成功");
    assert_eq!(asc["items"][0]["message"], "first entry");
    let id = asc["items"][0]["id"].as_i64().unwrap();
    let d = app
        .get(&format!("/api/v1/history/logs/detail/{id}"))
        .await
        .ok(200, "操作成功");
    assert_eq!(d["log"]["module"], "log_test");
    app.get("/api/v1/history/logs/detail/999999")
        .await
        .err(404, "INVALID_REQUEST", None);
    let m = app
        .get("/api/v1/history/logs/modules")
        .await
        .ok(200, "操作成功");
    let mods: Vec<&str> = m["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        mods.contains(&"log_test") && mods.contains(&"other_mod"),
        "{mods:?}"
    );
    let s = app
        .get("/api/v1/history/logs/statistics?hours=abc")
        .await
        .ok(200, "操作成功");
    assert!(s["total_logs"].as_i64().unwrap() >= 4);
    assert!(s["error_count"].as_i64().unwrap() >= 1);
    assert!(s["error_rate"].as_f64().unwrap() > 0.0);
    for (q, msg) in [
        ("level=verbose", "日志级别参数无效"),
        ("hours=0", "hours 参数必须为正整数"),
        ("hours=x", "hours 参数格式无效"),
    ] {
        app.get(&format!("/api/v1/history/logs/list?{q}"))
            .await
            .err(400, "VALIDATION_ERROR", Some(msg));
    }

    // export: JSON (UTC) and CSV (China time, flattened context, formula guard)
    let r = app.get("/api/v1/files/log-export?module=log_test").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    assert_eq!(doc["logs"].as_array().unwrap().len(), 2);
    assert!(
        doc["logs"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );
    assert!(!r.text.contains("hunter2") && !r.text.contains("\"abc\""));
    let r = app
        .get("/api/v1/files/log-export?format=CSV&module=log_test&limit=1")
        .await;
    assert_eq!(r.status, 200);
    let lines: Vec<&str> = r.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "ID,时间戳,级别,模块,消息,堆栈追踪,上下文,创建时间"
    );
    assert!(
        lines[1].contains(",WARNING,log_test,'=cmd|"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("token: ***"), "{}", lines[1]);
    assert_eq!(lines.len(), 3);
    for (q, msg) in [
        ("format=xml", "不支持的导出格式"),
        ("limit=0", "limit 参数无效"),
        ("start_time=yesterday", "start_time 格式无效"),
        ("level=loud", "日志级别参数无效"),
    ] {
        app.get(&format!("/api/v1/files/log-export?{q}")).await.err(
            400,
            "VALIDATION_ERROR",
            Some(msg),
        );
    }
    app.create_user("loguser", "user", "Loguser123").await;
    let mut u = app.client();
    u.login("loguser", "Loguser123").await;
    u.get("/api/v1/history/logs/list").await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 admin 权限"),
    );
    u.get("/api/v1/files/log-export").await.err(
        403,
        "ADMIN_PERMISSION_REQUIRED",
        Some("需要管理员权限"),
    );
    let (written, _dropped) = wf_services::logcentre::counters();
    assert!(written >= 4);
}
