//! Account classifications (issue 9, first part): classification CRUD with the contract's
//! validation, defaults, deletion guards, and the DSL v4 expression check — through the real
//! router on the selected store.

mod common;

use common::TestApp;
use serde_json::json;

const C: &str = "/api/v1/accounts/classifications";
const V: &str = "/api/v1/accounts/classifications/rules/actions/validate-expression";

#[tokio::test]
async fn classification_crud_and_rules() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let l = app.get(C).await.ok(200, "账户分类获取成功");
    assert_eq!(l["classifications"], json!([]));
    // validation
    app.post(C, json!({"name": "  "}))
        .await
        .err(400, "VALIDATION_ERROR", Some("分类名称不能为空"));
    app.post(C, json!({"name": "x", "risk_level": "extreme"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("风险等级取值无效"));
    app.post(C, json!({"name": "x", "color": "pink"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("无效的颜色选择"));
    app.post(C, json!({"name": "x", "icon_name": "fa-bomb"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("图标取值无效"));
    app.post(C, json!({"name": 7}))
        .await
        .err(400, "VALIDATION_ERROR", Some("name 必须是字符串"));
    // create with defaults; priority clamped; non-integer priority → default
    let c = app
        .post(C, json!({"name": " 特权账户 "}))
        .await
        .ok(201, "账户分类创建成功")["classification"]
        .clone();
    assert_eq!(c["name"], "特权账户");
    assert_eq!(
        (
            c["risk_level"].as_str(),
            c["color_key"].as_str(),
            c["color"].as_str()
        ),
        (Some("medium"), Some("info"), Some("#3498db"))
    );
    assert_eq!(
        (
            c["icon_name"].as_str(),
            c["priority"].as_i64(),
            c["is_system"].as_bool()
        ),
        (Some("fa-tag"), Some(0), Some(false))
    );
    assert!(c.get("rules_count").is_none());
    let hi = app
        .post(C, json!({"name": "高危", "risk_level": "critical", "color": "danger", "icon_name": "fa-crown", "priority": 500, "description": "d"}))
        .await
        .ok(201, "账户分类创建成功")["classification"]
        .clone();
    assert_eq!(
        (hi["priority"].as_i64(), hi["color"].as_str()),
        (Some(100), Some("#e74c3c"))
    );
    let odd = app
        .post(C, json!({"name": "低", "priority": "abc"}))
        .await
        .ok(201, "账户分类创建成功")["classification"]
        .clone();
    assert_eq!(odd["priority"], 0);
    app.post(C, json!({"name": "高危"}))
        .await
        .err(400, "NAME_EXISTS", Some("分类名称已存在"));
    // list: by priority, with active rule counts
    let l = app.get(C).await.ok(200, "账户分类获取成功");
    let names: Vec<&str> = l["classifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "高危");
    assert_eq!(l["classifications"][0]["rules_count"], 0);
    // detail and partial update
    let id = c["id"].as_i64().unwrap();
    let d = app
        .get(&format!("{C}/{id}"))
        .await
        .ok(200, "账户分类获取成功")["classification"]
        .clone();
    assert_eq!(
        (d["name"].as_str(), d["rules_count"].as_i64()),
        (Some("特权账户"), Some(0))
    );
    let u = app
        .put(&format!("{C}/{id}"), json!({"priority": 42}))
        .await
        .ok(200, "账户分类更新成功")["classification"]
        .clone();
    assert_eq!(
        (
            u["name"].as_str(),
            u["priority"].as_i64(),
            u["risk_level"].as_str()
        ),
        (Some("特权账户"), Some(42), Some("medium"))
    );
    app.put(&format!("{C}/{id}"), json!({"name": "高危"}))
        .await
        .err(400, "NAME_EXISTS", Some("分类名称已存在"));
    app.get(&format!("{C}/999999"))
        .await
        .err(404, "INVALID_REQUEST", None);
    // delete: in use → 409, system → 400, otherwise gone
    let store = app.state.svc.store().clone();
    {
        use sea_orm::{ActiveModelTrait, Set};
        wf_store::entity::classification_rule::ActiveModel {
            classification_id: Set(id as i32),
            db_type: Set("mysql".into()),
            rule_name: Set("r1".into()),
            rule_expression: Set("{}".into()),
            is_active: Set(false),
            ..Default::default()
        }
        .insert(&store)
        .await
        .unwrap();
        let sys = wf_store::entity::account_classification::ActiveModel {
            name: Set("系统".into()),
            risk_level: Set("high".into()),
            is_system: Set(true),
            is_active: Set(true),
            ..Default::default()
        }
        .insert(&store)
        .await
        .unwrap();
        app.delete(&format!("{C}/{}", sys.id)).await.err(
            400,
            "SYSTEM_CLASSIFICATION",
            Some("系统分类不能删除"),
        );
    }
    app.delete(&format!("{C}/{id}")).await.err(
        409,
        "CLASSIFICATION_IN_USE",
        Some("分类仍在使用,请先迁移关联规则/账户后再删除"),
    );
    let hid = hi["id"].as_i64().unwrap();
    app.delete(&format!("{C}/{hid}"))
        .await
        .ok(200, "账户分类删除成功");
    app.get(&format!("{C}/{hid}"))
        .await
        .err(404, "INVALID_REQUEST", None);
}

#[tokio::test]
async fn expression_check() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let good = json!({"version": 4, "expr": {"op": "OR", "args": [{"fn": "is_superuser"}, {"fn": "has_privilege", "args": {"name": "GRANT OPTION", "scope": "global"}}]}});
    let d = app
        .post(V, json!({"rule_expression": good}))
        .await
        .ok(200, "规则表达式校验通过");
    assert_eq!(d["rule_expression"], good);
    // a JSON string is parsed
    let d = app
        .post(V, json!({"rule_expression": good.to_string()}))
        .await
        .ok(200, "规则表达式校验通过");
    assert_eq!(d["rule_expression"], good);
    app.post(V, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("缺少 rule_expression 字段"));
    let r = app.post(V, json!({"rule_expression": "{bad"})).await;
    let m = r.err(400, "VALIDATION_ERROR", None)["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.starts_with("规则表达式 JSON 解析失败: "), "{m}");
    app.post(
        V,
        json!({"rule_expression": {"version": 3, "expr": {"fn": "is_superuser"}}}),
    )
    .await
    .err(
        400,
        "DSL_V4_REQUIRED",
        Some("仅支持 DSL v4 表达式(version=4)"),
    );
    for bad in [
        json!({"version": 4, "expr": {"fn": "is_root"}}),
        json!({"version": 4, "expr": {"op": "NOT", "args": []}}),
        json!({"version": 4, "expr": {"fn": "has_privilege", "args": {"name": "SELECT", "scope": "x"}}}),
        json!({"version": 4}),
    ] {
        app.post(V, json!({"rule_expression": bad})).await.err(
            400,
            "INVALID_DSL_EXPRESSION",
            Some("DSL v4 表达式校验失败"),
        );
    }
    // view permission is enough (a plain user)
    app.create_user("viewer_1", "user", "TestPass1").await;
    let mut user = app.client();
    user.login("viewer_1", "TestPass1").await;
    user.post(V, json!({"rule_expression": good}))
        .await
        .ok(200, "规则表达式校验通过");
    user.post(C, json!({"name": "n"})).await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 create 权限"),
    );
}

const R: &str = "/api/v1/accounts/classifications/rules";

#[tokio::test]
async fn rules_crud_validation_and_stats() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let cid = app
        .post(C, json!({"name": "特权"}))
        .await
        .ok(201, "账户分类创建成功")["classification"]["id"]
        .as_i64()
        .unwrap();
    let su = json!({"version": 4, "expr": {"fn": "is_superuser"}});
    let base = |name: &str, expr: serde_json::Value| json!({"rule_name": name, "classification_id": cid, "db_type": "MySQL", "operator": "OR", "rule_expression": expr});
    // validation, in the contract's order and wording
    app.post(R, json!({"rule_name": "x"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("缺少必填字段: classification_id, db_type, operator"),
    );
    app.post(
        R,
        json!({"rule_name": "x", "classification_id": "abc", "db_type": "mysql", "operator": "OR"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("选择的分类不存在"));
    app.post(
        R,
        json!({"rule_name": "x", "classification_id": 99999, "db_type": "mysql", "operator": "OR"}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("选择的分类不存在"));
    app.post(
        R,
        json!({"rule_name": "x", "classification_id": cid, "db_type": "db2", "operator": "OR"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("数据库类型取值无效"));
    app.post(
        R,
        json!({"rule_name": "x", "classification_id": cid, "db_type": "mysql", "operator": "or"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("匹配逻辑取值无效"));
    app.post(R, base("x", json!("{bad")))
        .await
        .err(400, "VALIDATION_ERROR", None);
    app.post(R, base("x", json!([1]))).await.err(
        400,
        "VALIDATION_ERROR",
        Some("规则表达式必须为对象"),
    );
    // non-v4 is refused on save (issue 9), invalid v4 too; a missing expression is not v4
    app.post(R, base("x", json!({"version": 3, "expr": {}})))
        .await
        .err(400, "DSL_V4_REQUIRED", None);
    app.post(
        R,
        json!({"rule_name": "x", "classification_id": cid, "db_type": "mysql", "operator": "OR"}),
    )
    .await
    .err(400, "DSL_V4_REQUIRED", None);
    app.post(R, base("x", json!({"version": 4, "expr": {"fn": "nope"}})))
        .await
        .err(
            400,
            "INVALID_DSL_EXPRESSION",
            Some("DSL v4 规则表达式校验失败"),
        );
    // create (db_type normalised, expression canonical); uniqueness by name and by expression
    let id = app
        .post(R, base("超级用户", su.clone()))
        .await
        .ok(201, "分类规则创建成功")["rule_id"]
        .as_i64()
        .unwrap();
    app.post(
        R,
        base(
            "超级用户",
            json!({"version": 4, "expr": {"fn": "has_role", "args": {"name": "x"}}}),
        ),
    )
    .await
    .err(400, "NAME_EXISTS", Some("同一数据库类型下规则名称重复"));
    app.post(R, base("另一个", json!(su.to_string())))
        .await
        .err(400, "EXPRESSION_DUPLICATED", Some("规则表达式重复"));
    let grant = json!({"expr": {"args": {"scope": "global", "name": "GRANT OPTION"}, "fn": "has_privilege"}, "version": 4});
    let id2 = app
        .post(R, base("可授权", grant.clone()))
        .await
        .ok(201, "分类规则创建成功")["rule_id"]
        .as_i64()
        .unwrap();
    // detail: parsed expression; filter: canonical text, newest first
    let d = app
        .get(&format!("{R}/{id}"))
        .await
        .ok(200, "规则详情获取成功")["rule"]
        .clone();
    assert_eq!(
        (d["db_type"].as_str(), d["classification_name"].as_str()),
        (Some("mysql"), Some("特权"))
    );
    assert_eq!(d["rule_expression"], su);
    assert!(d.get("matched_accounts_count").is_none());
    let f = app
        .get(&format!("{R}/filter?classification_id={cid}&db_type=mysql"))
        .await
        .ok(200, "分类规则获取成功");
    assert_eq!(f["rules"][0]["id"].as_i64(), Some(id2));
    assert_eq!(
        f["rules"][0]["rule_expression"],
        json!(
            r#"{"expr":{"args":{"name":"GRANT OPTION","scope":"global"},"fn":"has_privilege"},"version":4}"#
        )
    );
    let l = app.get(R).await.ok(200, "分类规则列表获取成功");
    assert_eq!(l["rules_by_db_type"]["mysql"].as_array().unwrap().len(), 2);
    assert_eq!(
        l["rules_by_db_type"]["mysql"][0]["matched_accounts_count"],
        0
    );
    // the classification counts its active rules
    let c = app
        .get(&format!("{C}/{cid}"))
        .await
        .ok(200, "账户分类获取成功");
    assert_eq!(c["classification"]["rules_count"], 2);
    // update: expression kept when absent, is_active absent → true, uniqueness excludes itself
    app.put(&format!("{R}/{id}"), json!({"rule_name": "超级用户", "classification_id": cid, "db_type": "mysql", "operator": "AND", "is_active": false}))
        .await
        .ok(200, "分类规则更新成功");
    let d = app
        .get(&format!("{R}/{id}"))
        .await
        .ok(200, "规则详情获取成功")["rule"]
        .clone();
    assert_eq!(
        (d["is_active"].as_bool(), d["rule_expression"].clone()),
        (Some(false), su.clone())
    );
    app.put(&format!("{R}/{id}"), json!({"rule_name": "可授权", "classification_id": cid, "db_type": "mysql", "operator": "AND"}))
        .await
        .err(400, "NAME_EXISTS", None);
    // stats: active rules only, by id; bad ids → 400
    let s = app
        .get(&format!("{R}/stats"))
        .await
        .ok(200, "规则命中统计获取成功");
    assert_eq!(
        s["rule_stats"],
        json!([{"rule_id": id2, "matched_accounts_count": 0}])
    );
    let s = app
        .get(&format!("{R}/stats?rule_ids={id2},,{id}"))
        .await
        .ok(200, "规则命中统计获取成功");
    assert_eq!(s["rule_stats"].as_array().unwrap().len(), 1);
    app.get(&format!("{R}/stats?rule_ids=1,x")).await.err(
        400,
        "VALIDATION_ERROR",
        Some("rule_ids 参数必须为整数ID,使用逗号分隔"),
    );
    // delete
    app.delete(&format!("{R}/{id2}"))
        .await
        .ok(200, "分类规则删除成功");
    app.get(&format!("{R}/{id2}"))
        .await
        .err(404, "INVALID_REQUEST", None);
    app.delete(&format!("{R}/{id2}"))
        .await
        .err(404, "INVALID_REQUEST", None);
}

#[tokio::test]
async fn colours_permission_catalogue_and_rule_cache() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let c = app
        .get(&format!("{C}/colors"))
        .await
        .ok(200, "颜色选项获取成功");
    let keys: Vec<&str> = c["colors"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "primary",
            "danger",
            "warning",
            "info",
            "secondary",
            "success",
            "dark",
            "light"
        ]
    );
    assert_eq!(c["colors"]["danger"]["value"], "#e74c3c");
    assert_eq!(c["colors"]["danger"]["css_class"], "bg-danger");
    assert_eq!(c["choices"][1][0], "danger");
    assert!(
        c["choices"][1][1]
            .as_str()
            .unwrap()
            .starts_with("危险红 - ")
    );
    // the seeded catalogue: categories by name, items by sort order
    let p = app
        .get(&format!("{C}/permissions/mysql"))
        .await
        .ok(200, "数据库权限获取成功");
    assert!(p.get("version_context").is_none());
    let p = &p["permissions"];
    assert_eq!(
        p.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["database_privileges", "global_privileges"]
    );
    assert_eq!(p["global_privileges"].as_array().unwrap().len(), 73);
    assert_eq!(
        p["global_privileges"][0],
        json!({"name": "SELECT", "description": "查询数据", "introduced_in_major": null})
    );
    assert!(
        p["global_privileges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "GRANT OPTION")
    );
    let o = app
        .get(&format!("{C}/permissions/oracle"))
        .await
        .ok(200, "数据库权限获取成功");
    assert_eq!(o["permissions"]["roles"].as_array().unwrap().len(), 68);
    assert_eq!(
        o["permissions"]["system_privileges"]
            .as_array()
            .unwrap()
            .len(),
        223
    );
    let pg = app
        .get(&format!("{C}/permissions/postgresql"))
        .await
        .ok(200, "数据库权限获取成功");
    assert_eq!(
        pg["permissions"]["predefined_roles"][0]["name"],
        "pg_checkpoint"
    );
    assert_eq!(
        pg["permissions"]["predefined_roles"][0]["introduced_in_major"],
        "15"
    );
    let ss = app
        .get(&format!("{C}/permissions/sqlserver"))
        .await
        .ok(200, "数据库权限获取成功");
    assert_eq!(ss["permissions"]["server_roles"][0]["name"], "sysadmin");
    // exact db type only
    for t in ["MySQL", "db2", "%25"] {
        let e = app
            .get(&format!("{C}/permissions/{t}"))
            .await
            .ok(200, "数据库权限获取成功");
        assert_eq!(e["permissions"], json!({}), "{t}");
    }
    // the rule cache endpoints
    let s = app
        .get("/api/v1/cache/classification/stats")
        .await
        .ok(200, "分类缓存统计获取成功");
    assert_eq!(s["cache_stats"]["status"], "connected");
    assert_eq!(
        s["db_type_stats"]["oracle"],
        json!({"rules_cached": false, "rules_count": 0})
    );
    app.post("/api/v1/cache/classification/clear", json!({}))
        .await
        .ok(200, "分类缓存已清除");
    app.post("/api/v1/cache/classification/clear/MySQL", json!(null))
        .await
        .ok(200, "数据库类型 MySQL 缓存已清除");
    app.post("/api/v1/cache/classification/clear/db2", json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("不支持的数据库类型: db2"));
    app.post("/api/v1/cache/classification/clear/pg", json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("不支持的数据库类型: pg"));
    // CSRF and permissions
    let r = app
        .send(
            "POST",
            "/api/v1/cache/classification/clear",
            Some(("application/json", b"{}".to_vec())),
            &[],
        )
        .await;
    r.err(400, "INVALID_REQUEST", Some("The CSRF token is missing."));
    app.create_user("viewer9", "user", "Viewer12345").await;
    let mut v = app.client();
    v.login("viewer9", "Viewer12345").await;
    v.get("/api/v1/cache/classification/stats")
        .await
        .ok(200, "分类缓存统计获取成功");
    v.get(&format!("{C}/colors"))
        .await
        .ok(200, "颜色选项获取成功");
    v.post("/api/v1/cache/classification/clear", json!({}))
        .await
        .err(403, "PERMISSION_REQUIRED", Some("需要 update 权限"));
    let mut anon = app.client();
    anon.clear_cookies();
    anon.get(&format!("{C}/permissions/mysql"))
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
}
