//! Several nodes, one truth (issue 16): two nodes — two pools, two `Services` with their own
//! caches, two routers — on one PostgreSQL store. A write acknowledged on one node is seen by
//! the other's next request: list totals and deep pages, a user's role and active flag, a
//! deleted classification rule; and the per-instance work of a sync-all is shared by both
//! nodes' queue workers. PostgreSQL only: the embedded SQLite store is one node by design.

mod common;

use common::{TestApp, store_kind, unique};
use serde_json::{Value, json};
use std::time::Duration;

/// Two logged-in nodes on one fresh PostgreSQL store, or `None` on the SQLite pass.
async fn two_nodes(extra: &[(&str, &str)]) -> Option<(TestApp, TestApp)> {
    if store_kind() != "postgres" {
        eprintln!("multi-node tests need the PostgreSQL store (WF_TEST_STORE=postgres)");
        return None;
    }
    let mut a = TestApp::with_env(extra).await;
    a.login_admin().await;
    let mut b = a.second_node(extra).await;
    b.login_admin().await;
    Some((a, b))
}

fn ids(v: &Value) -> Vec<i64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn totals_and_deep_pages_follow_writes_made_on_the_other_node() {
    let Some((mut a, mut b)) = two_nodes(&[]).await else {
        return;
    };
    // 2,100 instances straight into the store (deep pages start at page anchors)
    let pool = sqlx::PgPool::connect(&a.url).await.unwrap();
    sqlx::query(
        "INSERT INTO instances (name, db_type, host, port) \
         SELECT 'mn-' || lpad(g::text, 5, '0'), 'mysql', '10.9.0.1', 3306 FROM generate_series(1, 2100) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    let page = |n: u32| format!("/api/v1/instances?page={n}&page_size=100");
    // node B caches the total and the anchors
    let before = b.get(&page(15)).await.ok(200, "获取实例列表成功");
    assert_eq!(before["total"], 2_100);
    // node A creates three instances and soft-deletes one of the newest
    for n in 0..3 {
        a.create_instance(json!({"name": format!("mn-new-{n}"), "db_type": "mysql", "host": "10.9.0.2", "port": 3306}))
            .await;
    }
    let newest = ids(&a.get(&page(1)).await.ok(200, "获取实例列表成功"));
    a.post(
        &format!("/api/v1/instances/{}/delete", newest[5]),
        json!({}),
    )
    .await
    .ok(200, "实例已移入回收站");
    // node B's next requests: exact total, and every deep page equals the plain order
    let live: Vec<i64> = sqlx::query_scalar(
        "SELECT id::int8 FROM instances WHERE deleted_at IS NULL ORDER BY id DESC",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(live.len(), 2_102);
    for n in [1, 11, 15, 22] {
        let v = b.get(&page(n)).await.ok(200, "获取实例列表成功");
        assert_eq!(v["total"], 2_102, "page {n}");
        let from = (n as usize - 1) * 100;
        let want: Vec<i64> = live[from..(from + 100).min(live.len())].to_vec();
        assert_eq!(ids(&v), want, "page {n} on node B");
    }
    pool.close().await;
}

#[tokio::test]
async fn a_user_demoted_or_deactivated_on_one_node_loses_it_on_the_other_at_once() {
    let Some((mut a, b)) = two_nodes(&[]).await else {
        return;
    };
    let name = format!("mn_{}", &unique()[..8]);
    let uid = a.create_user(&name, "admin", "Passw0rd1").await;
    let mut user_b = b.client();
    user_b.login(&name, "Passw0rd1").await;
    // node B caches the user as an admin
    user_b
        .post(
            "/api/v1/tags",
            json!({"name": format!("t{}", &unique()[..6]), "display_name": "t", "category": "c"}),
        )
        .await
        .ok(201, "标签创建成功");
    a.put(&format!("/api/v1/users/{uid}"), json!({"role": "user"}))
        .await
        .ok(200, "用户更新成功");
    user_b
        .post(
            "/api/v1/tags",
            json!({"name": format!("t{}", &unique()[..6]), "display_name": "t", "category": "c"}),
        )
        .await
        .err(403, "PERMISSION_REQUIRED", None);
    user_b
        .get("/api/v1/instances")
        .await
        .ok(200, "获取实例列表成功");
    a.put(&format!("/api/v1/users/{uid}"), json!({"is_active": false}))
        .await
        .ok(200, "用户更新成功");
    user_b
        .get("/api/v1/instances")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
}

#[tokio::test]
async fn a_rule_deleted_on_one_node_is_not_evaluated_by_the_other() {
    let Some((mut a, b)) = two_nodes(&[]).await else {
        return;
    };
    let cid = a
        .post(
            "/api/v1/accounts/classifications",
            json!({"name": format!("mn-{}", unique())}),
        )
        .await
        .ok(201, "账户分类创建成功")["classification"]["id"]
        .as_i64()
        .unwrap();
    let rid = a
        .post(
            "/api/v1/accounts/classifications/rules",
            json!({"rule_name": "su", "classification_id": cid, "db_type": "postgresql", "operator": "OR",
                   "rule_expression": {"version": 4, "expr": {"fn": "is_superuser"}}}),
        )
        .await
        .ok(201, "分类规则创建成功")["rule_id"]
        .as_i64()
        .unwrap();
    // node B loads the rules into its (in-process) rule cache
    let rules = wf_services::classification_cache::active_rules(&b.state.svc, "x")
        .await
        .unwrap();
    assert!(rules.iter().any(|r| i64::from(r.id) == rid));
    a.delete(&format!("/api/v1/accounts/classifications/rules/{rid}"))
        .await
        .ok(200, "分类规则删除成功");
    let rules = wf_services::classification_cache::active_rules(&b.state.svc, "x")
        .await
        .unwrap();
    assert!(
        rules.iter().all(|r| i64::from(r.id) != rid),
        "node B still evaluates the deleted rule"
    );
}

#[tokio::test]
async fn both_nodes_take_a_share_of_a_sync_all() {
    let Some((mut a, b)) = two_nodes(&[("SYNC_PARALLELISM", "2")]).await else {
        return;
    };
    let cid = a
        .create_credential(&format!("c-{}", unique()), "postgres", "trustauth")
        .await;
    let n = 40;
    for i in 0..n {
        a.create_instance(json!({"name": format!("share-{i}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "credential_id": cid}))
            .await;
    }
    // node B's worker runs as `serve` starts it
    wf_services::fleet::ensure_worker(&b.state.svc);
    let sid = a
        .post("/api/v1/accounts/actions/sync-all", json!({}))
        .await
        .ok(
            200,
            "批量账户同步任务已在后台启动,请稍后在会话中心查看进度.",
        )["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pool = sqlx::PgPool::connect(&a.url).await.unwrap();
    let mut s = Value::Null;
    // no node ever runs more records at once than its SYNC_PARALLELISM
    let mut most_at_once = 0i64;
    for _ in 0..600 {
        let running: Vec<(String, i64)> = sqlx::query_as(
            "SELECT claimed_by, count(*) FROM sync_instance_records WHERE session_id = $1 AND status = 'running' GROUP BY 1",
        )
        .bind(&sid)
        .fetch_all(&pool)
        .await
        .unwrap();
        most_at_once = most_at_once.max(running.iter().map(|r| r.1).max().unwrap_or(0));
        s = a
            .get(&format!("/api/v1/history/sessions/{sid}"))
            .await
            .ok(200, "获取同步会话详情成功")["session"]
            .clone();
        if s["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        (1..=2).contains(&most_at_once),
        "a node ran {most_at_once} records at once"
    );
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["successful_instances"], n);
    assert_eq!(s["failed_instances"], 0);
    let by_node: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT split_part(claimed_by, ':', 1), count(*), max(attempts)::int8 FROM sync_instance_records \
         WHERE session_id = $1 AND status = 'completed' GROUP BY 1",
    )
    .bind(&sid)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let nodes: Vec<&str> = by_node.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(by_node.len(), 2, "both nodes claimed work: {by_node:?}");
    assert!(nodes.contains(&a.state.svc.node_id()) && nodes.contains(&b.state.svc.node_id()));
    assert_eq!(by_node.iter().map(|r| r.1).sum::<i64>(), n);
    assert!(
        by_node.iter().all(|r| r.2 == 1),
        "each record ran once: {by_node:?}"
    );
}
