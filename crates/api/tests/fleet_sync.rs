//! Fleet account sync under sync sessions (issue 8) through the HTTP API, against the real
//! PostgreSQL and MariaDB of this machine: one record per instance with counters, a closed
//! port giving `completed_with_errors`, cooperative cancel that stays `cancelled`, the
//! per-instance lease (no instance synced twice at once), and orphan recovery at start.
//! Every role and user is created with a unique name and dropped at the end.

mod common;

use common::{TestApp, my_exec, pg_exec, unique};
use serde_json::{Value, json};
use std::time::Duration;

/// The tests of this file run one at a time: each creates a store database, and on the
/// PostgreSQL pass a database created by a parallel test is a real change of the synced
/// server's database-level privileges (a "nothing changed" second run would see it).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn app_with(parallelism: &str) -> TestApp {
    let mut app = TestApp::with_env(&[("SYNC_PARALLELISM", parallelism)]).await;
    app.login_admin().await;
    app
}

async fn pg_instance(app: &mut TestApp, name: &str, port: u16) -> i64 {
    let cid = app
        .create_credential(&format!("c-{name}"), "postgres", "trustauth")
        .await;
    app.create_instance(json!({"name": name, "db_type": "postgresql", "host": "127.0.0.1", "port": port, "credential_id": cid}))
        .await
}

async fn start(app: &mut TestApp) -> String {
    let r = app
        .post("/api/v1/accounts/actions/sync-all", json!({}))
        .await;
    let data = r.ok(
        200,
        "批量账户同步任务已在后台启动,请稍后在会话中心查看进度.",
    );
    data["session_id"].as_str().unwrap().to_string()
}

async fn session(app: &mut TestApp, sid: &str) -> Value {
    app.get(&format!("/api/v1/history/sessions/{sid}"))
        .await
        .ok(200, "获取同步会话详情成功")["session"]
        .clone()
}

