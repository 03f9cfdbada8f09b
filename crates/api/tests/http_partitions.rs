//! Partition management through HTTP on both stores (issue 10): real monthly partitions on
//! PostgreSQL, logical month buckets on SQLite. Writes for a month without a partition create
//! it first; cleanup never touches the current or a future month.

mod common;

use chrono::NaiveDate;
use common::{TestApp, store_kind};
use serde_json::json;
use wf_domain::capacity::{china_today, month_start};
use wf_store::repo::capacity as repo;

#[tokio::test]
async fn partitions_on_the_selected_store() {
    let pg = store_kind() == "postgres";
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let today = china_today(chrono::Utc::now());
    let this = month_start(today, 0);
    let s = app
        .get("/api/v1/partition/status")
        .await
        .ok(200, "分区状态获取成功");
    assert_eq!(s["data"]["status"], "healthy", "{s}");
    assert_eq!(s["data"]["missing_partitions"], json!([]));
    assert!(s["timestamp"].as_str().unwrap().ends_with("+00:00"));
    let name = |t: &str, m: NaiveDate| format!("{t}_{}", m.format("%Y_%m"));
    let current = name("database_size_stats", this);
    let i = app
        .get("/api/v1/partition/info")
        .await
        .ok(200, "分区信息获取成功");
    let entry = i["data"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == current.as_str())
        .unwrap_or_else(|| panic!("{current} missing: {i}"))
        .clone();
    assert_eq!(
        (
            entry["status"].as_str(),
            entry["table_type"].as_str(),
            entry["display_name"].as_str()
        ),
        (Some("current"), Some("stats"), Some("数据库统计表"))
    );
    assert_eq!(entry["date"], this.format("%Y/%m/%d").to_string());
    assert_eq!(
        i["data"]["tables"],
        json!([
            "stats",
            "aggregations",
            "instance_stats",
            "instance_aggregations"
        ])
    );

    // a write for a month without a partition creates it first (e.g. a back-filled day)
    let inst = app
        .create_instance(json!({"name": "part-a", "db_type": "mysql", "host": "h", "port": 3306}))
        .await as i32;
    let old = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
    let db = app.state.svc.store().clone();
    repo::save_sizes(&db, inst, old, &[("app".into(), 10, Some(10), None)])
        .await
        .unwrap();
    let l = app
        .get("/api/v1/partition/partitions?search=2025_01&sort=record_count&order=desc")
        .await
        .ok(200, "分区列表获取成功");
    assert!(l["total"].as_u64().unwrap() >= 2, "{l}");
    assert_eq!(l["items"][0]["status"], "past");
    assert!(
        l["items"][0]["record_count"].as_i64().unwrap() >= 1 || pg,
        "{l}"
    );
    let clamped = app
        .get("/api/v1/partition/partitions?page=99&table_type=STATS")
        .await
        .ok(200, "分区列表获取成功");
    assert_eq!(clamped["page"], clamped["pages"]);

    // create: current/future months only; existing ones reported
    let next = month_start(today, 5);
    let r = app
        .post(
            "/api/v1/partition/create",
            json!({"date": next.to_string()}),
        )
        .await
        .ok(200, "分区创建任务已触发")["result"]
        .clone();
    assert_eq!(r["partition_window"]["start"], next.to_string());
    assert_eq!(r["actions"].as_array().unwrap().len(), 4);
    // both stores: a new month is created (SQLite registers its bucket, issue 16)
    assert_eq!(r["actions"][0]["status"], "created");
    let again = app
        .post(
            "/api/v1/partition/create",
            json!({"date": next.to_string()}),
        )
        .await
        .ok(200, "分区创建任务已触发")["result"]
        .clone();
    assert!(
        again["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "exists")
    );
    // and it is listed, empty, on both stores
    let ym = next.format("%Y_%m").to_string();
    let listed = app
        .get(&format!("/api/v1/partition/partitions?search={ym}"))
        .await
        .ok(200, "分区列表获取成功");
    assert_eq!(listed["total"], 4, "{listed}");
    assert_eq!(listed["items"][0]["record_count"], 0);
    app.post("/api/v1/partition/create", json!({"date": "2020-01-01"}))
        .await
        .err(
            400,
            "VALIDATION_ERROR",
            Some("只能创建当前或未来月份的分区"),
        );
    app.post("/api/v1/partition/create", json!({})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("缺少日期参数"),
    );
    app.post("/api/v1/partition/create", json!({"date": "2026/01/01"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("无法解析日期"));

    // cleanup: ≥ 1 month; the old month goes, the current and future ones stay
    app.post(
        "/api/v1/partition/cleanup",
        json!({"retention_months": "x"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("retention_months 必须为数字"));
    app.post("/api/v1/partition/cleanup", json!({"retention_months": 0}))
        .await
        .err(400, "VALIDATION_ERROR", None);
    let c = app
        .post(
            "/api/v1/partition/cleanup",
            json!({"retention_months": "6"}),
        )
        .await
        .ok(200, "旧分区清理任务已触发")["result"]
        .clone();
    assert_eq!(c["cutoff_date"], month_start(today, -6).to_string());
    let dropped: Vec<&str> = c["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["partition_name"].as_str().unwrap())
        .collect();
    assert!(dropped.contains(&"database_size_stats_2025_01"), "{c}");
    assert!(
        !dropped
            .iter()
            .any(|d| d.ends_with(&this.format("%Y_%m").to_string()))
    );
    let s = app
        .get("/api/v1/partition/status")
        .await
        .ok(200, "分区状态获取成功");
    assert_eq!(s["data"]["status"], "healthy");
    // writing the old month again works: its partition is recreated
    repo::save_sizes(&db, inst, old, &[("app".into(), 11, Some(11), None)])
        .await
        .unwrap();
    let st = app
        .get("/api/v1/partition/statistics")
        .await
        .ok(200, "分区统计信息获取成功");
    assert!(st["data"]["total_partitions"].as_u64().unwrap() >= 12);

    // core metrics
    let m = app
        .get("/api/v1/partition/aggregations/core-metrics?period_type=Monthly&days=3")
        .await
        .ok(200, "核心聚合指标获取成功");
    assert_eq!(
        (m["dataPointCount"].as_u64(), m["periodType"].as_str()),
        (Some(3), Some("monthly"))
    );
    assert_eq!(m["chartTitle"], "Monthly核心指标统计");
    assert_eq!(m["datasets"][0]["label"], "实例数平均值(月)");
    assert_eq!(m["datasets"][3]["label"], "数据库月统计数量");
    assert_eq!(
        m["labels"][2],
        wf_domain::capacity::month_end(today).to_string()
    );
    let d = app
        .get("/api/v1/partition/aggregations/core-metrics?days=-4")
        .await
        .ok(200, "核心聚合指标获取成功");
    assert_eq!(d["labels"], json!([today.to_string()]));
    assert_eq!(d["datasets"][1]["label"], "实例日统计数量");
    app.get("/api/v1/partition/aggregations/core-metrics?period_type=yearly")
        .await
        .err(400, "VALIDATION_ERROR", Some("不支持的周期类型"));
    app.create_user("partuser", "user", "Partuser123").await;
    let mut u = app.client();
    u.login("partuser", "Partuser123").await;
    u.get("/api/v1/partition/info")
        .await
        .ok(200, "分区信息获取成功");
    u.post("/api/v1/partition/cleanup", json!({})).await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 admin 权限"),
    );
}
