//! Users, credentials, instances and connections through the real router
//! (`api-v1.md` §4.7–§4.9, §4.18): happy paths with field checks, validation messages,
//! unknown ids, wrong types and pagination rules.

mod common;

use common::TestApp;
use serde_json::{Value, json};

async fn admin() -> TestApp {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app
}

#[tokio::test]
async fn users_crud_and_rules() {
    let mut app = admin().await;
    let u = "/api/v1/users";
    app.post(u, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("用户名不能为空"));
    app.post(
        u,
        json!({"username": "ab", "role": "user", "password": "TestPass1"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("用户名只能包含字母、数字和下划线,长度为3-20位"),
    );
    app.post(
        u,
        json!({"username": "alice", "role": "viewer", "password": "TestPass1"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("角色只能是管理员或普通用户"));
    app.post(u, json!({"username": "alice", "role": "user"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("请设置初始密码"));
    app.post(
        u,
        json!({"username": "alice", "role": "user", "password": "testpass1"}),
    )
    .await
    .err(400, "PASSWORD_INVALID", Some("密码必须包含大写字母"));
    app.post(
        u,
        json!({"username": "alice", "role": "user", "password": "TestPass"}),
    )
    .await
    .err(400, "PASSWORD_INVALID", Some("密码必须包含数字"));
    app.post(u, json!([1, 2])).await.err(
        400,
        "VALIDATION_ERROR",
        Some("请求数据格式必须是 JSON 对象"),
    );
    // the contract types username as a string: a JSON number is refused (issue 7)
    app.post(
        u,
        json!({"username": 12345, "role": "user", "password": "TestPass1"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("username 必须是字符串"));
    app.post(
        u,
        json!({"username": "12345", "role": "user", "password": "TestPass1"}),
    )
    .await
    .ok(201, "用户创建成功");
    let r = app.post(u, json!({"username": "alice", "role": "user", "password": "TestPass1", "is_active": "no"})).await;
    let user = r.ok(201, "用户创建成功")["user"].clone();
    assert_eq!(user["username"], "alice");
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], false);
    assert_eq!(user["last_login"], Value::Null);
    assert_eq!(user["created_at"].as_str().unwrap().len(), 10);
    assert_eq!(user["created_at"], user["created_at_display"]);
    let id = user["id"].as_i64().unwrap();
    app.post(
        u,
        json!({"username": "alice", "role": "user", "password": "TestPass1"}),
    )
    .await
    .err(409, "USERNAME_EXISTS", Some("用户名已存在"));
    assert_eq!(
        app.get(&format!("{u}/{id}"))
            .await
            .ok(200, "获取用户信息成功")["user"]["username"],
        "alice"
    );
    app.get(&format!("{u}/999999"))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("用户不存在"));
    let upd = app
        .put(
            &format!("{u}/{id}"),
            json!({"username": "alice2", "is_active": true}),
        )
        .await
        .ok(200, "用户更新成功");
    assert_eq!(
        (
            upd["user"]["username"].as_str(),
            upd["user"]["is_active"].as_bool()
        ),
        (Some("alice2"), Some(true))
    );
    app.put(&format!("{u}/{id}"), json!({"username": "admin"}))
        .await
        .err(409, "USERNAME_EXISTS", None);
    app.put(&format!("{u}/999999"), json!({})).await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("用户不存在"),
    );
    // last-admin protection and self-deletion
    app.put("/api/v1/users/1", json!({"role": "user"}))
        .await
        .err(
            400,
            "LAST_ADMIN_REQUIRED",
            Some("系统至少需要一位活跃管理员"),
        );
    app.put("/api/v1/users/1", json!({"is_active": false}))
        .await
        .err(400, "LAST_ADMIN_REQUIRED", None);
    app.delete("/api/v1/users/1")
        .await
        .err(400, "VALIDATION_ERROR", Some("不能删除自己的账户"));
    let admin2 = app.create_user("admin_two", "admin", "TestPass1").await;
    app.put(&format!("{u}/{admin2}"), json!({"is_active": false}))
        .await
        .ok(200, "用户更新成功");
    // the other admin is inactive: still no other *active* admin
    app.put("/api/v1/users/1", json!({"role": "user"}))
        .await
        .err(400, "LAST_ADMIN_REQUIRED", None);
    // stats and list
    let s = app
        .get(&format!("{u}/stats"))
        .await
        .ok(200, "获取用户统计成功");
    assert_eq!(
        s,
        json!({"total": 4, "active": 3, "inactive": 1, "admin": 2, "user": 2})
    );
    let l = app
        .get(&format!("{u}?sort=username&order=asc&page_size=2"))
        .await
        .ok(200, "获取用户列表成功");
    assert_eq!(
        (
            l["total"].as_i64(),
            l["pages"].as_i64(),
            l["limit"].as_i64(),
            l["page"].as_i64()
        ),
        (Some(4), Some(2), Some(2), Some(1))
    );
    assert_eq!(l["items"][0]["username"], "12345");
    let l = app
        .get(&format!("{u}?page=99&page_size=abc"))
        .await
        .ok(200, "获取用户列表成功");
    assert_eq!(
        (
            l["items"].as_array().unwrap().len(),
            l["limit"].as_i64(),
            l["page"].as_i64()
        ),
        (0, Some(10), Some(99))
    );
    let l = app
        .get(&format!("{u}?page_size=100000&role=admin&status=inactive"))
        .await
        .ok(200, "获取用户列表成功");
    assert_eq!(
        (l["limit"].as_i64(), l["total"].as_i64()),
        (Some(200), Some(1))
    );
    let l = app
        .get(&format!("{u}?search=ALI"))
        .await
        .ok(200, "获取用户列表成功");
    assert_eq!(l["total"], 1);
    app.delete(&format!("{u}/{id}"))
        .await
        .ok(200, "用户删除成功");
    assert!(
        app.delete(&format!("{u}/{id}"))
            .await
            .body
            .get("data")
            .is_none()
    );
    app.get(&format!("{u}/{id}"))
        .await
        .err(404, "RESOURCE_NOT_FOUND", None);
}

#[tokio::test]
async fn credentials_crud_and_masking() {
    let mut app = admin().await;
    let c = "/api/v1/credentials";
    app.post(c, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("name不能为空"));
    app.post(c, json!({"name": "a"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("credential_type不能为空"),
    );
    app.post(c, json!({"name": "a", "credential_type": "database"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("username不能为空"));
    app.post(
        c,
        json!({"name": "a", "credential_type": "database", "username": "dba"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("password不能为空"));
    let base = json!({"name": "a", "credential_type": "database", "username": "dba", "password": "secret1"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    app.post(c, with("credential_type", json!("kerberos")))
        .await
        .err(400, "VALIDATION_ERROR", Some("不支持的凭据类型: kerberos"));
    app.post(c, with("username", json!("ab"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("用户名长度至少3个字符"),
    );
    app.post(c, with("username", json!("a b c"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("用户名只能包含字母、数字、下划线、连字符和点"),
    );
    app.post(c, with("password", json!("12345"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("密码长度至少6个字符"),
    );
    app.post(c, with("db_type", json!("db2"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("不支持的数据库类型: db2"),
    );
    app.post(c, with("name", json!("n".repeat(256)))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("name长度不能超过255个字符"),
    );
    let mut body = with("db_type", json!("PG"));
    body["password"] = json!("p@ss&<word>");
    body["description"] = json!("<b>main</b>");
    body["credential_type"] = json!("Database");
    let cred = app.post(c, body).await.ok(201, "数据保存成功")["credential"].clone();
    let id = cred["id"].as_i64().unwrap();
    assert_eq!(cred["db_type"], "postgresql");
    assert_eq!(cred["credential_type"], "Database");
    assert_eq!(cred["category_id"], Value::Null);
    assert!(cred.get("description").is_none() && cred.get("is_active").is_none());
    let masked = cred["password"].as_str().unwrap();
    assert!(masked.starts_with("****") && !masked.contains("p@ss"));
    // stored encrypted with the configured key, readable by the original's format
    use sea_orm::EntityTrait;
    let row = wf_store::entity::credential::Entity::find_by_id(id as i32)
        .one(app.state.svc.store())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.password, "p@ss&<word>");
    assert_eq!(
        app.state.svc.cipher().decrypt(&row.password).unwrap(),
        "p@ss&<word>"
    );
    assert_eq!(row.description.as_deref(), Some("&lt;b&gt;main&lt;/b&gt;"));
    app.post(
        c,
        json!({"name": "a", "credential_type": "ssh", "username": "dba", "password": "secret1"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("凭据名称已存在,请使用其他名称"),
    );
    let d = app.get(&format!("{c}/{id}")).await.ok(200, "操作成功");
    assert_eq!(d["credential"]["name"], "a");
    app.get(&format!("{c}/424242"))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("凭据不存在"));
    // update keeps the password when absent
    let u = app
        .put(
            &format!("{c}/{id}"),
            json!({"name": "a2", "credential_type": "database", "username": "dba2"}),
        )
        .await
        .ok(200, "数据更新成功");
    assert_eq!(u["credential"]["name"], "a2");
    let row2 = wf_store::entity::credential::Entity::find_by_id(id as i32)
        .one(app.state.svc.store())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state.svc.cipher().decrypt(&row2.password).unwrap(),
        "p@ss&<word>"
    );
    app.put(&format!("{c}/{id}"), json!({"name": "a2"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("credential_type不能为空"));
    // list item fields and filters
    let other = app.create_credential("b", "svc_user", "secret22").await;
    app.create_instance(json!({"name": "uses-a", "db_type": "mysql", "host": "10.0.0.1", "port": 3306, "credential_id": id})).await;
    let l = app
        .get(&format!("{c}?sort=instance_count&order=desc"))
        .await
        .ok(200, "操作成功");
    assert_eq!(l["total"], 2);
    let item = &l["items"][0];
    assert_eq!(item["id"].as_i64(), Some(id));
    assert_eq!(item["instance_count"], 1);
    assert_eq!(item["is_active"], true);
    assert_eq!(item["created_at_display"].as_str().unwrap().len(), 19);
    for k in [
        "id",
        "name",
        "credential_type",
        "db_type",
        "username",
        "category_id",
        "created_at",
        "updated_at",
        "password",
        "description",
        "is_active",
        "instance_count",
        "created_at_display",
    ] {
        assert!(item.get(k).is_some(), "missing {k}");
    }
    let l = app
        .get(&format!("{c}?search=SVC&db_type=all"))
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (l["total"].as_i64(), l["items"][0]["id"].as_i64()),
        (Some(1), Some(other))
    );
    let l = app
        .get(&format!(
            "{c}?db_type=postgresql&credential_type=database&status=active"
        ))
        .await
        .ok(200, "操作成功");
    assert_eq!(l["total"], 1);
    // delete: instances keep existing without the credential
    let d = app
        .post(&format!("{c}/{id}/delete"), json!({}))
        .await
        .ok(200, "数据删除成功");
    assert_eq!(d["credential_id"].as_i64(), Some(id));
    let inst = app
        .get("/api/v1/instances")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(inst["total"], 1);
    let iid = inst["items"][0]["id"].as_i64().unwrap();
    let det = app
        .get(&format!("/api/v1/instances/{iid}"))
        .await
        .ok(200, "获取实例详情成功");
    assert_eq!(det["instance"]["credential_id"], Value::Null);
    assert!(det["instance"].get("credential").is_none());
    app.post(&format!("{c}/{id}/delete"), json!({})).await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("凭据不存在"),
    );
}

#[tokio::test]
async fn instances_crud_validation_and_list() {
    let mut app = admin().await;
    let i = "/api/v1/instances";
    app.post(i, json!({})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("字段 'name, db_type, host, port' 是必填的"),
    );
    app.post(
        i,
        json!({"name": "x", "db_type": "mysql", "host": "h", "port": 0}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("字段 'port' 是必填的"));
    let base = json!({"name": "prod-01", "db_type": "mysql", "host": "10.1.2.3", "port": 3306});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    app.post(i, with("name", json!("bad name!"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("实例名称只能包含字母、数字、下划线、连字符和中文字符"),
    );
    app.post(i, with("name", json!("x".repeat(101)))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("实例名称长度不能超过100个字符"),
    );
    app.post(i, with("db_type", json!("db2"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("不支持的数据库类型: db2.支持的类型: mysql, oracle, postgresql, sqlserver"),
    );
    app.post(i, with("host", json!("300.1.1.1"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("主机地址格式无效,请输入有效的IP地址或域名"),
    );
    app.post(i, with("port", json!("abc"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("端口号必须是整数"),
    );
    app.post(i, with("port", json!(99999))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("端口号必须在1-65535之间"),
    );
    app.post(i, with("port", json!(33.5))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("端口号格式不正确"),
    );
    app.post(i, with("credential_id", json!("abc"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("凭据ID必须是整数"),
    );
    app.post(i, with("credential_id", json!(-3))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("凭据ID必须是正整数"),
    );
    app.post(i, with("credential_id", json!(""))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("无效的凭据ID"),
    );
    app.post(i, with("credential_id", json!(777))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("凭据不存在"),
    );
    app.post(i, with("credential_id", json!(99999999999i64)))
        .await
        .err(400, "VALIDATION_ERROR", Some("凭据不存在"));
    app.post(i, with("is_active", json!("yes"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("is_active 仅支持布尔类型"),
    );
    app.post(i, with("tag_names", json!("a"))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("tag_names 必须为数组"),
    );
    app.post(i, json!("just a string"))
        .await
        .err(400, "VALIDATION_ERROR", None);
    let cid = app.create_credential("inst-cred", "dba", "secret123").await;
    let mut body = with("db_type", json!("MSSQL"));
    body["credential_id"] = json!(cid.to_string());
    body["port"] = json!("1433");
    body["name"] = json!("生产-01");
    let r = app.post(i, body.clone()).await.ok(201, "实例创建成功");
    let inst = &r["instance"];
    assert_eq!(inst["db_type"], "sqlserver");
    assert_eq!(inst["port"], 1433);
    assert_eq!(inst["description"], "");
    assert_eq!(inst["status"], "active");
    assert_eq!(inst["tags"], json!([]));
    assert_eq!(inst["credential"]["username"], "dba");
    assert!(
        inst["credential"]["password"]
            .as_str()
            .unwrap()
            .starts_with('*')
    );
    assert!(inst.get("deleted_at").is_none() && inst.get("sync_count").is_none());
    let id = inst["id"].as_i64().unwrap();
    app.post(i, body)
        .await
        .err(409, "CONSTRAINT_VIOLATION", Some("实例名称已存在"));
    // a form body is accepted and sanitised
    let token = app.csrf.clone().unwrap();
    let form =
        "name=form-inst&db_type=postgresql&host=db.example.com&port=5432&description=a%3Cb%3E";
    let r = app
        .send(
            "POST",
            i,
            Some((
                "application/x-www-form-urlencoded",
                form.as_bytes().to_vec(),
            )),
            &[("X-CSRFToken", &token)],
        )
        .await;
    assert_eq!(
        r.ok(201, "实例创建成功")["instance"]["description"],
        "a&lt;b&gt;"
    );
    // replace-style update
    let upd = app.put(&format!("{i}/{id}"), json!({"name": "prod-02", "db_type": "oracle", "host": "10.1.2.4", "port": 1521, "description": "d", "is_active": false, "credential_id": null})).await;
    let u = upd.ok(200, "实例更新成功")["instance"].clone();
    assert_eq!(
        (
            u["name"].as_str(),
            u["db_type"].as_str(),
            u["status"].as_str()
        ),
        (Some("prod-02"), Some("oracle"), Some("inactive"))
    );
    assert_eq!(u["credential_id"], Value::Null);
    app.put(
        &format!("{i}/{id}"),
        json!({"name": "form-inst", "db_type": "oracle", "host": "h", "port": 1}),
    )
    .await
    .err(409, "CONSTRAINT_VIOLATION", Some("实例名称已存在"));
    app.put(&format!("{i}/{id}"), json!({"name": "prod-02"}))
        .await
        .err(
            400,
            "VALIDATION_ERROR",
            Some("字段 'db_type, host, port' 是必填的"),
        );
    app.put(&format!("{i}/{id}"), json!({"name": "prod-02", "db_type": "oracle", "host": "h", "port": 1, "credential_id": "x"})).await.err(400, "VALIDATION_ERROR", Some("credential_id 必须为整数"));
    app.put(&format!("{i}/424242"), json!({}))
        .await
        .err(404, "INVALID_REQUEST", None);
    // list
    for n in 0..3 {
        app.create_instance(json!({"name": format!("pg-{n}"), "db_type": "postgresql", "host": format!("pg{n}.local"), "port": 5432, "description": "Billing"})).await;
    }
    let l = app
        .get(&format!(
            "{i}?db_type=postgresql&search=BILL&sort=name&order=asc&page_size=2"
        ))
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (
            l["total"].as_i64(),
            l["pages"].as_i64(),
            l["limit"].as_i64()
        ),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(l["items"][0]["name"], "pg-0");
    let item = &l["items"][0];
    for k in [
        "id",
        "name",
        "db_type",
        "host",
        "port",
        "description",
        "is_active",
        "deleted_at",
        "status",
        "main_version",
        "active_db_count",
        "active_account_count",
        "last_sync_time",
        "tags",
    ] {
        assert!(item.get(k).is_some(), "missing {k}");
    }
    let l = app
        .get(&format!("{i}?status=inactive"))
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(l["total"], 1);
    let l = app
        .get(&format!(
            "{i}?page_size=0&page=-4&sort=bogus&order=sideways"
        ))
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (l["limit"].as_i64(), l["page"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(l["items"][0]["id"].as_i64() > l["items"][0]["id"].as_i64().map(|x| x - 1));
    let l = app
        .get(&format!("{i}?page_size=500"))
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(l["limit"], 100);
    // soft delete, idempotent; restore
    let d = app
        .post(&format!("{i}/{id}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    assert_eq!(
        (d["instance_id"].as_i64(), d["deletion_mode"].as_str()),
        (Some(id), Some("soft"))
    );
    let d2 = app
        .post(&format!("{i}/{id}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    assert_eq!(d["deleted_at"], d2["deleted_at"]);
    app.get(&format!("{i}/{id}"))
        .await
        .err(404, "INVALID_REQUEST", None);
    let total_all = app
        .get(&format!("{i}?include_deleted=true"))
        .await
        .ok(200, "获取实例列表成功")["total"]
        .as_i64()
        .unwrap();
    let total = app.get(i).await.ok(200, "获取实例列表成功")["total"]
        .as_i64()
        .unwrap();
    assert_eq!(total_all, total + 1);
    let del = app
        .get(&format!("{i}?include_deleted=1&status=inactive"))
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(del["items"][0]["status"], "deleted");
    assert!(del["items"][0]["deleted_at"].is_string());
    let r = app
        .post(&format!("{i}/{id}/restore"), json!({}))
        .await
        .ok(200, "实例恢复成功");
    assert_eq!(r["instance"]["id"].as_i64(), Some(id));
    app.post(&format!("{i}/{id}/restore"), json!({}))
        .await
        .ok(200, "实例未删除，无需恢复");
    app.post(&format!("{i}/999999/restore"), json!({}))
        .await
        .err(404, "INVALID_REQUEST", None);
    app.post(&format!("{i}/999999/delete"), json!({}))
        .await
        .err(404, "INVALID_REQUEST", None);
}

#[tokio::test]
async fn connections_validation_and_status() {
    let mut app = admin().await;
    let t = "/api/v1/connections/actions/test";
    app.post(t, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("请求数据不能为空"));
    app.post(t, json!([1])).await.err(
        400,
        "VALIDATION_ERROR",
        Some("请求数据格式必须是 JSON 对象"),
    );
    app.post(t, json!({"instance_id": null})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("instance_id 不能为空"),
    );
    app.post(t, json!({"instance_id": "x"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("instance_id 必须是整数"),
    );
    app.post(t, json!({"instance_id": 4242})).await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("实例不存在"),
    );
    app.post(t, json!({"db_type": "mysql"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("缺少必需参数: host, port, credential_id"),
    );
    app.post(
        t,
        json!({"db_type": "db2", "host": "h", "port": 1, "credential_id": 1}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("不支持的数据库类型: db2"));
    app.post(
        t,
        json!({"db_type": "mysql", "host": "h", "port": "x", "credential_id": 1}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("端口号必须是有效的数字"));
    app.post(
        t,
        json!({"db_type": "mysql", "host": "h", "port": 70000, "credential_id": 1}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("端口号必须在1-65535之间"));
    app.post(
        t,
        json!({"db_type": "mysql", "host": "h", "port": 1, "credential_id": "z"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("credential_id 必须是整数"));
    app.post(
        t,
        json!({"db_type": "mysql", "host": "h", "port": 1, "credential_id": 99}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("凭据不存在"));
    let cid = app
        .create_credential("conn-cred", "nobody", "nopass1")
        .await;
    // a closed port → 409 with extra
    let r = app
        .post(
            t,
            json!({"db_type": "postgresql", "host": "127.0.0.1", "port": 1, "credential_id": cid}),
        )
        .await;
    let e = r
        .err(409, "DATABASE_CONNECTION_ERROR", Some("数据库连接失败"))
        .clone();
    assert_eq!(e["category"], "system");
    assert_eq!(e["extra"]["error_code"], "CONNECTION_FAILED");
    assert_eq!(
        e["extra"]["connection_error_id"].as_str().map(str::len),
        Some(32)
    );
    assert_eq!(e["extra"]["details"]["error_type"], "ConnectionError");
    // SQL Server and Oracle adapters exist (issue 8): no server listens here, a clear 409
    for (name, db_type) in [("mssql-1", "sqlserver"), ("ora-1", "oracle")] {
        let id = app.create_instance(json!({"name": name, "db_type": db_type, "host": "127.0.0.1", "port": 1, "credential_id": cid})).await;
        let r = app.post(t, json!({"instance_id": id})).await;
        assert_eq!(
            r.err(409, "DATABASE_CONNECTION_ERROR", None)["extra"]["details"]["error_type"],
            "ConnectionError"
        );
    }
    let ms = app
        .get("/api/v1/instances?search=mssql-1")
        .await
        .ok(200, "获取实例列表成功")["items"][0]["id"]
        .as_i64()
        .unwrap();
    // the failed test does not make the connection status "good"
    let s = app
        .get(&format!("/api/v1/connections/status/{ms}"))
        .await
        .ok(200, "获取连接状态成功");
    assert_eq!(
        (s["status"].as_str(), s["last_connected"].clone()),
        (Some("unknown"), Value::Null)
    );
    assert_eq!(
        (
            s["instance_name"].as_str(),
            s["port"].as_i64(),
            s["is_active"].as_bool()
        ),
        (Some("mssql-1"), Some(1), Some(true))
    );
    app.get("/api/v1/connections/status/9999").await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("实例不存在"),
    );
    // validate-params
    let v = "/api/v1/connections/actions/validate-params";
    app.post(
        v,
        json!({"db_type": "mysql", "port": 3306, "credential_id": cid}),
    )
    .await
    .ok(200, "连接参数验证通过");
    app.post(v, json!({"db_type": "mysql"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("缺少必需参数: port"),
    );
    app.post(v, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("请求数据不能为空"));
    app.post(
        v,
        json!({"db_type": "pg", "port": 5432, "credential_id": 12345}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("凭据不存在"));
    // batch-test
    let b = "/api/v1/connections/actions/batch-test";
    app.post(b, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("缺少实例ID列表"));
    app.post(b, json!({"instance_ids": []})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("实例ID列表不能为空"),
    );
    app.post(b, json!({"instance_ids": ["a"]})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("实例ID列表必须为整数"),
    );
    app.post(b, json!({"instance_ids": (0..51).collect::<Vec<_>>()}))
        .await
        .err(400, "VALIDATION_ERROR", Some("批量测试数量不能超过50个"));
    let r = app
        .post(b, json!({"instance_ids": [999, ms.to_string()]}))
        .await
        .ok(200, "批量连接测试完成");
    assert_eq!(
        r["results"][0],
        json!({"instance_id": 999, "success": false, "error": "实例不存在"})
    );
    assert_eq!(r["results"][1]["success"], false);
    assert_eq!(r["results"][1]["message"], "数据库连接失败");
    assert_eq!(r["summary"], json!({"total": 2, "success": 0, "failed": 2}));
    // a `user` may test connections (permission `view`) but sees no error details
    app.create_user("conn_user", "user", "TestPass1").await;
    let mut u = app.client();
    u.login("conn_user", "TestPass1").await;
    let r = u.post(t, json!({"instance_id": ms})).await;
    assert!(
        r.err(409, "DATABASE_CONNECTION_ERROR", None)["extra"]
            .get("details")
            .is_none()
    );
}

#[tokio::test]
async fn tag_names_and_tag_filters() {
    let mut app = admin().await;
    use sea_orm::{ActiveModelTrait, Set};
    for (name, color) in [("prod", "danger"), ("dev", "nope")] {
        wf_store::entity::tag::ActiveModel {
            name: Set(name.into()),
            display_name: Set(format!("{name} env")),
            category: Set("environment".into()),
            color: Set(color.into()),
            is_active: Set(true),
            created_at: Set(Some(chrono::Utc::now())),
            updated_at: Set(Some(chrono::Utc::now())),
            ..Default::default()
        }
        .insert(app.state.svc.store())
        .await
        .unwrap();
    }
    let cid = app
        .create_credential("tagged-cred", "dba", "secret123")
        .await;
    let body = json!({"name": "t1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306, "credential_id": cid, "tag_names": ["prod", "unknown"]});
    let r = app
        .post("/api/v1/instances", body)
        .await
        .ok(201, "实例创建成功");
    let tags = r["instance"]["tags"].as_array().unwrap().clone();
    assert_eq!(tags.len(), 1, "unknown tag names are ignored");
    assert_eq!(
        (
            tags[0]["name"].as_str(),
            tags[0]["color_value"].as_str(),
            tags[0]["css_class"].as_str()
        ),
        (Some("prod"), Some("#e74c3c"), Some("bg-danger"))
    );
    let id = r["instance"]["id"].as_i64().unwrap();
    let other = app.create_instance(json!({"name": "t2", "db_type": "mysql", "host": "10.0.0.2", "port": 3306, "tag_names": ["dev"]})).await;
    let d = app
        .get(&format!("/api/v1/instances/{other}"))
        .await
        .ok(200, "获取实例详情成功");
    assert_eq!(
        (
            d["instance"]["tags"][0]["color_value"].as_str(),
            d["instance"]["tags"][0]["color_name"].as_str()
        ),
        (Some("#3498db"), Some("信息蓝"))
    );
    let l = app
        .get("/api/v1/instances?tags=prod")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (l["total"].as_i64(), l["items"][0]["id"].as_i64()),
        (Some(1), Some(id))
    );
    assert_eq!(
        l["items"][0]["tags"],
        json!([{"name": "prod", "display_name": "prod env", "color": "danger"}])
    );
    let l = app
        .get("/api/v1/instances?tags=prod&tags=dev")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(l["total"], 2);
    let l = app
        .get("/api/v1/credentials?tags=prod")
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (l["total"].as_i64(), l["items"][0]["id"].as_i64()),
        (Some(1), Some(cid))
    );
    assert_eq!(
        app.get("/api/v1/credentials?tags=dev")
            .await
            .ok(200, "操作成功")["total"],
        0
    );
    assert_eq!(
        app.get("/api/v1/accounts/ledgers?tags=prod")
            .await
            .ok(200, "获取账户列表成功")["total"],
        0
    );
    // an update without tag_names removes every tag
    app.put(
        &format!("/api/v1/instances/{id}"),
        json!({"name": "t1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306}),
    )
    .await
    .ok(200, "实例更新成功");
    assert_eq!(
        app.get("/api/v1/instances?tags=prod")
            .await
            .ok(200, "获取实例列表成功")["total"],
        0
    );
}

#[tokio::test]
async fn instance_list_aggregates_and_last_sync_sort() {
    let mut app = admin().await;
    let a = app
        .create_instance(json!({"name": "agg-a", "db_type": "mysql", "host": "h1", "port": 3306}))
        .await as i32;
    let b = app
        .create_instance(json!({"name": "agg-b", "db_type": "mysql", "host": "h2", "port": 3306}))
        .await as i32;
    use sea_orm::{ActiveModelTrait, Set};
    use wf_store::entity::{instance_database, sync_instance_record, sync_session};
    let now = chrono::Utc::now();
    let today = now.date_naive();
    for (name, active) in [("db1", true), ("db2", true), ("old", false)] {
        instance_database::ActiveModel {
            instance_id: Set(a),
            database_name: Set(name.into()),
            is_active: Set(active),
            first_seen_date: Set(today),
            last_seen_date: Set(today),
            ..Default::default()
        }
        .insert(app.state.svc.store())
        .await
        .unwrap();
    }
    sync_session::ActiveModel {
        session_id: Set("s-1".into()),
        sync_type: Set("manual_task".into()),
        sync_category: Set("account".into()),
        status: Set("completed".into()),
        started_at: Set(now),
        ..Default::default()
    }
    .insert(app.state.svc.store())
    .await
    .unwrap();
    let done = now - chrono::Duration::minutes(5);
    sync_instance_record::ActiveModel {
        session_id: Set("s-1".into()),
        instance_id: Set(b),
        sync_category: Set("account".into()),
        status: Set("completed".into()),
        completed_at: Set(Some(done)),
        ..Default::default()
    }
    .insert(app.state.svc.store())
    .await
    .unwrap();
    let l = app
        .get("/api/v1/instances?sort=last_sync_time&order=desc")
        .await
        .ok(200, "获取实例列表成功");
    let items = l["items"].as_array().unwrap();
    let ia = items.iter().find(|i| i["id"] == json!(a)).unwrap();
    let ib = items.iter().find(|i| i["id"] == json!(b)).unwrap();
    assert_eq!(
        (
            ia["active_db_count"].as_i64(),
            ib["active_db_count"].as_i64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(ia["last_sync_time"], Value::Null);
    assert_eq!(
        ib["last_sync_time"].as_str().map(|s| s[..19].to_string()),
        Some(done.format("%Y-%m-%dT%H:%M:%S").to_string())
    );
    assert_eq!(l["total"], 2);
    let past = app
        .get("/api/v1/instances?page=7")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (
            past["total"].as_i64(),
            past["pages"].as_i64(),
            past["items"].as_array().unwrap().len()
        ),
        (Some(2), Some(1), 0)
    );
}

#[tokio::test]
async fn json_only_endpoints_ignore_form_bodies() {
    let mut app = admin().await;
    let token = app.csrf.clone().unwrap();
    let form = |b: &str| Some(("application/x-www-form-urlencoded", b.as_bytes().to_vec()));
    let h = [("X-CSRFToken", token.as_str())];
    app.send(
        "POST",
        "/api/v1/credentials",
        form("name=a&credential_type=database&username=dba&password=secret1"),
        &h,
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("name不能为空"));
    app.send(
        "POST",
        "/api/v1/connections/actions/test",
        form("instance_id=1"),
        &h,
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("请求数据不能为空"));
    app.send(
        "POST",
        "/api/v1/accounts/actions/sync",
        form("instance_id=1"),
        &h,
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("缺少实例ID"));
    app.send(
        "POST",
        "/api/v1/users",
        form("username=abc&role=user&password=TestPass1"),
        &h,
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("用户名不能为空"));
    // the form-accepting endpoints still read forms
    let r = app
        .send(
            "POST",
            "/api/v1/tags",
            form("name=formtag&display_name=F&category=c"),
            &h,
        )
        .await;
    r.ok(201, "标签创建成功");
}
