//! Capacity read models through HTTP on both stores (issue 10): size facts seeded through the
//! store repositories for known days, the weekly aggregation computed by the set-based
//! statements (values checked by hand), then the lists, summaries, ledger, trend, sizes and
//! export endpoints with their error paths.

mod common;

use chrono::NaiveDate;
use common::TestApp;
use serde_json::json;
use wf_domain::capacity::PeriodType;
use wf_store::repo::capacity::{self as repo, AggregationScope};

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

#[tokio::test]
async fn aggregation_values_and_read_models() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let a = app
        .create_instance(
            json!({"name": "cap-a", "db_type": "mysql", "host": "10.0.0.1", "port": 3306}),
        )
        .await as i32;
    let b = app
        .create_instance(
            json!({"name": "cap-b", "db_type": "postgresql", "host": "10.0.0.2", "port": 5432}),
        )
        .await as i32;
    let db = app.state.svc.store().clone();
    repo::reconcile_inventory(&db, a, &["sales".into(), "hr".into()], d(11, 10))
        .await
        .unwrap();
    // previous week (Nov 9–15) and the week of Nov 16 (Monday)
    for (day, sales) in [
        (d(11, 10), 100),
        (d(11, 12), 110),
        (d(11, 16), 120),
        (d(11, 17), 131),
        (d(11, 18), 140),
    ] {
        let rows = vec![
            ("sales".to_string(), sales, Some(sales), None),
            ("hr".to_string(), 50, Some(50), None),
        ];
        assert!(repo::save_sizes(&db, a, day, &rows).await.unwrap());
    }
    let range = wf_services::aggregation::range_of(PeriodType::Weekly, d(11, 16), d(11, 22));
    assert_eq!((range.prev_start, range.prev_end), (d(11, 9), d(11, 15)));
    for _ in 0..2 {
        // idempotent
        let n = repo::aggregate_databases(&db, AggregationScope::Active, &range)
            .await
            .unwrap();
        assert_eq!(n.get(&a), Some(&2));
        let n = repo::aggregate_instances(&db, AggregationScope::Active, &range)
            .await
            .unwrap();
        assert_eq!((n.get(&a), n.get(&b)), (Some(&1), None));
    }

    // instance level: totals 170/181/190 vs 150/160
    let l = app
        .get("/api/v1/capacity/instances?period_type=weekly")
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (
            l["total"].as_u64(),
            l["pages"].as_u64(),
            l["has_next"].as_bool()
        ),
        (Some(1), Some(1), Some(false))
    );
    let i = &l["items"][0];
    assert_eq!(
        i["instance"],
        json!({"id": a, "name": "cap-a", "db_type": "mysql"})
    );
    assert_eq!(
        (i["period_start"].as_str(), i["period_end"].as_str()),
        (Some("2026-11-16"), Some("2026-11-22"))
    );
    assert_eq!(
        [
            &i["total_size_mb"],
            &i["avg_size_mb"],
            &i["max_size_mb"],
            &i["min_size_mb"],
            &i["data_count"],
            &i["database_count"]
        ],
        [
            &json!(180),
            &json!(90),
            &json!(190),
            &json!(170),
            &json!(3),
            &json!(2)
        ]
    );
    assert_eq!(i["total_size_change_mb"], 25);
    assert_eq!(i["total_size_change_percent"], 16.13);
    assert_eq!(i["growth_rate"], 16.13);
    assert_eq!(i["trend_direction"], "growing");
    assert_eq!(i["avg_database_count"], 2.0);
    assert_eq!(i["database_count_change"], 0);
    let empty = app
        .get("/api/v1/capacity/instances?period_type=monthly")
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (empty["total"].as_u64(), empty["pages"].as_u64()),
        (Some(0), Some(1))
    );
    let top = app
        .get("/api/v1/capacity/instances?get_all=TRUE&page=3")
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (top["total"].as_u64(), top["page"].as_u64()),
        (Some(1), Some(3))
    );
    let s = app
        .get("/api/v1/capacity/instances/summary?db_type=mysql&end_date=2026-11-17")
        .await
        .ok(200, "操作成功")["summary"]
        .clone();
    assert_eq!(
        s,
        json!({"total_instances": 1, "total_size_mb": 181, "avg_size_mb": 181.0, "max_size_mb": 181, "period_type": "all", "source": "instance_size_stats"})
    );

    // database level: sales 120/131/140 vs 100/110
    let l = app
        .get(&format!(
            "/api/v1/capacity/databases?instance_id={a}&database_name=sales"
        ))
        .await
        .ok(200, "数据库统计聚合数据获取成功");
    let s = &l["items"][0];
    assert_eq!(
        [
            &s["avg_size_mb"],
            &s["max_size_mb"],
            &s["min_size_mb"],
            &s["data_count"],
            &s["size_change_mb"]
        ],
        [&json!(130), &json!(140), &json!(120), &json!(3), &json!(25)]
    );
    assert_eq!(s["size_change_percent"], 23.81);
    assert_eq!(s["data_size_change_percent"], 23.81);
    assert_eq!(s["avg_log_size_mb"], serde_json::Value::Null);
    assert_eq!(s["instance"]["name"], "cap-a");
    let none = app
        .get("/api/v1/capacity/databases?database_name=nope")
        .await
        .ok(200, "数据库统计聚合数据获取成功");
    assert_eq!(
        (none["total"].as_u64(), none["pages"].as_u64()),
        (Some(0), Some(0))
    );
    let top = app
        .get("/api/v1/capacity/databases?get_all=true")
        .await
        .ok(200, "数据库统计聚合数据获取成功");
    assert_eq!(
        (
            top["total"].as_u64(),
            top["limit"].as_u64(),
            top["pages"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    let sum = app
        .get("/api/v1/capacity/databases/summary?period_type=weekly")
        .await
        .ok(200, "数据库统计聚合汇总获取成功")["summary"]
        .clone();
    assert_eq!(
        sum,
        json!({"total_databases": 2, "total_instances": 1, "total_size_mb": 180, "avg_size_mb": 90.0, "max_size_mb": 140, "growth_rate": 0.0})
    );

    // ledger, trend, sizes, export
    let l = app
        .get("/api/v1/databases/ledgers?db_type=MySQL")
        .await
        .ok(200, "获取数据库台账成功");
    assert_eq!(
        (l["total"].as_u64(), l["per_page"].as_u64()),
        (Some(2), Some(20))
    );
    assert!(l.get("pages").is_none());
    let hr = &l["items"][0];
    assert_eq!(hr["database_name"], "hr");
    assert_eq!(hr["capacity"]["size_mb"], 50);
    assert_eq!(hr["capacity"]["size_bytes"], 50 * 1_048_576);
    assert_eq!(hr["capacity"]["label"], "50 MB");
    assert_eq!(
        hr["sync_status"],
        json!({"value": "completed", "label": "已更新", "variant": "success"})
    );
    assert_eq!(
        hr["instance"],
        json!({"id": a, "name": "cap-a", "host": "10.0.0.1", "db_type": "mysql"})
    );
    let sales_id = l["items"][1]["id"].as_i64().unwrap();
    // search: database name (case-insensitive) or the instance's name/host
    for (q, names) in [
        ("SAL", vec!["sales"]),
        ("cap-a", vec!["hr", "sales"]),
        ("10.0.0.1", vec!["hr", "sales"]),
        ("nothing", vec![]),
    ] {
        let v = app
            .get(&format!("/api/v1/databases/ledgers?search={q}"))
            .await
            .ok(200, "获取数据库台账成功");
        let got: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["database_name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names, "search {q}");
        assert_eq!(v["total"], names.len());
    }
    let t = app
        .get(&format!(
            "/api/v1/databases/ledgers/{sales_id}/capacity-trend?days=abc"
        ))
        .await
        .ok(200, "获取容量走势成功");
    assert_eq!(t["database"]["name"], "sales");
    let sizes: Vec<i64> = t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["size_mb"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes.len(), 5, "{t}");
    app.get("/api/v1/databases/ledgers/999999/capacity-trend")
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("数据库不存在或已删除"));
    let h = app
        .get(&format!(
            "/api/v1/instances/{a}/databases/sizes?limit=3&start_date=bad"
        ))
        .await
        .ok(200, "数据库大小数据获取成功");
    assert_eq!(
        (
            h["total"].as_u64(),
            h["databases"].as_array().unwrap().len()
        ),
        (Some(10), 3)
    );
    assert_eq!(h["databases"][0]["collected_date"], "2026-11-18");
    assert!(h.get("active_count").is_none());
    let latest = app
        .get(&format!(
            "/api/v1/instances/{a}/databases/sizes?latest_only=true"
        ))
        .await
        .ok(200, "数据库大小数据获取成功");
    assert_eq!(latest["databases"][0]["database_name"], "sales");
    assert_eq!(
        (
            latest["total_size_mb"].as_f64(),
            latest["active_count"].as_u64()
        ),
        (Some(190.0), Some(2))
    );
    app.get(&format!("/api/v1/instances/{a}/databases/sizes?limit=x"))
        .await
        .err(400, "VALIDATION_ERROR", Some("limit 必须为整数"));
    let r = app.get("/api/v1/files/database-ledger-export?tags=").await;
    assert_eq!(r.status, 200);
    let lines: Vec<&str> = r.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "数据库名称,实例名称,主机,数据库类型,标签,最新容量,最后采集时间,同步状态"
    );
    assert!(
        lines[1].starts_with("hr,cap-a,10.0.0.1,mysql,-,50 MB,2026-"),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(",已更新"));

    // errors and permissions
    app.get("/api/v1/capacity/instances?start_date=2026-13-01")
        .await
        .err(400, "VALIDATION_ERROR", Some("无法解析日期"));
    app.get("/api/v1/capacity/instances?time_range=week")
        .await
        .err(400, "VALIDATION_ERROR", Some("time_range 必须为整数(天)"));
    app.get("/api/v1/capacity/databases?end_date=x").await.err(
        400,
        "VALIDATION_ERROR",
        Some("无法解析日期"),
    );
    app.create_user("capuser", "user", "Capuser123").await;
    let mut u = app.client();
    u.login("capuser", "Capuser123").await;
    u.get("/api/v1/capacity/instances")
        .await
        .ok(200, "操作成功");
    u.get("/api/v1/databases/ledgers").await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 database_ledger.view 权限"),
    );
    u.get("/api/v1/files/database-ledger-export")
        .await
        .err(403, "PERMISSION_REQUIRED", None);
}