/// Poll until every record is finished (no `pending`/`running` left), at most 60 s.
async fn wait_done(app: &mut TestApp, sid: &str) -> Value {
    for _ in 0..600 {
        let s = session(app, sid).await;
        let open = s["instance_records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "pending" || r["status"] == "running");
        if !open && s["status"] != "running" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("session {sid} did not finish");
}

fn record<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["instance_records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["instance_name"] == name)
        .unwrap_or_else(|| panic!("no record for {name}: {s}"))
}

#[tokio::test]
async fn sync_all_records_every_instance_and_completes_with_errors() {
    let _serial = SERIAL.lock().await;
    let u = unique();
    let (role, my_user) = (format!("wf_{u}_fleet"), format!("wf_{u}_mon"));
    pg_exec(&[format!("CREATE ROLE {role} LOGIN")]).await;
    my_exec(&[
        format!("CREATE USER '{my_user}'@'%' IDENTIFIED BY 'Monitor123'"),
        format!("GRANT SELECT ON *.* TO '{my_user}'@'%'"),
    ])
    .await;
    let mut app = app_with("2").await;
    // no active instance yet
    app.post("/api/v1/accounts/actions/sync-all", json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("没有找到活跃的数据库实例"));
    let a = pg_instance(&mut app, &format!("a-pg-{u}"), 5432).await;
    pg_instance(&mut app, &format!("b-pg-{u}"), 5432).await;
    pg_instance(&mut app, &format!("c-closed-{u}"), 1).await;
    let mc = app
        .create_credential(&format!("c-my-{u}"), &my_user, "Monitor123")
        .await;
    app.create_instance(json!({"name": format!("d-my-{u}"), "db_type": "mysql", "host": "127.0.0.1", "port": 3306, "credential_id": mc}))
        .await;
    // a soft-deleted and an inactive instance are not synced
    let gone = pg_instance(&mut app, &format!("e-gone-{u}"), 5432).await;
    app.post(&format!("/api/v1/instances/{gone}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    app.create_instance(json!({"name": format!("f-off-{u}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "is_active": false}))
        .await;

    let sid = start(&mut app).await;
    let s = wait_done(&mut app, &sid).await;
    assert_eq!(s["status"], "completed_with_errors", "{s}");
    assert_eq!(
        (
            s["total_instances"].as_i64(),
            s["successful_instances"].as_i64(),
            s["failed_instances"].as_i64()
        ),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(
        (s["sync_type"].as_str(), s["sync_category"].as_str()),
        (Some("manual_task"), Some("account"))
    );
    assert_eq!(s["progress_percentage"], json!(100.0));
    assert!(s["completed_at"].is_string() && s["created_by"] == json!(1));
    let names: Vec<&str> = s["instance_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("a-pg-{u}"),
            format!("b-pg-{u}"),
            format!("c-closed-{u}"),
            format!("d-my-{u}")
        ]
    );
    let closed = record(&s, &format!("c-closed-{u}"));
    assert_eq!(closed["status"], "failed");
    assert!(!closed["error_message"].as_str().unwrap().is_empty());
    let pg = record(&s, &format!("a-pg-{u}"));
    assert_eq!(pg["status"], "completed");
    assert!(
        pg["items_created"].as_i64().unwrap() >= 2 && pg["items_synced"] == pg["items_created"]
    );
    // a constant number of remote statements per instance, whatever the account count
    assert_eq!(pg["sync_details"]["remote_queries"], 3);
    assert_eq!(
        record(&s, &format!("d-my-{u}"))["sync_details"]["remote_queries"],
        4
    );
    // the record keeps the counts, not the account names (records stay small for big fleets)
    let inv = &pg["sync_details"]["inventory"];
    assert!(inv["active_count"].as_i64().unwrap() >= 2 && inv.get("active_accounts").is_none());
    assert_eq!(pg["sync_details"]["collection"]["status"], "completed");
    // error records and the list
    let e = app
        .get(&format!("/api/v1/history/sessions/{sid}/error-logs"))
        .await
        .ok(200, "获取错误日志成功");
    assert_eq!(e["error_count"], 1);
    assert_eq!(
        e["error_records"][0]["instance_name"],
        json!(format!("c-closed-{u}"))
    );
    assert_eq!(e["session"]["session_id"], json!(sid));
    let l = app
        .get("/api/v1/history/sessions?sync_category=account&status=completed_with_errors")
        .await
        .ok(200, "获取同步会话列表成功");
    assert_eq!(l["total"], 1);
    assert_eq!(l["items"][0]["session_id"], json!(sid));
    assert!(l.get("limit").is_none() && l["pages"] == 1);
    // change-log rows carry the bare session id
    let accts = app
        .get(&format!("/api/v1/instances/{a}/accounts?search={role}"))
        .await
        .ok(200, "获取实例账户数据成功");
    let aid = accts["items"][0]["id"].as_i64().unwrap();
    let h = app
        .get(&format!(
            "/api/v1/instances/{a}/accounts/{aid}/change-history"
        ))
        .await
        .ok(200, "获取账户变更历史成功");
    assert_eq!(h["history"].as_array().unwrap().len(), 1);
    assert_eq!(h["history"][0]["session_id"], json!(sid));
    // a second run with nothing changed writes no change-log row
    let sid2 = start(&mut app).await;
    let s2 = wait_done(&mut app, &sid2).await;
    for r in s2["instance_records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "completed")
    {
        assert_eq!(
            (
                r["items_created"].as_i64(),
                r["items_updated"].as_i64(),
                r["items_deleted"].as_i64()
            ),
            (Some(0), Some(0), Some(0)),
            "{r}"
        );
    }
    let h = app
        .get(&format!(
            "/api/v1/instances/{a}/accounts/{aid}/change-history"
        ))
        .await
        .ok(200, "获取账户变更历史成功");
    assert_eq!(h["history"].as_array().unwrap().len(), 1);
    pg_exec(&[format!("DROP ROLE {role}")]).await;
    my_exec(&[format!("DROP USER '{my_user}'@'%'")]).await;
}

#[tokio::test]
async fn a_cancelled_session_stops_starting_instances_and_stays_cancelled() {
    let _serial = SERIAL.lock().await;
    let u = unique();
    let mut app = app_with("1").await;
    for n in 0..15 {
        pg_instance(&mut app, &format!("cx{n:02}-{u}"), 5432).await;
    }
    let sid = start(&mut app).await;
    app.post(&format!("/api/v1/history/sessions/{sid}/cancel"), json!({}))
        .await
        .ok(200, "会话已取消");
    let s = wait_done(&mut app, &sid).await;
    assert_eq!(s["status"], "cancelled", "{s}");
    let records = s["instance_records"].as_array().unwrap();
    let cancelled = records
        .iter()
        .filter(|r| r["status"] == "cancelled")
        .count();
    let completed = records
        .iter()
        .filter(|r| r["status"] == "completed")
        .count();
    assert!(
        cancelled >= 13,
        "instances kept starting after the cancel: {s}"
    );
    assert_eq!(cancelled + completed, 15);
    // the runner has ended: the status was not overwritten, and counters reflect the work
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = session(&mut app, &sid).await;
    assert_eq!(s["status"], "cancelled");
    assert_eq!(s["successful_instances"].as_i64(), Some(completed as i64));
    // cancelling a finished session succeeds and changes nothing; an unknown one is a 404
    app.post(&format!("/api/v1/history/sessions/{sid}/cancel"), json!({}))
        .await
        .ok(200, "会话已取消");
    assert_eq!(session(&mut app, &sid).await["status"], "cancelled");
    app.post("/api/v1/history/sessions/no-such-session/cancel", json!({}))
        .await
        .err(
            404,
            "RESOURCE_NOT_FOUND",
            Some("取消会话失败,会话不存在或已结束"),
        );
    app.get("/api/v1/history/sessions/no-such-session")
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("会话不存在"));
}

#[tokio::test]
async fn an_instance_is_never_synced_twice_at_once() {
    let _serial = SERIAL.lock().await;
    let u = unique();
    let mut app = app_with("2").await;
    let busy = pg_instance(&mut app, &format!("busy-{u}"), 5432).await;
    pg_instance(&mut app, &format!("free-{u}"), 5432).await;
    // another sync (another request, session or node) holds the instance
    let store = app.state.svc.store().clone();
    let lease = wf_services::fleet::instance_lease(busy as i32);
    let taken = wf_store::repo::leases::try_acquire(
        &store,
        &lease,
        "other-node:sync",
        chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(taken);
    app.post(
        "/api/v1/accounts/actions/sync",
        json!({"instance_id": busy}),
    )
    .await
    .err(
        409,
        "SYNC_IN_PROGRESS",
        Some("该实例正在同步中,请等待当前同步完成后再试"),
    );
    let sid = start(&mut app).await;
    let s = wait_done(&mut app, &sid).await;
    assert_eq!(s["status"], "completed_with_errors");
    let r = record(&s, &format!("busy-{u}"));
    assert_eq!(r["status"], "skipped");
    assert_eq!(r["error_message"], wf_services::fleet::SKIPPED_BUSY);
    assert_eq!(record(&s, &format!("free-{u}"))["status"], "completed");
    // the lease is not stolen by the run, and once released the instance syncs again
    assert!(
        !wf_store::repo::leases::try_acquire(&store, &lease, "third", chrono::Duration::minutes(1))
            .await
            .unwrap()
    );
    wf_store::repo::leases::release(&store, &lease, "other-node:sync")
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/accounts/actions/sync",
            json!({"instance_id": busy}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn orphaned_queue_sessions_are_finished_and_orphaned_aggregations_interrupted() {
    let _serial = SERIAL.lock().await;
    use wf_store::repo::sessions::{NewSession, create};
    let u = unique();
    let mut app = app_with("2").await;
    let iid = pg_instance(&mut app, &format!("orphan-{u}"), 5432).await as i32;
    let store = app.state.svc.store().clone();
    let instances = vec![(iid, format!("orphan-{u}"))];
    // an account session whose node died before any record was claimed, and two aggregation
    // sessions: one whose runner died, one whose runner (another node) still renews its lease
    for (sid, category) in [
        ("orphan-queue", "account"),
        ("orphan-aggregation", "aggregation"),
        ("live-aggregation", "aggregation"),
    ] {
        create(
            &store,
            &NewSession {
                session_id: sid,
                sync_type: "scheduled_task",
                sync_category: category,
                created_by: None,
                instances: &instances,
            },
        )
        .await
        .unwrap();
    }
    wf_store::repo::leases::try_acquire(
        &store,
        "sync-session:live-aggregation",
        "node-b",
        chrono::Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        wf_services::fleet::recover_interrupted(&app.state.svc)
            .await
            .unwrap(),
        1
    );
    let s = session(&mut app, "orphan-aggregation").await;
    assert_eq!(s["status"], "interrupted");
    assert!(s["completed_at"].is_string());
    assert_eq!(s["instance_records"][0]["status"], "failed");
    assert_eq!(
        s["instance_records"][0]["error_message"],
        wf_services::fleet::INTERRUPTED
    );
    assert_eq!(
        session(&mut app, "live-aggregation").await["status"],
        "running"
    );
    // the queue session is not interrupted: this node's worker takes its record and ends it
    wf_services::fleet::ensure_worker(&app.state.svc);
    let s = wait_done(&mut app, "orphan-queue").await;
    assert_eq!(s["instance_records"][0]["status"], "completed", "{s}");
    for _ in 0..100 {
        if session(&mut app, "orphan-queue").await["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let s = session(&mut app, "orphan-queue").await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["successful_instances"], 1);
    let l = app
        .get("/api/v1/history/sessions?status=interrupted")
        .await
        .ok(200, "获取同步会话列表成功");
    assert_eq!(l["total"], 1);
}
