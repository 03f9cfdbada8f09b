//! Account sync against the real PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306)
//! of this machine, through the HTTP API: connection test + version detection, superuser /
//! locked / can-grant detection, database-level grants, `modify_privilege`, `delete`,
//! `reactivate`, and a listing failure that leaves the inventory untouched
//! (`domain.md` §2, §3, §13.1). Every role, user and database is created with a unique name
//! and dropped at the end.

mod common;

use common::{TestApp, my_exec, pg_exec, unique};
use serde_json::{Value, json};

/// Find an account of the instance by username (including inactive ones).
async fn account(app: &mut TestApp, iid: i64, username: &str) -> Option<Value> {
    let l = app
        .get(&format!(
            "/api/v1/instances/{iid}/accounts?include_deleted=true&page_size=200&search={}",
            urlencode(username)
        ))
        .await;
    let data = l.ok(200, "获取实例账户数据成功");
    data["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == username)
        .cloned()
}

fn urlencode(s: &str) -> String {
    s.replace('%', "%25")
        .replace('@', "%40")
        .replace(' ', "%20")
}

async fn history(app: &mut TestApp, iid: i64, aid: i64) -> Vec<Value> {
    let h = app
        .get(&format!(
            "/api/v1/instances/{iid}/accounts/{aid}/change-history"
        ))
        .await
        .ok(200, "获取账户变更历史成功");
    h["history"].as_array().unwrap().clone()
}

async fn sync(app: &mut TestApp, iid: i64) -> Value {
    let r = app
        .post("/api/v1/accounts/actions/sync", json!({"instance_id": iid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let msg = r.body["message"].as_str().unwrap().to_string();
    let data = r.ok(200, &msg);
    assert_eq!(data["result"]["message"], json!(msg));
    assert_eq!(data["result"]["status"], "completed");
    data["result"].clone()
}

fn permissions_path(iid: i64, aid: i64) -> String {
    format!("/api/v1/instances/{iid}/accounts/{aid}/permissions")
}

#[tokio::test]
async fn postgresql_sync_end_to_end() {
    let u = unique();
    let (su, locked, granter, plain, db) = (
        format!("wf_{u}_su"),
        format!("wf_{u}_locked"),
        format!("wf_{u}_grant"),
        format!("wf_{u}_plain"),
        format!("wf_{u}_db"),
    );
    pg_exec(&[
        format!("CREATE ROLE {su} SUPERUSER LOGIN"),
        format!("CREATE ROLE {locked} LOGIN VALID UNTIL '2001-01-01'"),
        format!("CREATE ROLE {granter} CREATEROLE LOGIN"),
        format!("CREATE ROLE {plain} LOGIN"),
        format!("CREATE DATABASE {db}"),
        format!("GRANT CREATE ON DATABASE {db} TO {plain}"),
        format!("GRANT pg_read_all_data TO {plain}"),
    ])
    .await;
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let cid = app
        .create_credential(&format!("pg-{u}"), "postgres", "trustauth")
        .await;
    let iid = app.create_instance(json!({"name": format!("pg-{u}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "credential_id": cid})).await;
    let t = app
        .post(
            "/api/v1/connections/actions/test",
            json!({"instance_id": iid}),
        )
        .await
        .ok(200, "实例连接测试成功");
    assert_eq!(t["success"], true);
    assert!(
        t["database_version"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL ")
    );
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .starts_with("连接成功,数据库版本: ")
    );
    let inst = app
        .get(&format!("/api/v1/instances/{iid}"))
        .await
        .ok(200, "获取实例详情成功")["instance"]
        .clone();
    assert_eq!(inst["main_version"], t["main_version"]);
    assert!(inst["last_connected"].is_string());
    let s = app
        .get(&format!("/api/v1/connections/status/{iid}"))
        .await
        .ok(200, "获取连接状态成功");
    assert_eq!(s["status"], "good");

    let r = sync(&mut app, iid).await;
    assert!(r["added_count"].as_i64().unwrap() >= 4);
    assert_eq!(r["details"]["inventory"]["status"], "completed");
    let names: Vec<&str> = r["details"]["inventory"]["active_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(names.contains(&su.as_str()) && names.contains(&"postgres"));
    assert!(
        !names.iter().any(|n| n.starts_with("pg_")),
        "system roles are excluded"
    );

    let a_su = account(&mut app, iid, &su).await.unwrap();
    assert_eq!(
        (a_su["is_superuser"].as_bool(), a_su["is_locked"].as_bool()),
        (Some(true), Some(false))
    );
    let a_locked = account(&mut app, iid, &locked).await.unwrap();
    assert_eq!(
        (
            a_locked["is_superuser"].as_bool(),
            a_locked["is_locked"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let a_grant = account(&mut app, iid, &granter).await.unwrap();
    let p = app
        .get(&permissions_path(iid, a_grant["id"].as_i64().unwrap()))
        .await
        .ok(200, "获取账户权限成功");
    assert_eq!(p["permissions"]["db_type"], "POSTGRESQL");
    assert_eq!(p["permissions"]["snapshot"]["version"], 4);
    assert_eq!(
        p["permissions"]["snapshot"]["categories"]["role_attributes"]["can_create_role"],
        true
    );
    assert_eq!(p["account"]["instance_id"].as_i64(), Some(iid));
    assert_eq!(
        p["permissions"]["last_sync_time"].as_str().unwrap().len(),
        19
    );
    {
        use sea_orm::EntityTrait;
        let row = wf_store::entity::account_permission::Entity::find_by_id(
            a_grant["id"].as_i64().unwrap() as i32,
        )
        .one(app.state.svc.store())
        .await
        .unwrap()
        .unwrap();
        let caps = row.permission_facts.unwrap()["capabilities"].clone();
        assert!(
            caps.as_array().unwrap().contains(&json!("GRANT_ADMIN")),
            "{caps}"
        );
    }
    let a_plain = account(&mut app, iid, &plain).await.unwrap();
    let plain_id = a_plain["id"].as_i64().unwrap();
    let p = app
        .get(&permissions_path(iid, plain_id))
        .await
        .ok(200, "获取账户权限成功");
    let cats = &p["permissions"]["snapshot"]["categories"];
    assert!(
        cats["database_privileges"][&db]
            .as_array()
            .unwrap()
            .contains(&json!("CREATE")),
        "{cats}"
    );
    assert_eq!(cats["predefined_roles"], json!(["pg_read_all_data"]));
    let h = history(&mut app, iid, plain_id).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["change_type"], "add");
    assert!(
        h[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("账户 {plain} 新增账户"))
    );
    assert_eq!(h[0]["change_time"].as_str().unwrap().len(), 19);

    // a REVOKE is a modify_privilege with a REVOKE entry
    pg_exec(&[format!("REVOKE CREATE ON DATABASE {db} FROM {plain}")]).await;
    sync(&mut app, iid).await;
    let h = history(&mut app, iid, plain_id).await;
    let m = h
        .iter()
        .find(|e| e["change_type"] == "modify_privilege")
        .expect("modify_privilege entry");
    let diff = m["privilege_diff"].as_array().unwrap();
    assert!(
        diff.iter().any(|d| d["action"] == "REVOKE"
            && d["object"] == json!(format!("数据库权限:{db}"))
            && d["permissions"] == json!(["CREATE"])),
        "{diff:?}"
    );

    // DROP ROLE → delete; the account leaves the default list; recreate → reactivate
    pg_exec(&[format!("DROP ROLE {locked}")]).await;
    let r = sync(&mut app, iid).await;
    assert_eq!(r["removed_count"], 1);
    let a = account(&mut app, iid, &locked).await.unwrap();
    assert_eq!(a["is_deleted"], true);
    let locked_id = a["id"].as_i64().unwrap();
    let h = history(&mut app, iid, locked_id).await;
    assert_eq!(h[0]["change_type"], "delete");
    let def = app
        .get(&format!("/api/v1/instances/{iid}/accounts?page_size=200"))
        .await
        .ok(200, "获取实例账户数据成功");
    assert!(
        !def["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["username"] == json!(locked))
    );
    assert!(def["summary"]["deleted"].as_i64().unwrap() >= 1);
    let ledger = app
        .get(&format!(
            "/api/v1/accounts/ledgers?instance_id={iid}&page_size=200"
        ))
        .await
        .ok(200, "获取账户列表成功");
    assert!(
        !ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["username"] == json!(locked))
    );
    pg_exec(&[format!("CREATE ROLE {locked} LOGIN")]).await;
    let r = sync(&mut app, iid).await;
    assert!(r["added_count"].as_i64().unwrap() >= 1);
    let h = history(&mut app, iid, locked_id).await;
    assert_eq!(h[0]["change_type"], "reactivate", "{h:?}");
    assert_eq!(
        account(&mut app, iid, &locked).await.unwrap()["is_locked"],
        false
    );

    // ledgers: filters and fields
    let l = app
        .get(&format!(
            "/api/v1/accounts/ledgers?search={su}&is_superuser=true&db_type=postgresql"
        ))
        .await
        .ok(200, "获取账户列表成功");
    assert_eq!(l["total"], 1);
    let item = &l["items"][0];
    assert_eq!(
        (
            item["instance_name"].as_str(),
            item["instance_host"].as_str()
        ),
        (Some(format!("pg-{u}").as_str()), Some("127.0.0.1"))
    );
    assert_eq!(
        (item["is_active"].as_bool(), item["is_deleted"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        (item["tags"].clone(), item["classifications"].clone()),
        (json!([]), json!([]))
    );
    let lp = app
        .get(&format!(
            "/api/v1/accounts/ledgers/{}/permissions",
            item["id"]
        ))
        .await
        .ok(200, "获取账户权限成功");
    assert_eq!(lp["account"]["db_type"], "postgresql");
    app.get("/api/v1/accounts/ledgers/99999999/permissions")
        .await
        .err(404, "INVALID_REQUEST", None);
    app.get(&format!(
        "/api/v1/instances/{iid}/accounts/99999999/permissions"
    ))
    .await
    .err(404, "INVALID_REQUEST", None);
    // the instance list reports the active account count
    let list = app
        .get("/api/v1/instances")
        .await
        .ok(200, "获取实例列表成功");
    assert!(list["items"][0]["active_account_count"].as_i64().unwrap() >= 4);
    // sync validation
    app.post("/api/v1/accounts/actions/sync", json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("缺少实例ID"));
    app.post("/api/v1/accounts/actions/sync", json!({"instance_id": "x"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("实例ID必须为整数"));
    app.post(
        "/api/v1/accounts/actions/sync",
        json!({"instance_id": 987654}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("实例不存在"));

    pg_exec(&[
        format!("DROP DATABASE {db}"),
        format!("DROP ROLE {su}"),
        format!("DROP ROLE {locked}"),
        format!("DROP ROLE {granter}"),
        format!("DROP ROLE {plain}"),
    ])
    .await;
}

#[tokio::test]
async fn mariadb_sync_end_to_end() {
    let u = unique();
    let (mon, su, lk, dbu, np, db) = (
        format!("wf{u}mon"),
        format!("wf{u}su"),
        format!("wf{u}lk"),
        format!("wf{u}db"),
        format!("wf{u}np"),
        format!("WfDb{u}"),
    );
    my_exec(&[
        format!("CREATE USER '{mon}'@'%' IDENTIFIED BY 'MonPass123'"),
        format!("GRANT SELECT ON *.* TO '{mon}'@'%'"),
        format!("CREATE USER '{su}'@'%' IDENTIFIED BY 'SuPass1234'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{su}'@'%' WITH GRANT OPTION"),
        format!("CREATE USER '{lk}'@'localhost' IDENTIFIED BY 'LkPass1234' ACCOUNT LOCK"),
        format!("CREATE DATABASE `{db}`"),
        format!("CREATE USER '{dbu}'@'%' IDENTIFIED BY 'DbPass1234'"),
        format!("GRANT SELECT, INSERT ON `{db}`.* TO '{dbu}'@'%'"),
        format!("CREATE USER '{np}'@'%' IDENTIFIED BY 'NpPass1234'"),
    ])
    .await;
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let cid = app
        .create_credential(&format!("my-{u}"), &mon, "MonPass123")
        .await;
    let iid = app.create_instance(json!({"name": format!("maria-{u}"), "db_type": "mysql", "host": "127.0.0.1", "port": 3306, "credential_id": cid})).await;
    let t = app
        .post(
            "/api/v1/connections/actions/test",
            json!({"instance_id": iid}),
        )
        .await
        .ok(200, "实例连接测试成功");
    assert!(t["database_version"].as_str().unwrap().contains("MariaDB"));
    assert_eq!(t["main_version"].as_str().unwrap().split('.').count(), 2);

    sync(&mut app, iid).await;
    let a = account(&mut app, iid, &format!("{su}@%")).await.unwrap();
    assert_eq!(
        (
            a["is_superuser"].as_bool(),
            a["is_locked"].as_bool(),
            a["host"].as_str()
        ),
        (Some(true), Some(false), Some("%"))
    );
    let p = app
        .get(&permissions_path(iid, a["id"].as_i64().unwrap()))
        .await
        .ok(200, "获取账户权限成功");
    let g = p["permissions"]["snapshot"]["categories"]["global_privileges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        g.contains(&json!("GRANT OPTION")) && g.contains(&json!("SUPER")),
        "{g:?}"
    );
    assert_eq!(p["permissions"]["db_type"], "MYSQL");
    let a = account(&mut app, iid, &format!("{lk}@localhost"))
        .await
        .unwrap();
    assert_eq!(
        (a["is_superuser"].as_bool(), a["is_locked"].as_bool()),
        (Some(false), Some(true))
    );
    let a = account(&mut app, iid, &format!("{dbu}@%")).await.unwrap();
    let dbu_id = a["id"].as_i64().unwrap();
    assert_eq!(a["type_specific"]["original_username"], json!(dbu));
    let p = app
        .get(&permissions_path(iid, dbu_id))
        .await
        .ok(200, "获取账户权限成功");
    let cats = &p["permissions"]["snapshot"]["categories"];
    // schema names keep their case (domain.md §13.1.6)
    assert_eq!(
        cats["database_privileges"][&db],
        json!(["SELECT", "INSERT"]),
        "{cats}"
    );
    assert_eq!(cats["global_privileges"], json!(["USAGE"]));

    // GRANT → modify_privilege with a GRANT entry
    my_exec(&[format!("GRANT UPDATE ON `{db}`.* TO '{dbu}'@'%'")]).await;
    let r = sync(&mut app, iid).await;
    assert!(r["modified_count"].as_i64().unwrap() >= 1);
    let h = history(&mut app, iid, dbu_id).await;
    assert_eq!(h[0]["change_type"], "modify_privilege");
    assert_eq!(h[0]["privilege_diff"][0]["action"], "GRANT");
    assert_eq!(h[0]["privilege_diff"][0]["permissions"], json!(["UPDATE"]));
    assert_eq!(
        h[0]["message"],
        json!(format!("账户 {dbu}@% 权限更新:新增 1 项授权"))
    );

    // DROP USER → delete, CREATE again → reactivate
    my_exec(&[format!("DROP USER '{dbu}'@'%'")]).await;
    sync(&mut app, iid).await;
    assert_eq!(
        history(&mut app, iid, dbu_id).await[0]["change_type"],
        "delete"
    );
    my_exec(&[format!(
        "CREATE USER '{dbu}'@'%' IDENTIFIED BY 'DbPass1234'"
    )])
    .await;
    sync(&mut app, iid).await;
    let h = history(&mut app, iid, dbu_id).await;
    assert_eq!(h[0]["change_type"], "reactivate");
    assert!(
        h[0]["privilege_diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["action"] == "REVOKE"),
        "{:?}",
        h[0]
    );

    // a listing failure (no privilege on mysql.user) fails the sync and leaves the inventory as it was
    let before = app
        .get(&format!("/api/v1/instances/{iid}/accounts?page_size=200"))
        .await
        .ok(200, "获取实例账户数据成功");
    app.put(&format!("/api/v1/credentials/{cid}"), json!({"name": format!("my-{u}"), "credential_type": "database", "username": np, "password": "NpPass1234"})).await.ok(200, "数据更新成功");
    let r = app
        .post("/api/v1/accounts/actions/sync", json!({"instance_id": iid}))
        .await;
    let e = r.err(400, "INVALID_REQUEST", None).clone();
    assert!(
        e["message"].as_str().unwrap().starts_with("同步失败: "),
        "{e}"
    );
    assert_eq!(e["extra"]["instance_id"].as_i64(), Some(iid));
    assert_eq!(
        (
            e["extra"]["result"]["success"].as_bool(),
            e["extra"]["result"]["status"].as_str()
        ),
        (Some(false), Some("failed"))
    );
    let after = app
        .get(&format!("/api/v1/instances/{iid}/accounts?page_size=200"))
        .await
        .ok(200, "获取实例账户数据成功");
    assert_eq!(before["summary"], after["summary"]);
    assert_eq!(before["total"], after["total"]);
    // a wrong password is a connection failure, also without touching the inventory
    app.put(&format!("/api/v1/credentials/{cid}"), json!({"name": format!("my-{u}"), "credential_type": "database", "username": mon, "password": "WrongPass1"})).await.ok(200, "数据更新成功");
    app.post("/api/v1/accounts/actions/sync", json!({"instance_id": iid}))
        .await
        .err(400, "INVALID_REQUEST", None);
    let after = app
        .get(&format!("/api/v1/instances/{iid}/accounts?page_size=200"))
        .await
        .ok(200, "获取实例账户数据成功");
    assert_eq!(before["summary"], after["summary"]);

    my_exec(&[
        format!("DROP USER '{mon}'@'%'"),
        format!("DROP USER '{su}'@'%'"),
        format!("DROP USER '{lk}'@'localhost'"),
        format!("DROP USER '{dbu}'@'%'"),
        format!("DROP USER '{np}'@'%'"),
        format!("DROP DATABASE `{db}`"),
    ])
    .await;
}
