//! Scheduler through HTTP on both stores (issue 11): built-in jobs as rows, trigger edits
//! (crontab weekdays) that survive a restart and are reset by reload, pause/resume, run now
//! through the run ledger with `max_instances = 1`, and the error paths.

mod common;

use common::TestApp;
use serde_json::json;
use wf_store::repo::scheduler as repo;

const J: &str = "/api/v1/scheduler/jobs";

async fn wait_run(app: &TestApp, key: &str) -> wf_store::entity::task_run::Model {
    for _ in 0..100 {
        let runs = repo::runs_of(app.state.svc.store(), key, 1).await.unwrap();
        if let Some(r) = runs.into_iter().next().filter(|r| r.status != "running") {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{key} did not finish");
}

#[tokio::test]
async fn jobs_triggers_runs_and_reload() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    // the scheduler is not enabled on this node yet
    app.post(&format!("{J}/sync_accounts/pause"), json!({}))
        .await
        .err(409, "CONSTRAINT_VIOLATION", Some("调度器未启动"));
    wf_services::scheduler::enable(&app.state.svc)
        .await
        .unwrap();
    let l = app.get(J).await.ok(200, "任务列表获取成功");
    let ids: Vec<&str> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "calculate_database_size_aggregations",
            "cleanup_logs",
            "collect_database_sizes",
            "monitor_partition_health",
            "sync_accounts"
        ]
    );
    let sync = l
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "sync_accounts")
        .unwrap();
    assert_eq!(
        sync["trigger_args"],
        json!({"second": "0", "minute": "0", "hour": "1", "day": "*", "month": "*", "day_of_week": "*", "year": ""})
    );
    assert_eq!(
        (
            sync["state"].as_str(),
            sync["is_builtin"].as_bool(),
            sync["trigger_type"].as_str()
        ),
        (Some("STATE_RUNNING"), Some(true), Some("cron"))
    );
    assert_eq!(sync["description"], "账户同步");
    assert!(sync["next_run_time"].as_str().unwrap().ends_with("+00:00"));
    let d = app
        .get(&format!("{J}/sync_accounts"))
        .await
        .ok(200, "任务详情获取成功");
    assert_eq!(
        d["trigger"],
        "cron[month='*', day='*', day_of_week='*', hour='1', minute='0']"
    );
    assert_eq!(
        (
            d["max_instances"].as_i64(),
            d["coalesce"].as_bool(),
            d["misfire_grace_time"].as_i64()
        ),
        (Some(1), Some(true), Some(300))
    );
    app.get(&format!("{J}/nope"))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("任务不存在"));

    // a crontab expression: 1 = Monday
    app.put(
        &format!("{J}/sync_accounts"),
        json!({"trigger_type": "cron", "cron_expression": "30 2 * * 1"}),
    )
    .await
    .ok(200, "任务更新成功");
    let d = app
        .get(&format!("{J}/sync_accounts"))
        .await
        .ok(200, "任务详情获取成功");
    assert_eq!(
        d["trigger"],
        "cron[month='*', day='*', day_of_week='1', hour='2', minute='30']"
    );
    let next = chrono::DateTime::parse_from_rfc3339(d["next_run_time"].as_str().unwrap()).unwrap();
    let local = next.with_timezone(&chrono_tz::Asia::Shanghai);
    assert_eq!(local.format("%a %H:%M").to_string(), "Mon 02:30");
    for (body, msg) in [
        (json!({}), "缺少触发器类型配置"),
        (json!({"trigger_type": "cron"}), "无效的触发器配置"),
        (
            json!({"trigger_type": "cron", "cron_expression": "61 * * * *"}),
            "无效的触发器配置",
        ),
        (json!({"trigger_type": "hourly"}), "无效的触发器配置"),
        (
            json!({"trigger_type": "interval", "minutes": 0}),
            "无效的触发器配置",
        ),
    ] {
        app.put(&format!("{J}/sync_accounts"), body)
            .await
            .err(400, "VALIDATION_ERROR", Some(msg));
    }
    app.put(
        &format!("{J}/nope"),
        json!({"trigger_type": "cron", "hour": 1}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("任务不存在"));
    // a restart keeps the edit
    wf_services::scheduler::register_builtins(&app.state.svc)
        .await
        .unwrap();
    let d = app
        .get(&format!("{J}/sync_accounts"))
        .await
        .ok(200, "任务详情获取成功");
    assert_eq!(
        d["trigger"],
        "cron[month='*', day='*', day_of_week='1', hour='2', minute='30']"
    );
    app.put(
        &format!("{J}/cleanup_logs"),
        json!({"trigger_type": "interval", "hours": 6}),
    )
    .await
    .ok(200, "任务更新成功");
    let l = app.get(J).await.ok(200, "任务列表获取成功");
    let c = l
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "cleanup_logs")
        .unwrap();
    assert_eq!(
        (
            c["trigger_type"].as_str(),
            c["trigger_args"]["description"].as_str()
        ),
        (Some("interval"), Some("interval[6:00:00]"))
    );

    // pause / resume
    app.post(&format!("{J}/sync_accounts/pause"), json!({}))
        .await
        .ok(200, "任务暂停成功");
    let l = app.get(J).await.ok(200, "任务列表获取成功");
    let s = l
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "sync_accounts")
        .unwrap();
    assert_eq!(
        (s["state"].as_str(), s["next_run_time"].as_str()),
        (Some("STATE_PAUSED"), None)
    );
    app.post(&format!("{J}/sync_accounts/resume"), json!({}))
        .await
        .ok(200, "任务恢复成功");
    let d = app
        .get(&format!("{J}/sync_accounts"))
        .await
        .ok(200, "任务详情获取成功");
    assert!(d["next_run_time"].is_string());
    app.post(&format!("{J}/nope/pause"), json!({}))
        .await
        .err(404, "RESOURCE_NOT_FOUND", None);

    // run now: a manual run in the ledger; never two at once
    let r = app
        .post(&format!("{J}/monitor_partition_health/run"), json!({}))
        .await
        .ok(200, "任务已提交后台执行");
    assert_eq!(r["manual_job_id"], "monitor_partition_health_manual");
    let run = wait_run(&app, "monitor_partition_health").await;
    assert_eq!(
        (
            run.status.as_str(),
            run.trigger_source.as_str(),
            run.created_by
        ),
        ("completed", "manual", Some(1)),
        "{run:?}"
    );
    let l = app.get(J).await.ok(200, "任务列表获取成功");
    let m = l
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "monitor_partition_health")
        .unwrap();
    assert_eq!(
        m["last_run_time"].as_str().map(|s| &s[..10]),
        Some(&wf_domain::time::iso(&run.started_at)[..10])
    );
    wf_store::repo::leases::try_acquire(
        app.state.svc.store(),
        "job:cleanup_logs",
        "another-node",
        chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    app.post(&format!("{J}/cleanup_logs/run"), json!({}))
        .await
        .err(409, "CONSTRAINT_VIOLATION", Some("任务正在执行中"));
    app.post(&format!("{J}/nope/run"), json!({})).await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("任务不存在"),
    );

    // reload resets the defaults
    let r = app
        .post(&format!("{J}/reload"), json!({}))
        .await
        .ok(200, "已删除 5 个任务,重新加载 5 个任务");
    assert_eq!(
        (
            r["deleted_count"].as_u64(),
            r["reloaded"].as_array().unwrap().len()
        ),
        (Some(5), 5)
    );
    let d = app
        .get(&format!("{J}/sync_accounts"))
        .await
        .ok(200, "任务详情获取成功");
    assert_eq!(
        d["trigger"],
        "cron[month='*', day='*', day_of_week='*', hour='1', minute='0']"
    );

    // permissions
    app.create_user("schuser", "user", "Schuser123").await;
    let mut u = app.client();
    u.login("schuser", "Schuser123").await;
    u.get(J)
        .await
        .err(403, "PERMISSION_REQUIRED", Some("需要 scheduler.view 权限"));
    u.post(&format!("{J}/sync_accounts/run"), json!({}))
        .await
        .err(
            403,
            "PERMISSION_REQUIRED",
            Some("需要 scheduler.manage 权限"),
        );
}

#[tokio::test]
async fn the_loop_fires_due_jobs_on_the_selected_store() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    wf_services::scheduler::enable(&app.state.svc)
        .await
        .unwrap();
    app.put(
        &format!("{J}/cleanup_logs"),
        json!({"trigger_type": "interval", "seconds": 1}),
    )
    .await
    .ok(200, "任务更新成功");
    // the leader loop of this node: takes the lease, claims each fire once
    wf_services::scheduler::start(&app.state.svc, true)
        .await
        .unwrap();
    let mut runs = Vec::new();
    for _ in 0..60 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        runs = repo::runs_of(app.state.svc.store(), "cleanup_logs", 10)
            .await
            .unwrap();
        if runs.len() >= 2 {
            break;
        }
    }
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.trigger_source == "scheduled"));
    assert!(app.state.svc.scheduler().is_leader());
    let h = app.get("/api/v1/health/detailed").await.ok(200, "操作成功");
    assert_eq!(h["components"]["scheduler"]["status"], "leader", "{h}");
    assert!(h["components"]["scheduler"]["last_heartbeat"].is_string());
}
