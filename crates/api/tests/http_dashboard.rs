//! Dashboard and health through HTTP on both stores (issue 11): overview numbers against
//! seeded rows, the contract's cache lifetime, charts, status, and the scheduler component of
//! the detailed health.

mod common;

use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn dashboard_numbers_and_health() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app.create_user("dashuser", "user", "Dashuser123").await;
    let a = app
        .create_instance(json!({"name": "dash-a", "db_type": "mysql", "host": "h1", "port": 3306}))
        .await as i32;
    app.create_instance(json!({"name": "dash-b", "db_type": "mysql", "host": "h2", "port": 3306, "is_active": false})).await;
    let gone = app
        .create_instance(json!({"name": "dash-c", "db_type": "mysql", "host": "h3", "port": 3306}))
        .await;
    app.post(&format!("/api/v1/instances/{gone}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    let db = app.state.svc.store().clone();
    let today = wf_domain::capacity::china_today(chrono::Utc::now());
    wf_store::repo::capacity::reconcile_inventory(
        &db,
        a,
        &["x".into(), "y".into(), "z".into()],
        today,
    )
    .await
    .unwrap();
    wf_store::repo::capacity::reconcile_inventory(&db, a, &["x".into(), "y".into()], today)
        .await
        .unwrap();
    wf_store::repo::capacity::save_sizes(
        &db,
        a,
        today,
        &[
            ("x".into(), 1536, None, None),
            ("y".into(), 512, None, None),
        ],
    )
    .await
    .unwrap();
    app.post("/api/v1/capacity/aggregations/current", json!({}))
        .await
        .ok(200, "已仅聚合今日数据");
    let o = app
        .get("/api/v1/dashboard/overview")
        .await
        .ok(200, "操作成功");
    assert_eq!(o["users"], json!({"total": 2, "active": 2}));
    assert_eq!(o["instances"], json!({"total": 3, "active": 1}));
    assert_eq!(o["accounts"], json!({"total": 0, "active": 0, "locked": 0}));
    assert_eq!(
        o["databases"],
        json!({"total": 3, "active": 2, "inactive": 1})
    );
    assert_eq!(o["capacity"], json!({"total_gb": 2.0, "usage_percent": 0}));
    assert_eq!(
        o["classified_accounts"],
        json!({"total": 0, "auto": 0, "classifications": []})
    );
    // cached for 300 s: a new instance is not seen yet
    app.create_instance(json!({"name": "dash-d", "db_type": "mysql", "host": "h4", "port": 3306}))
        .await;
    let o2 = app
        .get("/api/v1/dashboard/overview")
        .await
        .ok(200, "操作成功");
    assert_eq!(o2["instances"]["total"], 3);

    wf_services::scheduler::enable(&app.state.svc)
        .await
        .unwrap();
    let c = app
        .get("/api/v1/dashboard/charts?type=ALL")
        .await
        .ok(200, "操作成功");
    assert_eq!(c["log_trend"].as_array().unwrap().len(), 7);
    assert_eq!(c["log_trend"][6]["date"], today.to_string());
    assert_eq!(
        c["sync_trend"][6],
        json!({"date": today.to_string(), "count": 1})
    );
    assert_eq!(
        c["task_status"],
        json!([{"status": "active", "count": 5}, {"status": "inactive", "count": 0}])
    );
    let s = app
        .get("/api/v1/dashboard/charts?type=syncs")
        .await
        .ok(200, "操作成功");
    assert!(s.get("log_trend").is_none() && s["sync_trend"].is_array());
    assert_eq!(
        app.get("/api/v1/dashboard/charts?type=nope")
            .await
            .ok(200, "操作成功"),
        json!({})
    );
    assert_eq!(
        app.get("/api/v1/dashboard/activities")
            .await
            .ok(200, "操作成功"),
        json!([])
    );
    let st = app
        .get("/api/v1/dashboard/status")
        .await
        .ok(200, "操作成功");
    assert!(st["system"]["memory"]["total"].as_u64().unwrap() > 0);
    assert!(st["system"]["disk"]["total"].as_u64().unwrap() > 0);
    let cpu = st["system"]["cpu"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&cpu));
    assert_eq!(st["services"]["database"], "healthy");
    assert!(st["uptime"].as_str().unwrap().contains("天"));
    let mut anon = app.client();
    anon.get("/api/v1/dashboard/overview")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
    let mut u = app.client();
    u.login("dashuser", "Dashuser123").await;
    u.get("/api/v1/dashboard/overview")
        .await
        .ok(200, "操作成功");

    // the scheduler in the detailed health: enabled here without a loop → no live leader
    let h = anon
        .get("/api/v1/health/detailed")
        .await
        .ok(200, "操作成功");
    assert_eq!(h["components"]["scheduler"]["status"], "no_leader", "{h}");
    assert_eq!(h["status"], "unhealthy");
    wf_store::repo::leases::try_acquire(
        &db,
        "scheduler:leader",
        "other-node:scheduler",
        chrono::Duration::seconds(30),
    )
    .await
    .unwrap();
    let h = anon
        .get("/api/v1/health/detailed")
        .await
        .ok(200, "操作成功");
    assert_eq!(h["components"]["scheduler"]["status"], "follower");
    assert_eq!(h["components"]["scheduler"]["healthy"], true);
    assert_eq!(h["status"], "healthy");
}
