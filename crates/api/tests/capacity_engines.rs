//! Capacity collection against this machine's PostgreSQL and MariaDB (issue 10): databases
//! created and filled by the test, synced through `POST /instances/{id}/actions/sync-capacity`,
//! their sizes compared with what the servers report, the inventory reconciled (a dropped
//! database deactivated), then today's aggregation. Everything created is dropped at the end.

mod common;

use common::{TestApp, my_exec, my_i64, pg_exec, pg_exec_in, pg_i64, unique};
use serde_json::{Value, json};

fn database<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["database_name"] == name)
        .unwrap_or_else(|| panic!("{name} not collected: {result}"))
}

#[tokio::test]
async fn size_collection_on_real_servers() {
    let u = unique();
    let (pg_db, pg_small, my_db, mon) = (
        format!("wf_{u}_cap"),
        format!("wf_{u}_small"),
        format!("wf_{u}_cap"),
        format!("wf_{u}_mon"),
    );
    pg_exec(&[
        format!("CREATE DATABASE {pg_db}"),
        format!("CREATE DATABASE {pg_small}"),
    ])
    .await;
    // ~20 MB of rows
    pg_exec_in(
        &pg_db,
        &["CREATE TABLE t AS SELECT g AS v FROM generate_series(1, 500000) g".to_string()],
    )
    .await;
    my_exec(&[
        format!("CREATE DATABASE `{my_db}`"),
        format!("CREATE TABLE `{my_db}`.t (v varchar(1000)) ENGINE=InnoDB"),
        format!("INSERT INTO `{my_db}`.t SELECT REPEAT(MD5(RAND()), 30) FROM seq_1_to_6000"),
        format!("CREATE DATABASE `tmp_{u}`"),
        format!("CREATE USER '{mon}'@'%' IDENTIFIED BY 'Monitor123'"),
        format!("GRANT SELECT, PROCESS, SHOW DATABASES ON *.* TO '{mon}'@'%'"),
    ])
    .await;
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let pc = app
        .create_credential(&format!("pg-{u}"), "postgres", "trustauth")
        .await;
    let pg = app.create_instance(json!({"name": format!("pg-{u}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "credential_id": pc})).await;
    let mc = app
        .create_credential(&format!("my-{u}"), &mon, "Monitor123")
        .await;
    let my = app.create_instance(json!({"name": format!("my-{u}"), "db_type": "mysql", "host": "127.0.0.1", "port": 3306, "credential_id": mc})).await;

    // PostgreSQL: floor MB of pg_database_size, templates and `postgres` not inventoried
    let r = app
        .post(
            &format!("/api/v1/instances/{pg}/actions/sync-capacity"),
            json!({}),
        )
        .await
        .ok(200, &format!("实例 pg-{u} 的容量同步任务已成功完成"))["result"]
        .clone();
    let expected = pg_i64(&format!("SELECT pg_database_size('{pg_db}') / 1048576")).await;
    let got = database(&r, &pg_db)["size_mb"].as_i64().unwrap();
    assert!(
        (got - expected).abs() <= 1 && got >= 17,
        "collected {got} MB, server says {expected} MB"
    );
    assert_eq!(database(&r, &pg_db)["data_size_mb"].as_i64(), Some(got));
    assert!(r["inventory"]["created"].as_u64().unwrap() >= 2);
    let active = r["inventory"]["active_databases"].as_array().unwrap();
    assert!(active.contains(&json!(pg_db)) && !active.contains(&json!("postgres")));
    assert!(
        !active
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("template"))
    );
    assert_eq!(r["instance_stat_updated"], true);
    assert_eq!(
        r["total_size_mb"].as_i64().unwrap(),
        r["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["size_mb"].as_i64().unwrap())
            .sum::<i64>()
    );
    assert_eq!(
        r["message"],
        format!("成功采集并保存 {} 个数据库的容量信息", r["database_count"])
    );

    // MariaDB: InnoDB files rounded up, system schemas and `tmp_%` filtered
    let r = app
        .post(
            &format!("/api/v1/instances/{my}/actions/sync-capacity"),
            json!({}),
        )
        .await
        .ok(200, &format!("实例 my-{u} 的容量同步任务已成功完成"))["result"]
        .clone();
    let bytes = my_i64(&format!(
        "SELECT CAST(SUM(FILE_SIZE) AS SIGNED) FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE '{my_db}/%'"
    ))
    .await;
    let got = database(&r, &my_db)["size_mb"].as_i64().unwrap();
    assert_eq!(got, (bytes + 1_048_575) / 1_048_576, "{r}");
    assert!(got >= 5, "6,000 rows of 960 bytes: {got} MB");
    let filtered = r["inventory"]["filtered_databases"].as_array().unwrap();
    for f in [
        "information_schema",
        "mysql",
        "performance_schema",
        &format!("tmp_{u}"),
    ] {
        assert!(
            filtered.contains(&json!(f)),
            "{f} not filtered: {filtered:?}"
        );
    }

    // a dropped database is deactivated at the next sync, a re-sync of the day overwrites
    pg_exec(&[format!("DROP DATABASE {pg_small}")]).await;
    let r = app
        .post(
            &format!("/api/v1/instances/{pg}/actions/sync-capacity"),
            json!({}),
        )
        .await
        .ok(200, &format!("实例 pg-{u} 的容量同步任务已成功完成"))["result"]
        .clone();
    assert_eq!(r["inventory"]["deactivated"], 1, "{}", r["inventory"]);
    assert_eq!(r["inventory"]["created"], 0);

    // errors: unknown instance, unreachable instance (409 with extra)
    app.post("/api/v1/instances/999999/actions/sync-capacity", json!({}))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("实例不存在"));
    let closed = app.create_instance(json!({"name": format!("closed-{u}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 1, "credential_id": pc})).await;
    let e = app
        .post(
            &format!("/api/v1/instances/{closed}/actions/sync-capacity"),
            json!({}),
        )
        .await;
    let body = e
        .err(
            409,
            "DATABASE_CONNECTION_ERROR",
            Some(&format!("无法连接到实例 closed-{u}")),
        )
        .clone();
    assert_eq!(body["extra"]["instance_id"], closed);

    // today's aggregation over what was collected, as a session
    let a = app
        .post(
            "/api/v1/capacity/aggregations/current",
            json!({"period_type": "Weekly"}),
        )
        .await
        .ok(200, "已仅聚合今日数据")["result"]
        .clone();
    assert_eq!(
        (
            a["status"].as_str(),
            a["effective_period_type"].as_str(),
            a["requested_period_type"].as_str()
        ),
        (Some("completed"), Some("daily"), Some("weekly"))
    );
    assert_eq!(a["database_summary"]["processed_instances"], 2, "{a}");
    assert_eq!(a["instance_summary"]["processed_records"], 2);
    assert_eq!(a["session"]["sync_category"], "aggregation");
    assert_eq!(a["session"]["status"], "completed");
    assert_eq!(a["session"]["total_instances"], 3);
    let sid = a["session"]["session_id"].as_str().unwrap().to_string();
    let d = app
        .get(&format!("/api/v1/history/sessions/{sid}"))
        .await
        .ok(200, "获取同步会话详情成功");
    let recs = d["session"]["instance_records"].as_array().unwrap();
    assert!(recs.iter().all(|r| r["status"] == "completed"), "{d}");
    let pg_rec = recs.iter().find(|r| r["instance_id"] == pg).unwrap();
    assert!(pg_rec["items_synced"].as_i64().unwrap() >= 2, "{pg_rec}");
    app.post(
        "/api/v1/capacity/aggregations/current",
        json!({"scope": "tables"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("scope 参数仅支持 instance、database 或 all"),
    );
    let a = app
        .post(
            "/api/v1/capacity/aggregations/current",
            json!({"scope": "DATABASE"}),
        )
        .await
        .ok(200, "已仅聚合今日数据")["result"]
        .clone();
    assert!(a["instance_summary"].is_null() && a["database_summary"].is_object());

    // the scheduled collection of every instance: a capacity session in the background
    let sid = wf_services::capacity::start_collect_all(&app.state.svc, "scheduled_task", None)
        .await
        .unwrap();
    let mut detail = serde_json::Value::Null;
    for _ in 0..300 {
        detail = app
            .get(&format!("/api/v1/history/sessions/{sid}"))
            .await
            .ok(200, "获取同步会话详情成功")["session"]
            .clone();
        if detail["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(detail["sync_category"], "capacity");
    assert_eq!(detail["status"], "completed_with_errors", "{detail}");
    assert_eq!(
        (
            detail["successful_instances"].as_i64(),
            detail["failed_instances"].as_i64()
        ),
        (Some(2), Some(1)),
        "{detail}"
    );
    let recs = detail["instance_records"].as_array().unwrap();
    let rec = |id: i64| recs.iter().find(|r| r["instance_id"] == id).unwrap();
    assert_eq!(rec(my)["status"], "completed");
    assert!(rec(my)["items_synced"].as_i64().unwrap() >= 1);
    assert!(rec(my)["sync_details"]["total_size_mb"].as_i64().unwrap() >= 5);
    assert_eq!(rec(closed)["status"], "failed");
    assert_eq!(
        rec(closed)["error_message"],
        format!("无法连接到实例 closed-{u}")
    );

    pg_exec(&[format!("DROP DATABASE {pg_db} WITH (FORCE)")]).await;
    my_exec(&[
        format!("DROP DATABASE `{my_db}`"),
        format!("DROP DATABASE `tmp_{u}`"),
        format!("DROP USER '{mon}'@'%'"),
    ])
    .await;
}
