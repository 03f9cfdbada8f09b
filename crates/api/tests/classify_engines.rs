//! Auto-classification end to end on accounts synced from this machine's PostgreSQL and
//! MariaDB (issue 9): a superuser rule, a `has_privilege` rule with a database scope on a
//! case-sensitive schema name, a rule that stops matching after a REVOKE and a re-sync, and a
//! manual assignment that survives a run. Everything created is dropped at the end.

mod common;

use common::{TestApp, my_exec, pg_exec, unique};
use serde_json::{Value, json};

async fn sync(app: &mut TestApp, iid: i64) {
    let r = app
        .post("/api/v1/accounts/actions/sync", json!({"instance_id": iid}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn ledger_names(app: &mut TestApp, cid: i64) -> Vec<String> {
    let l = app
        .get(&format!(
            "/api/v1/accounts/ledgers?classification={cid}&page_size=200"
        ))
        .await
        .ok(200, "获取账户列表成功");
    l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["username"].as_str().unwrap().to_string())
        .collect()
}

async fn classify(app: &mut TestApp, body: Value) -> Value {
    app.post(
        "/api/v1/accounts/classifications/actions/auto-classify",
        body,
    )
    .await
    .ok(200, "自动分类完成")
}

#[tokio::test]
async fn auto_classification_on_real_synced_accounts() {
    let u = unique();
    let (su, plain, app_user, mon, db) = (
        format!("wf_{u}_su"),
        format!("wf_{u}_plain"),
        format!("wf_{u}_app"),
        format!("wf_{u}_mon"),
        format!("Wf_{u}_Sales"),
    );
    pg_exec(&[
        format!("CREATE ROLE {su} SUPERUSER LOGIN"),
        format!("CREATE ROLE {plain} LOGIN"),
    ])
    .await;
    my_exec(&[
        format!("CREATE DATABASE `{db}`"),
        format!("CREATE USER '{app_user}'@'%' IDENTIFIED BY 'x'"),
        format!("GRANT SELECT ON `{db}`.* TO '{app_user}'@'%'"),
        format!("CREATE USER '{mon}'@'%' IDENTIFIED BY 'Monitor123'"),
        format!("GRANT SELECT ON *.* TO '{mon}'@'%'"),
    ])
    .await;
    let mut app = TestApp::new().await;
    app.login_admin().await;
    // no rule yet
    app.post(
        "/api/v1/accounts/classifications/actions/auto-classify",
        json!({}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("没有可用的分类规则"));
    let pc = app
        .create_credential(&format!("pg-{u}"), "postgres", "trustauth")
        .await;
    let pg = app.create_instance(json!({"name": format!("pg-{u}"), "db_type": "postgresql", "host": "127.0.0.1", "port": 5432, "credential_id": pc})).await;
    let mc = app
        .create_credential(&format!("my-{u}"), &mon, "Monitor123")
        .await;
    let my = app.create_instance(json!({"name": format!("my-{u}"), "db_type": "mysql", "host": "127.0.0.1", "port": 3306, "credential_id": mc})).await;
    sync(&mut app, pg).await;
    sync(&mut app, my).await;
    let c = "/api/v1/accounts/classifications";
    let privileged = app
        .post(c, json!({"name": format!("特权-{u}")}))
        .await
        .ok(201, "账户分类创建成功")["classification"]["id"]
        .as_i64()
        .unwrap();
    let readers = app
        .post(c, json!({"name": format!("销售库读-{u}")}))
        .await
        .ok(201, "账户分类创建成功")["classification"]["id"]
        .as_i64()
        .unwrap();
    let rules = "/api/v1/accounts/classifications/rules";
    let su_rule = app.post(rules, json!({"rule_name": "超级用户", "classification_id": privileged, "db_type": "postgresql", "operator": "OR",
        "rule_expression": {"version": 4, "expr": {"fn": "is_superuser"}}}))
        .await
        .ok(201, "分类规则创建成功")["rule_id"]
        .as_i64()
        .unwrap();
    let read_rule = app
        .post(rules, json!({"rule_name": "销售库只读", "classification_id": readers, "db_type": "mysql", "operator": "OR",
            "rule_expression": {"version": 4, "expr": {"fn": "has_privilege", "args": {"name": "SELECT", "scope": "database", "database": db}}}}))
        .await
        .ok(201, "分类规则创建成功")["rule_id"]
        .as_i64()
        .unwrap();
    // the same rule with an upper-cased schema name matches nothing: names keep their case
    app.post(rules, json!({"rule_name": "大写库名", "classification_id": readers, "db_type": "mysql", "operator": "OR",
        "rule_expression": {"version": 4, "expr": {"fn": "has_privilege", "args": {"name": "SELECT", "scope": "database", "database": db.to_uppercase()}}}}))
        .await
        .ok(201, "分类规则创建成功");
    let r = classify(
        &mut app,
        json!({"instance_id": null, "use_optimized": true}),
    )
    .await;
    assert!(r["classified_accounts"].as_i64().unwrap() >= 2, "{r}");
    assert_eq!(r["failed_count"], 0);
    let names = ledger_names(&mut app, privileged).await;
    assert!(names.contains(&su) && !names.contains(&plain), "{names:?}");
    let app_key = format!("{app_user}@%");
    assert_eq!(ledger_names(&mut app, readers).await, vec![app_key.clone()]);
    let s = app
        .get(&format!("{rules}/stats?rule_ids={read_rule}"))
        .await
        .ok(200, "规则命中统计获取成功");
    assert_eq!(s["rule_stats"][0]["matched_accounts_count"], 1);
    // daily match statistics (domain.md §1.10): a row per rule and instance of its engine,
    // zero counts included; distinct accounts per classification
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    for _ in 0..2 {
        let d = wf_services::classify::daily_match_stats(&app.state.svc, day)
            .await
            .unwrap();
        assert_eq!((d.rules, d.rule_rows), (3, 3), "{d:?}");
    }
    let rows = wf_store::repo::match_stats::rule_counts_of(app.state.svc.store(), day)
        .await
        .unwrap();
    let count_of = |rule: i64, inst: i64| {
        rows.iter()
            .find(|(r, i, _)| *r as i64 == rule && *i as i64 == inst)
            .map(|(_, _, n)| *n)
    };
    assert_eq!(count_of(read_rule, my), Some(1), "{rows:?}");
    assert_eq!(count_of(read_rule + 1, my), Some(0), "{rows:?}");
    assert!(count_of(su_rule, pg).unwrap() >= 1);
    let classes = wf_store::repo::match_stats::classification_counts_of(app.state.svc.store(), day)
        .await
        .unwrap();
    assert!(
        classes.contains(&(readers as i32, my as i32, 1)),
        "{classes:?}"
    );
    // the account export: the ledger's filters, by username, classifications joined
    let r = app
        .get(&format!(
            "/api/v1/files/account-export?instance_id={my}&search={app_user}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cd = r.headers["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment; filename=accounts_export_") && cd.ends_with(".csv"));
    assert_eq!(
        r.text,
        format!(
            "名称,实例名称,IP地址,标签,数据库类型,分类,锁定状态\r\n{app_key}@127.0.0.1,my-{u},127.0.0.1,,MYSQL,销售库读-{u},正常\r\n"
        )
    );
    let r = app
        .get(&format!(
            "/api/v1/files/account-export?db_type=postgresql&tags=,&search=wf_{u}_"
        ))
        .await;
    let lines: Vec<&str> = r.text.split("\r\n").collect();
    assert_eq!(
        &lines[1..],
        &[
            format!("{plain},pg-{u},127.0.0.1,,POSTGRESQL,未分类,正常").as_str(),
            format!("{su},pg-{u},127.0.0.1,,POSTGRESQL,特权-{u},正常").as_str(),
            ""
        ]
    );
    // the run cached the rules per engine
    let cs = app
        .get("/api/v1/cache/classification/stats")
        .await
        .ok(200, "分类缓存统计获取成功");
    assert_eq!(cs["db_type_stats"]["mysql"]["rules_count"], 2, "{cs}");
    assert_eq!(cs["db_type_stats"]["postgresql"]["rules_cached"], true);
    assert_eq!(cs["cache_enabled"], true);
    // account statistics over the synced accounts
    let st = app
        .get("/api/v1/accounts/statistics")
        .await
        .ok(200, "获取账户统计信息成功")["stats"]
        .clone();
    let pg_total = st["db_type_stats"]["postgresql"]["total"].as_i64().unwrap();
    assert!(
        pg_total >= 2 && st["db_type_stats"]["oracle"]["total"] == 0,
        "{st}"
    );
    assert_eq!(
        st["total_accounts"].as_i64(),
        Some(pg_total + st["db_type_stats"]["mysql"]["total"].as_i64().unwrap())
    );
    assert_eq!(
        (
            st["total_instances"].as_i64(),
            st["database_instances"].as_i64()
        ),
        (Some(2), Some(2))
    );
    let privileged_count = ledger_names(&mut app, privileged).await.len() as i64;
    assert_eq!(
        st["classification_stats"][format!("特权-{u}")]["account_count"].as_i64(),
        Some(privileged_count)
    );
    let sum = app
        .get(&format!(
            "/api/v1/accounts/statistics/summary?instance_id={pg}"
        ))
        .await
        .ok(200, "获取账户统计汇总成功");
    assert_eq!(
        (
            sum["total_accounts"].as_i64(),
            sum["total_instances"].as_i64()
        ),
        (Some(pg_total), Some(1))
    );
    assert_eq!(
        sum["normal_accounts"].as_i64().unwrap() + sum["locked_accounts"].as_i64().unwrap(),
        sum["active_accounts"].as_i64().unwrap()
    );
    let dt = app
        .get("/api/v1/accounts/statistics/db-types")
        .await
        .ok(200, "获取数据库类型统计成功");
    assert_eq!(dt["postgresql"]["total"].as_i64(), Some(pg_total));
    let cs = app
        .get("/api/v1/accounts/statistics/classifications")
        .await
        .ok(200, "获取账户分类统计成功");
    assert_eq!(cs[format!("销售库读-{u}")]["account_count"], 1);
    assert_eq!(cs[format!("销售库读-{u}")]["color"], "info");
    // a manual assignment survives a run
    let plain_id = {
        let l = app
            .get(&format!("/api/v1/instances/{pg}/accounts?search={plain}"))
            .await
            .ok(200, "获取实例账户数据成功");
        l["items"][0]["id"].as_i64().unwrap() as i32
    };
    {
        use sea_orm::{ActiveModelTrait, Set};
        wf_store::entity::account_classification_assignment::ActiveModel {
            account_id: Set(plain_id),
            classification_id: Set(privileged as i32),
            assigned_by: Set(Some(1)),
            assignment_type: Set("manual".into()),
            is_active: Set(Some(true)),
            assigned_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(app.state.svc.store())
        .await
        .unwrap();
    }
    // REVOKE + re-sync: the rule stops matching; the manual assignment stays
    my_exec(&[format!("REVOKE SELECT ON `{db}`.* FROM '{app_user}'@'%'")]).await;
    sync(&mut app, my).await;
    classify(&mut app, json!({})).await;
    assert!(ledger_names(&mut app, readers).await.is_empty());
    let names = ledger_names(&mut app, privileged).await;
    assert!(names.contains(&su) && names.contains(&plain), "{names:?}");
    let a = app
        .get("/api/v1/accounts/classifications/assignments")
        .await
        .ok(200, "账户分类分配获取成功");
    let manual = a["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["account_id"] == plain_id)
        .unwrap()
        .clone();
    assert_eq!(manual["assigned_by"], 1);
    // one instance only: the other instance's auto assignments are untouched
    let before = a["assignments"].as_array().unwrap().len();
    classify(&mut app, json!({"instance_id": my.to_string()})).await;
    let a = app
        .get("/api/v1/accounts/classifications/assignments")
        .await
        .ok(200, "账户分类分配获取成功");
    assert_eq!(a["assignments"].as_array().unwrap().len(), before);
    // deleting a rule drops the rule cache: the next run no longer evaluates it
    app.delete(&format!("{rules}/{su_rule}"))
        .await
        .ok(200, "分类规则删除成功");
    {
        // its assignments stay, without a rule
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        use wf_store::entity::account_classification_assignment as asg;
        let store = app.state.svc.store();
        let by_rule = asg::Entity::find()
            .filter(asg::Column::RuleId.eq(su_rule as i32))
            .count(store)
            .await
            .unwrap();
        let ruleless = asg::Entity::find()
            .filter(asg::Column::ClassificationId.eq(privileged as i32))
            .filter(asg::Column::AssignmentType.eq("auto"))
            .filter(asg::Column::RuleId.is_null())
            .count(store)
            .await
            .unwrap();
        assert_eq!(by_rule, 0);
        assert!(ruleless >= 1);
    }
    let cs = app
        .get("/api/v1/cache/classification/stats")
        .await
        .ok(200, "分类缓存统计获取成功");
    assert_eq!(cs["db_type_stats"]["postgresql"]["rules_cached"], false);
    let r = classify(&mut app, json!({"instance_id": pg})).await;
    assert_eq!(r["classified_accounts"], 0, "{r}");
    let names = ledger_names(&mut app, privileged).await;
    assert!(!names.contains(&su) && names.contains(&plain), "{names:?}");
    // soft removal of an assignment
    let aid = manual["id"].as_i64().unwrap();
    app.delete(&format!(
        "/api/v1/accounts/classifications/assignments/{aid}"
    ))
    .await
    .ok(200, "账户分类分配移除成功");
    app.delete(&format!(
        "/api/v1/accounts/classifications/assignments/{aid}"
    ))
    .await
    .ok(200, "账户分类分配移除成功");
    app.delete("/api/v1/accounts/classifications/assignments/999999")
        .await
        .err(404, "INVALID_REQUEST", None);
    // a classification whose rules are gone and whose assignments are all removed can go
    app.delete(&format!("{c}/{privileged}"))
        .await
        .ok(200, "账户分类删除成功");
    app.delete(&format!("{c}/{readers}"))
        .await
        .err(409, "CLASSIFICATION_IN_USE", None);
    app.post(
        "/api/v1/accounts/classifications/actions/auto-classify",
        json!({"instance_id": true}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("instance_id 参数无效"));
    app.post(
        "/api/v1/accounts/classifications/actions/auto-classify",
        json!({"use_optimized": "maybe"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("use_optimized 参数无效"));
    pg_exec(&[format!("DROP ROLE {su}"), format!("DROP ROLE {plain}")]).await;
    my_exec(&[
        format!("DROP USER '{app_user}'@'%'"),
        format!("DROP USER '{mon}'@'%'"),
        format!("DROP DATABASE `{db}`"),
    ])
    .await;
}
