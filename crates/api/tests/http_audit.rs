//! The log centre records what people do (issue 16): every write through the API leaves an
//! entry with the contract's module name, a message naming the object and the user and object
//! ids in `context`; logins too (failures at WARNING); the entries are searchable within the
//! writer's flush interval and the log list's totals follow them. One test per binary: the
//! log writer is process-wide.

mod common;

use common::TestApp;
use serde_json::{Value, json};
use tracing_subscriber::prelude::*;

async fn entries(app: &mut TestApp, query: &str) -> Value {
    app.get(&format!("/api/v1/history/logs/list?{query}"))
        .await
        .ok(200, "日志列表获取成功")
}

#[tokio::test]
async fn writes_and_logins_are_recorded_with_who_and_what() {
    tracing_subscriber::registry()
        .with(wf_services::logcentre::UnifiedLogLayer)
        .init();
    let mut app = TestApp::new().await;
    wf_services::logcentre::install(app.state.svc.store().clone());
    // a failed login, then the admin's
    app.fetch_csrf().await;
    app.post(
        "/api/v1/auth/login",
        json!({"username": "admin", "password": "wrong-password"}),
    )
    .await
    .err(401, "INVALID_CREDENTIALS", Some("用户名或密码错误"));
    app.login_admin().await;
    let iid = app
        .create_instance(
            json!({"name": "audit-pg", "db_type": "postgresql", "host": "127.0.0.1", "port": 5432}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let before = entries(&mut app, "module=instances").await;
    assert_eq!(before["total"], 1, "{before}");
    let created = &before["items"][0];
    assert_eq!(created["level"], "INFO");
    assert_eq!(created["message"], format!("创建实例 audit-pg (id={iid})"));
    assert_eq!(created["context"]["user_id"], 1);
    assert_eq!(created["context"]["object_id"], iid);
    assert_eq!(created["context"]["object_name"], "audit-pg");
    let auth = entries(&mut app, "module=auth").await;
    let levels: Vec<&str> = auth["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["level"].as_str().unwrap())
        .collect();
    assert!(
        levels.contains(&"WARNING") && levels.contains(&"INFO"),
        "{auth}"
    );
    let failed = auth["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["level"] == "WARNING")
        .unwrap();
    assert_eq!(failed["message"], "用户 admin 登录失败: 用户名或密码错误");
    assert!(!failed["context"].to_string().contains("wrong-password"));

    // a credential: named, its password never in the entry
    let cid = app
        .create_credential("audit-cred", "monitor", "S3cret-Passw0rd")
        .await;
    // deleting the instance: the same module, the list total follows at once
    app.post(&format!("/api/v1/instances/{iid}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let after = entries(&mut app, "module=instances").await;
    assert_eq!(after["total"], 2, "{after}");
    assert_eq!(after["items"][0]["message"], format!("删除实例 (id={iid})"));
    let cred = entries(&mut app, "module=credentials").await;
    assert_eq!(cred["total"], 1, "{cred}");
    assert_eq!(
        cred["items"][0]["message"],
        format!("创建凭据 audit-cred (id={cid})")
    );
    assert!(!cred.to_string().contains("S3cret-Passw0rd"));
    // searchable
    let found = app
        .get("/api/v1/history/logs/search?search=audit-cred")
        .await
        .ok(200, "操作成功");
    assert!(found["total"].as_u64().unwrap() >= 1, "{found}");
}
