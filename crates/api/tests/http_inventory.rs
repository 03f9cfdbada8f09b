//! Inventory and administration surface (issue 4): tags, bulk tag assignment, CSV batch
//! create, batch delete, statistics, common options, file exports, cache endpoints and the
//! role matrix — through the real router on the selected store.

mod common;

use common::TestApp;
use serde_json::{Value, json};

async fn admin() -> TestApp {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----wfboundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &mut TestApp, name: &str, csv: &[u8]) -> common::Resp {
    let token = app.csrf.clone().unwrap();
    let (ct, body) = multipart(&[], Some((name, csv)));
    app.send(
        "POST",
        "/api/v1/instances/batch-create",
        Some((&ct, body)),
        &[("X-CSRFToken", &token)],
    )
    .await
}

#[tokio::test]
async fn tags_crud_and_rules() {
    let mut app = admin().await;
    let t = "/api/v1/tags";
    app.post(t, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("name不能为空"));
    app.post(t, json!({"name": "a"})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("display_name不能为空"),
    );
    app.post(t, json!({"name": "a", "display_name": "A"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("category不能为空"));
    app.post(
        t,
        json!({"name": "a b", "display_name": "A", "category": "other"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("标签代码仅支持字母、数字、下划线或中划线"),
    );
    app.post(
        t,
        json!({"name": "a", "display_name": "A", "category": "other", "color": "pink"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("无效的颜色选择: pink"));
    app.post(
        t,
        json!({"name": "x".repeat(51), "display_name": "A", "category": "other"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", None);
    let tag = app.post(t, json!({"name": "prod", "display_name": "生产<b>", "category": "environment", "color": "danger"})).await.ok(201, "标签创建成功")["tag"].clone();
    assert_eq!(tag["display_name"], "生产&lt;b&gt;");
    assert_eq!(
        (
            tag["color_value"].as_str(),
            tag["color_name"].as_str(),
            tag["css_class"].as_str()
        ),
        (Some("#e74c3c"), Some("危险红"), Some("bg-danger"))
    );
    let id = tag["id"].as_i64().unwrap();
    app.post(
        t,
        json!({"name": "prod", "display_name": "x", "category": "y"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("标签代码已存在,请使用其他名称"),
    );
    let token = app.csrf.clone().unwrap();
    let r = app
        .send(
            "POST",
            t,
            Some((
                "application/x-www-form-urlencoded",
                b"name=dev&display_name=Dev&category=environment&is_active=false".to_vec(),
            )),
            &[("X-CSRFToken", &token)],
        )
        .await;
    let dev = r.ok(201, "标签创建成功")["tag"].clone();
    assert_eq!(
        (dev["color"].as_str(), dev["is_active"].as_bool()),
        (Some("primary"), Some(false))
    );
    let dev_id = dev["id"].as_i64().unwrap();
    app.post(
        t,
        json!({"name": "loc1", "display_name": "Beijing", "category": "location"}),
    )
    .await
    .ok(201, "标签创建成功");
    let l = app
        .get(&format!("{t}?page_size=2"))
        .await
        .ok(200, "操作成功");
    assert_eq!(
        l["stats"],
        json!({"total": 3, "active": 2, "inactive": 1, "category_count": 2})
    );
    assert_eq!(
        (l["total"].as_i64(), l["pages"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(l["items"][0]["category"], "environment");
    assert_eq!(l["items"][0]["instance_count"], 0);
    let l = app
        .get(&format!("{t}?status=inactive&search=DE"))
        .await
        .ok(200, "操作成功");
    assert_eq!(l["total"], 1);
    let o = app
        .get(&format!("{t}/options?category=environment"))
        .await
        .ok(200, "操作成功");
    assert_eq!(
        (o["tags"].as_array().unwrap().len(), o["category"].as_str()),
        (1, Some("environment"))
    );
    assert_eq!(
        app.get(&format!("{t}/options")).await.ok(200, "操作成功")["category"],
        Value::Null
    );
    let c = app
        .get(&format!("{t}/categories"))
        .await
        .ok(200, "操作成功");
    assert_eq!(c["categories"][0], json!(["location", "地区标签"]));
    assert_eq!(c["categories"].as_array().unwrap().len(), 9);
    assert_eq!(
        app.get(&format!("{t}/by-name/prod"))
            .await
            .ok(200, "获取标签详情成功")["tag"]["id"]
            .as_i64(),
        Some(id)
    );
    app.get(&format!("{t}/by-name/nope"))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("标签不存在"));
    assert_eq!(
        app.get(&format!("{t}/{id}"))
            .await
            .ok(200, "获取标签详情成功")["tag"]["name"],
        "prod"
    );
    app.get(&format!("{t}/99999"))
        .await
        .err(404, "INVALID_REQUEST", None);
    let u = app
        .put(
            &format!("{t}/{id}"),
            json!({"name": "prod", "display_name": "Production", "category": "environment"}),
        )
        .await
        .ok(200, "标签更新成功");
    assert_eq!(
        (
            u["tag"]["display_name"].as_str(),
            u["tag"]["color"].as_str()
        ),
        (Some("Production"), Some("danger"))
    );
    app.put(
        &format!("{t}/{id}"),
        json!({"name": "dev", "display_name": "x", "category": "y"}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("标签代码已存在,请使用其他名称"),
    );
    app.put(
        &format!("{t}/99999"),
        json!({"name": "q", "display_name": "x", "category": "y"}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("标签不存在"));
    // a linked tag cannot be deleted
    app.create_instance(json!({"name": "tagged", "db_type": "mysql", "host": "h1", "port": 3306, "tag_names": ["prod"]})).await;
    app.post(&format!("{t}/{id}/delete"), json!({})).await.err(
        409,
        "TAG_IN_USE",
        Some("标签 'Production' 仍被 1 个实例使用,无法删除"),
    );
    assert_eq!(
        app.post(&format!("{t}/{dev_id}/delete"), json!({}))
            .await
            .ok(200, "标签删除成功")["tag_id"]
            .as_i64(),
        Some(dev_id)
    );
    app.post(&format!("{t}/{dev_id}/delete"), json!({}))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("标签不存在"));
    // batch delete: 207 with per-item statuses
    app.post(&format!("{t}/batch-delete"), json!({"tag_ids": []}))
        .await
        .err(400, "VALIDATION_ERROR", Some("tag_ids 不能为空"));
    app.post(&format!("{t}/batch-delete"), json!({"tag_ids": "1"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("tag_ids 不能为空"));
    let r = app
        .post(
            &format!("{t}/batch-delete"),
            json!({"tag_ids": [id, "abc", 4242]}),
        )
        .await;
    let d = r.ok(207, "部分标签未能删除");
    assert_eq!(
        d["results"],
        json!([
            {"tag_id": id, "status": "in_use", "instance_count": 1},
            {"tag_id": "abc", "status": "invalid_id"},
            {"tag_id": 4242, "status": "not_found"},
        ])
    );
    let a = app
        .post(
            t,
            json!({"name": "t1", "display_name": "T1", "category": "c"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    let b = app
        .post(
            t,
            json!({"name": "t2", "display_name": "T2", "category": "c"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    let d = app
        .post(
            &format!("{t}/batch-delete"),
            json!({"tag_ids": [a, b.to_string()]}),
        )
        .await
        .ok(200, "标签批量删除成功");
    assert_eq!(d["results"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bulk_tag_assignment() {
    let mut app = admin().await;
    let i1 = app
        .create_instance(json!({"name": "b1", "db_type": "mysql", "host": "h1", "port": 3306}))
        .await;
    let i2 = app
        .create_instance(json!({"name": "b2", "db_type": "postgresql", "host": "h2", "port": 5432}))
        .await;
    let t1 = app
        .post(
            "/api/v1/tags",
            json!({"name": "x1", "display_name": "X1", "category": "other"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    let t2 = app
        .post(
            "/api/v1/tags",
            json!({"name": "x2", "display_name": "X2", "category": "other"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    let b = "/api/v1/tags/bulk";
    let l = app.get(&format!("{b}/instances")).await.ok(200, "操作成功");
    assert_eq!(
        l["instances"][0],
        json!({"id": i1, "name": "b1", "host": "h1", "port": 3306, "db_type": "mysql"})
    );
    let l = app.get(&format!("{b}/tags")).await.ok(200, "操作成功");
    assert_eq!(
        (
            l["tags"].as_array().unwrap().len(),
            l["category_names"]["other"].as_str()
        ),
        (2, Some("其他标签"))
    );
    app.post(&format!("{b}/assign"), json!({})).await.err(
        400,
        "REQUEST_DATA_EMPTY",
        Some("请求数据不能为空"),
    );
    app.post(
        &format!("{b}/assign"),
        json!({"instance_ids": ["x"], "tag_ids": [t1]}),
    )
    .await
    .err(400, "VALIDATION_ERROR", None);
    app.post(
        &format!("{b}/assign"),
        json!({"instance_ids": [i1], "tag_ids": []}),
    )
    .await
    .err(
        400,
        "VALIDATION_ERROR",
        Some("缺少必需字段: instance_ids, tag_ids"),
    );
    app.post(
        &format!("{b}/assign"),
        json!({"instance_ids": [999], "tag_ids": [t1]}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("未找到任何实例"));
    app.post(
        &format!("{b}/assign"),
        json!({"instance_ids": [i1], "tag_ids": [999]}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("未找到任何标签"));
    let r = app
        .post(
            &format!("{b}/assign"),
            json!({"instance_ids": [i1, i2.to_string(), 999], "tag_ids": [t1, t2]}),
        )
        .await;
    let d = r.ok(200, "标签批量分配成功,共分配 4 个标签关系");
    assert_eq!(d["assigned_count"], 4);
    assert_eq!(d["instance_ids"], json!([i1, i2, 999]));
    let r = app
        .post(
            &format!("{b}/assign"),
            json!({"instance_ids": [i1], "tag_ids": [t1]}),
        )
        .await;
    assert_eq!(
        r.ok(200, "标签批量分配成功,共分配 0 个标签关系")["assigned_count"],
        0
    );
    let d = app
        .post(&format!("{b}/instance-tags"), json!({"instance_ids": [i1]}))
        .await
        .ok(200, "操作成功");
    assert_eq!(d["tags"].as_array().unwrap().len(), 2);
    app.post(&format!("{b}/instance-tags"), json!({"instance_ids": []}))
        .await
        .err(400, "VALIDATION_ERROR", Some("缺少必需字段: instance_ids"));
    let d = app
        .post(
            &format!("{b}/remove"),
            json!({"instance_ids": [i1], "tag_ids": [t1]}),
        )
        .await
        .ok(200, "标签批量移除成功,共移除 1 个标签关系");
    assert_eq!(d["removed_count"], 1);
    let d = app
        .post(
            &format!("{b}/remove-all"),
            json!({"instance_ids": [i1, i2]}),
        )
        .await
        .ok(200, "批量移除成功,共移除 3 个标签关系");
    assert_eq!(
        (d["removed_count"].as_i64(), d["instance_ids"].clone()),
        (Some(3), json!([i1, i2]))
    );
    app.post(&format!("{b}/remove-all"), json!({"instance_ids": [12345]}))
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("未找到任何实例"));
}

#[tokio::test]
async fn csv_batch_create_delete_and_statistics() {
    let mut app = admin().await;
    app.fetch_csrf().await;
    upload(&mut app, "x.txt", b"name,db_type,host,port\n")
        .await
        .err(400, "VALIDATION_ERROR", Some("请上传CSV格式文件"));
    upload(&mut app, "x.csv", b"name,host\na,b\n").await.err(
        400,
        "VALIDATION_ERROR",
        Some("CSV文件缺少必填列: db_type, port"),
    );
    upload(&mut app, "x.csv", b"name,db_type,host,port\n,,,\n")
        .await
        .err(400, "VALIDATION_ERROR", Some("CSV文件为空或未包含有效数据"));
    upload(&mut app, "x.CSV", &[0xff, 0xfe, 0xfd])
        .await
        .err(400, "VALIDATION_ERROR", None);
    let token = app.csrf.clone().unwrap();
    app.send(
        "POST",
        "/api/v1/instances/batch-create",
        Some(("application/json", b"{}".to_vec())),
        &[("X-CSRFToken", &token)],
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("请上传CSV格式文件"));
    app.create_instance(json!({"name": "exists-1", "db_type": "mysql", "host": "h", "port": 1}))
        .await;
    let csv = "\u{feff}Name, DB_Type ,host,port,description,credential_id,ignored\n\
ok-1,MySQL,10.0.0.1,3306,first,,x\n\
bad port,mysql,10.0.0.2,99999,,,\n\
dup,postgresql,10.0.0.3,5432,,,\n\
dup,postgresql,10.0.0.4,5432,,,\n\
exists-1,mysql,10.0.0.5,3306,,,\n\
ok-2,pg,db.example.com,5432,,abc,\n\
,,,,,,\n\
ok-3,oracle,10.0.0.6,1521,=HYPERLINK(),,\n";
    let r = upload(&mut app, "instances.csv", csv.as_bytes()).await;
    let d = r.ok(200, "成功创建 2 个实例");
    assert_eq!(d["created_count"], 2);
    assert_eq!(d["duplicate_names"], json!(["dup"]));
    assert_eq!(d["skipped_existing_names"], json!(["exists-1"]));
    let errors: Vec<&str> = d["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.contains(&"第2条数据: 实例名称只能包含字母、数字、下划线、连字符和中文字符"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"第6条数据: 凭据ID必须是整数"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"存在重复实例名称: dup")
            && errors.contains(&"以下实例名称已存在: exists-1"),
        "{errors:?}"
    );
    // nothing half-written: only the two valid rows exist
    let l = app
        .get("/api/v1/instances?search=ok-")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(l["total"], 2);
    // 1,000 rows in one request (form field CSRF token)
    let mut big = String::from("name,db_type,host,port\n");
    for n in 0..1000 {
        big.push_str(&format!(
            "bulk-{n:04},postgresql,10.1.{}.{},5432\n",
            n / 250,
            n % 250
        ));
    }
    let (ct, body) = multipart(&[("csrf_token", &token)], Some(("big.csv", big.as_bytes())));
    let r = app
        .send(
            "POST",
            "/api/v1/instances/batch-create",
            Some((&ct, body)),
            &[],
        )
        .await;
    assert_eq!(r.ok(200, "成功创建 1000 个实例")["errors"], json!([]));
    let l = app
        .get("/api/v1/instances?search=bulk-09&sort=name&order=asc&page_size=100")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (l["total"].as_i64(), l["items"][0]["name"].as_str()),
        (Some(100), Some("bulk-0900"))
    );
    let l = app
        .get("/api/v1/instances?db_type=postgresql&page=50&page_size=20")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(
        (
            l["total"].as_i64(),
            l["pages"].as_i64(),
            l["items"].as_array().unwrap().len()
        ),
        (Some(1000), Some(50), 20)
    );
    // statistics
    let s = app
        .get("/api/v1/instances/statistics")
        .await
        .ok(200, "获取实例统计信息成功");
    assert_eq!(
        (
            s["total_instances"].as_i64(),
            s["active_instances"].as_i64(),
            s["deleted_instances"].as_i64()
        ),
        (Some(1003), Some(1003), Some(0))
    );
    assert_eq!(s["db_types_count"], 3);
    assert_eq!(
        s["db_type_stats"][0],
        json!({"db_type": "postgresql", "count": 1000})
    );
    assert_eq!(s["port_stats"][0], json!({"port": 5432, "count": 1000}));
    assert!(
        s["version_stats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["version"] == "未知版本")
    );
    // batch delete: soft then hard
    let bd = "/api/v1/instances/batch-delete";
    app.post(bd, json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("请选择要删除的实例"));
    app.post(bd, json!({"instance_ids": ["a"]})).await.err(
        400,
        "VALIDATION_ERROR",
        Some("实例ID列表无效"),
    );
    let ids: Vec<i64> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let d = app.post(bd, json!({"instance_ids": [ids[0], ids[0].to_string(), ids[1], 999999], "deletion_mode": "weird"})).await.ok(200, "成功移入回收站 2 个实例");
    assert_eq!(
        (
            d["deleted_count"].as_i64(),
            d["deletion_mode"].as_str(),
            d["missing_instance_ids"].clone()
        ),
        (Some(2), Some("soft"), json!([999999]))
    );
    assert_eq!(d["deleted_tag_links"], 0);
    app.get(&format!("/api/v1/instances/{}", ids[0]))
        .await
        .err(404, "INVALID_REQUEST", None);
    assert_eq!(
        app.get("/api/v1/instances/statistics")
            .await
            .ok(200, "获取实例统计信息成功")["deleted_instances"],
        2
    );
    let tag = app
        .post(
            "/api/v1/tags",
            json!({"name": "hd", "display_name": "HD", "category": "other"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    app.post(
        "/api/v1/tags/bulk/assign",
        json!({"instance_ids": [ids[2]], "tag_ids": [tag]}),
    )
    .await
    .ok(200, "标签批量分配成功,共分配 1 个标签关系");
    let d = app
        .post(
            bd,
            json!({"instance_ids": [ids[0], ids[2]], "deletion_mode": "hard"}),
        )
        .await
        .ok(200, "成功删除 2 个实例");
    assert_eq!(
        (
            d["deletion_mode"].as_str(),
            d["deleted_tag_links"].as_i64(),
            d["deleted_sync_data"].as_i64()
        ),
        (Some("hard"), Some(1), Some(0))
    );
    for k in [
        "deleted_assignments",
        "deleted_account_permissions",
        "deleted_sync_records",
        "deleted_change_logs",
        "deleted_instance_accounts",
        "deleted_instance_databases",
        "deleted_instance_size_stats",
        "deleted_instance_size_aggregations",
        "deleted_database_size_stats",
        "deleted_database_size_aggregations",
    ] {
        assert!(d.get(k).is_some(), "missing {k}");
    }
    assert_eq!(
        app.get("/api/v1/instances/statistics")
            .await
            .ok(200, "获取实例统计信息成功")["total_instances"],
        1001
    );
    // the tag is free again
    app.post(&format!("/api/v1/tags/{tag}/delete"), json!({}))
        .await
        .ok(200, "标签删除成功");
}

#[tokio::test]
async fn common_options_exports_and_cache() {
    let mut app = admin().await;
    let a = app.create_instance(json!({"name": "zeta", "db_type": "mysql", "host": "h", "port": 3306, "description": "=cmd|' /C calc'!A0"})).await;
    app.create_instance(json!({"name": "alpha", "db_type": "postgresql", "host": "h", "port": 5432, "is_active": false})).await;
    let o = app
        .get("/api/v1/common/instances/options")
        .await
        .ok(200, "实例选项获取成功");
    assert_eq!(
        o["instances"],
        json!([{"id": a, "name": "zeta", "db_type": "mysql", "display_name": "zeta (MYSQL)"}])
    );
    assert_eq!(
        app.get("/api/v1/common/instances/options?db_type=MYSQL")
            .await
            .ok(200, "实例选项获取成功")["instances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/api/v1/common/instances/options?db_type=oracle")
            .await
            .ok(200, "实例选项获取成功")["instances"],
        json!([])
    );
    let t = app
        .get("/api/v1/common/database-types/options")
        .await
        .ok(200, "数据库类型选项获取成功");
    assert_eq!(
        t["options"][2],
        json!({"value": "sqlserver", "text": "SQL Server", "icon": "fa-server", "color": "warning"})
    );
    app.get("/api/v1/common/databases/options").await.err(
        400,
        "VALIDATION_ERROR",
        Some("instance_id 为必填参数"),
    );
    app.get("/api/v1/common/databases/options?instance_id=0")
        .await
        .err(400, "VALIDATION_ERROR", Some("instance_id 为必填参数"));
    app.get(&format!(
        "/api/v1/common/databases/options?instance_id={a}&limit=x"
    ))
    .await
    .err(400, "VALIDATION_ERROR", Some("limit/offset 必须为整数"));
    app.get("/api/v1/common/databases/options?instance_id=9999")
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("实例不存在"));
    let d = app
        .get(&format!(
            "/api/v1/common/databases/options?instance_id={a}&limit=5&offset=0"
        ))
        .await
        .ok(200, "数据库选项获取成功");
    assert_eq!(
        d,
        json!({"databases": [], "total_count": 0, "limit": 5, "offset": 0})
    );
    // exports
    let r = app.get("/api/v1/files/template-download").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-disposition"],
        "attachment; filename=instances_import_template.csv"
    );
    let r = app
        .send(
            "GET",
            "/api/v1/files/instance-export?db_type=mysql",
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let cd = r.headers["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment; filename=instances_export_") && cd.ends_with(".csv"));
    // cache endpoints
    let s = app
        .get("/api/v1/cache/stats")
        .await
        .ok(200, "缓存统计获取成功");
    assert_eq!(s["stats"]["status"], "connected");
    app.post("/api/v1/cache/clear/user", json!({"instance_id": a}))
        .await
        .err(
            400,
            "VALIDATION_ERROR",
            Some("缺少必要参数: instance_id 和 username"),
        );
    app.post(
        "/api/v1/cache/clear/user",
        json!({"instance_id": 9999, "username": "u"}),
    )
    .await
    .err(404, "RESOURCE_NOT_FOUND", Some("实例不存在"));
    app.post(
        "/api/v1/cache/clear/user",
        json!({"instance_id": a, "username": "u"}),
    )
    .await
    .ok(200, "用户缓存清除成功");
    app.post("/api/v1/cache/clear/instance", json!({}))
        .await
        .err(400, "VALIDATION_ERROR", Some("缺少必要参数: instance_id"));
    app.post("/api/v1/cache/clear/instance", json!({"instance_id": a}))
        .await
        .ok(200, "实例缓存清除成功");
    assert_eq!(
        app.post("/api/v1/cache/clear/all", json!({}))
            .await
            .ok(200, "已清除 1 个实例的缓存")["cleared_count"],
        1
    );
}

#[tokio::test]
async fn export_bodies_are_guarded_csv() {
    let mut app = admin().await;
    app.create_instance(json!({"name": "csv-1", "db_type": "mysql", "host": "h", "port": 3306, "description": "=SUM(A1)", "is_active": false})).await;
    let r = app.get("/api/v1/files/instance-export").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_null(), "a CSV file, not an envelope");
    let lines: Vec<&str> = r.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "ID,实例名称,数据库类型,主机地址,端口,数据库名,标签,状态,描述,凭据ID,同步次数,最后连接时间,创建时间,更新时间"
    );
    assert!(
        lines[1].contains(",csv-1,mysql,h,3306,,,停用,'=SUM(A1),,0,,"),
        "{}",
        lines[1]
    );
    let t = app.get("/api/v1/files/template-download").await;
    assert_eq!(
        t.text,
        "name,db_type,host,port,database_name,description,credential_id\r\ndemo-mysql-01,mysql,10.10.10.10,3306,inventory,example instance,123\r\n"
    );
}

#[tokio::test]
async fn role_matrix_for_inventory_endpoints() {
    let mut app = admin().await;
    app.create_user("matrix_user", "user", "TestPass1").await;
    let mut u = app.client();
    u.login("matrix_user", "TestPass1").await;
    for p in [
        "/api/v1/tags",
        "/api/v1/tags/options",
        "/api/v1/tags/categories",
        "/api/v1/tags/bulk/instances",
        "/api/v1/tags/bulk/tags",
        "/api/v1/instances/statistics",
        "/api/v1/common/instances/options",
        "/api/v1/common/database-types/options",
        "/api/v1/cache/stats",
    ] {
        assert_eq!(u.get(p).await.status, 200, "{p}");
    }
    assert_eq!(u.get("/api/v1/files/template-download").await.status, 200);
    for (p, perm) in [
        ("/api/v1/tags", "create"),
        ("/api/v1/tags/bulk/assign", "create"),
        ("/api/v1/tags/bulk/remove", "create"),
        ("/api/v1/tags/bulk/remove-all", "create"),
        ("/api/v1/tags/batch-delete", "delete"),
        ("/api/v1/tags/1/delete", "delete"),
        ("/api/v1/instances/batch-delete", "delete"),
        ("/api/v1/instances/batch-create", "create"),
        ("/api/v1/cache/clear/all", "admin"),
        ("/api/v1/cache/clear/instance", "admin"),
        ("/api/v1/cache/clear/user", "admin"),
    ] {
        u.post(p, json!({})).await.err(
            403,
            "PERMISSION_REQUIRED",
            Some(&format!("需要 {perm} 权限")),
        );
    }
    u.put("/api/v1/tags/1", json!({})).await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 update 权限"),
    );
    // `instance-tags` is a read (`view`) behind POST: a user passes the permission check
    u.post("/api/v1/tags/bulk/instance-tags", json!({}))
        .await
        .err(400, "REQUEST_DATA_EMPTY", None);
    let mut anon = app.client();
    for p in [
        "/api/v1/tags",
        "/api/v1/instances/statistics",
        "/api/v1/common/instances/options",
        "/api/v1/cache/stats",
        "/api/v1/files/instance-export",
    ] {
        anon.get(p)
            .await
            .err(401, "AUTHENTICATION_REQUIRED", Some("请先登录"));
    }
}

#[tokio::test]
async fn list_totals_follow_every_write() {
    let mut app = admin().await;
    let total = |v: &Value| v["total"].as_i64().unwrap();
    let l = "/api/v1/instances";
    let a = app
        .create_instance(json!({"name": "gen-a", "db_type": "mysql", "host": "h", "port": 1}))
        .await;
    assert_eq!(total(&app.get(l).await.ok(200, "获取实例列表成功")), 1);
    let b = app
        .create_instance(json!({"name": "gen-b", "db_type": "mysql", "host": "h", "port": 1}))
        .await;
    assert_eq!(total(&app.get(l).await.ok(200, "获取实例列表成功")), 2);
    app.post(&format!("{l}/{a}/delete"), json!({}))
        .await
        .ok(200, "实例已移入回收站");
    assert_eq!(total(&app.get(l).await.ok(200, "获取实例列表成功")), 1);
    app.post(&format!("{l}/{a}/restore"), json!({}))
        .await
        .ok(200, "实例恢复成功");
    assert_eq!(total(&app.get(l).await.ok(200, "获取实例列表成功")), 2);
    app.put(
        &format!("{l}/{b}"),
        json!({"name": "gen-b", "db_type": "mysql", "host": "h", "port": 1, "is_active": false}),
    )
    .await
    .ok(200, "实例更新成功");
    assert_eq!(
        total(
            &app.get(&format!("{l}?status=active"))
                .await
                .ok(200, "获取实例列表成功")
        ),
        1
    );
    let t = app
        .post(
            "/api/v1/tags",
            json!({"name": "g1", "display_name": "G1", "category": "c"}),
        )
        .await
        .ok(201, "标签创建成功")["tag"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        total(
            &app.get(&format!("{l}?tags=g1"))
                .await
                .ok(200, "获取实例列表成功")
        ),
        0
    );
    app.post(
        "/api/v1/tags/bulk/assign",
        json!({"instance_ids": [a, b], "tag_ids": [t]}),
    )
    .await
    .ok(200, "标签批量分配成功,共分配 2 个标签关系");
    assert_eq!(
        total(
            &app.get(&format!("{l}?tags=g1"))
                .await
                .ok(200, "获取实例列表成功")
        ),
        2
    );
    app.put(
        &format!("/api/v1/tags/{t}"),
        json!({"name": "g2", "display_name": "G1", "category": "c"}),
    )
    .await
    .ok(200, "标签更新成功");
    assert_eq!(
        total(
            &app.get(&format!("{l}?tags=g1"))
                .await
                .ok(200, "获取实例列表成功")
        ),
        0
    );
    app.post("/api/v1/tags/bulk/remove-all", json!({"instance_ids": [a]}))
        .await
        .ok(200, "批量移除成功,共移除 1 个标签关系");
    assert_eq!(
        total(
            &app.get(&format!("{l}?tags=g2"))
                .await
                .ok(200, "获取实例列表成功")
        ),
        1
    );
    app.post(
        "/api/v1/instances/batch-delete",
        json!({"instance_ids": [a], "deletion_mode": "hard"}),
    )
    .await
    .ok(200, "成功删除 1 个实例");
    assert_eq!(total(&app.get(l).await.ok(200, "获取实例列表成功")), 1);
}

#[tokio::test]
async fn cache_endpoints_on_redis() {
    let mut app = TestApp::with_env(&[
        ("CACHE_TYPE", "redis"),
        ("CACHE_REDIS_URL", "redis://127.0.0.1:6379/0"),
    ])
    .await;
    app.login_admin().await;
    let a = app
        .create_instance(
            json!({"name": "redis-inst", "db_type": "mysql", "host": "h", "port": 3306}),
        )
        .await as i32;
    let key = format!("instance:{a}:account:u1:perm");
    app.state.svc.cache().set(&key, &json!({"x": 1}), 60).await;
    app.state
        .svc
        .cache()
        .set(&format!("instance:{a}:summary"), &json!(2), 60)
        .await;
    assert_eq!(app.state.svc.cache().get(&key).await, Some(json!({"x": 1})));
    let s = app
        .get("/api/v1/cache/stats")
        .await
        .ok(200, "缓存统计获取成功");
    assert_eq!(
        (
            s["stats"]["status"].as_str(),
            s["stats"]["info"]["backend"].as_str()
        ),
        (Some("connected"), Some("redis"))
    );
    app.post(
        "/api/v1/cache/clear/user",
        json!({"instance_id": a, "username": "u1"}),
    )
    .await
    .ok(200, "用户缓存清除成功");
    assert_eq!(app.state.svc.cache().get(&key).await, None);
    assert_eq!(
        app.state
            .svc
            .cache()
            .get(&format!("instance:{a}:summary"))
            .await,
        Some(json!(2))
    );
    app.post(
        "/api/v1/cache/clear/instance",
        json!({"instance_id": a.to_string()}),
    )
    .await
    .ok(200, "实例缓存清除成功");
    assert_eq!(
        app.state
            .svc
            .cache()
            .get(&format!("instance:{a}:summary"))
            .await,
        None
    );
}

/// Every endpoint built so far with its permission (`api-v1.md` §1.1): (method, path, perm).
const MATRIX: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/instances", "view"),
    ("GET", "/api/v1/instances/1", "view"),
    ("GET", "/api/v1/instances/statistics", "view"),
    ("GET", "/api/v1/instances/1/accounts", "view"),
    ("GET", "/api/v1/credentials", "view"),
    ("GET", "/api/v1/credentials/1", "view"),
    ("GET", "/api/v1/accounts/ledgers", "view"),
    ("GET", "/api/v1/users", "view"),
    ("GET", "/api/v1/users/1", "view"),
    ("GET", "/api/v1/users/stats", "view"),
    ("GET", "/api/v1/tags", "view"),
    ("GET", "/api/v1/tags/options", "view"),
    ("GET", "/api/v1/tags/categories", "view"),
    ("GET", "/api/v1/tags/bulk/instances", "view"),
    ("GET", "/api/v1/tags/bulk/tags", "view"),
    ("GET", "/api/v1/common/instances/options", "view"),
    ("GET", "/api/v1/common/database-types/options", "view"),
    ("GET", "/api/v1/connections/status/1", "view"),
    ("GET", "/api/v1/files/instance-export", "view"),
    ("GET", "/api/v1/files/template-download", "view"),
    (
        "POST",
        "/api/v1/connections/actions/validate-params",
        "view",
    ),
    ("POST", "/api/v1/tags/bulk/instance-tags", "view"),
    ("POST", "/api/v1/instances", "create"),
    ("POST", "/api/v1/credentials", "create"),
    ("POST", "/api/v1/users", "create"),
    ("POST", "/api/v1/tags", "create"),
    ("POST", "/api/v1/tags/bulk/assign", "create"),
    ("POST", "/api/v1/instances/batch-create", "create"),
    ("PUT", "/api/v1/instances/1", "update"),
    ("PUT", "/api/v1/credentials/1", "update"),
    ("PUT", "/api/v1/users/1", "update"),
    ("PUT", "/api/v1/tags/1", "update"),
    ("POST", "/api/v1/instances/1/restore", "update"),
    ("POST", "/api/v1/accounts/actions/sync", "update"),
    ("POST", "/api/v1/instances/1/delete", "delete"),
    ("POST", "/api/v1/instances/batch-delete", "delete"),
    ("POST", "/api/v1/credentials/1/delete", "delete"),
    ("DELETE", "/api/v1/users/1", "delete"),
    ("POST", "/api/v1/tags/batch-delete", "delete"),
    ("POST", "/api/v1/cache/clear/all", "admin"),
];

#[tokio::test]
async fn role_matrix_admin_user_guest_viewer() {
    let mut app = admin().await;
    app.create_instance(json!({"name": "m1", "db_type": "mysql", "host": "h", "port": 3306}))
        .await;
    app.create_credential("m1", "dba", "secret123").await;
    use sea_orm::{ActiveModelTrait, Set};
    for (name, role) in [("guest1", "guest"), ("viewer1", "viewer")] {
        wf_store::entity::user::ActiveModel {
            username: Set(name.into()),
            password: Set(wf_services::passwords::hash("TestPass1", 4)),
            role: Set(role.into()),
            created_at: Set(chrono::Utc::now()),
            is_active: Set(true),
            ..Default::default()
        }
        .insert(app.state.svc.store())
        .await
        .unwrap();
    }
    app.create_user("user1", "user", "TestPass1").await;
    for (who, granted) in [
        ("user1", ["view"].as_slice()),
        ("guest1", ["view"].as_slice()),
        ("viewer1", [].as_slice()),
    ] {
        let mut c = app.client();
        c.login(who, "TestPass1").await;
        for (method, path, perm) in MATRIX {
            let r = if *method == "GET" {
                c.get(path).await
            } else {
                c.write(method, path, json!({})).await
            };
            if granted.contains(perm) {
                assert_ne!(r.status, 403, "{who} {method} {path}: {}", r.body);
                assert!(r.status < 500, "{who} {method} {path}: {}", r.body);
            } else {
                r.err(
                    403,
                    "PERMISSION_REQUIRED",
                    Some(&format!("需要 {perm} 权限")),
                );
            }
        }
        // login-only endpoints work for every role
        c.get("/api/v1/cache/stats")
            .await
            .ok(200, "缓存统计获取成功");
        c.get("/api/v1/health/cache")
            .await
            .ok(200, "缓存健康检查成功");
    }
    // admin passes every permission check
    for (method, path, _) in MATRIX {
        let r = if *method == "GET" {
            app.get(path).await
        } else {
            app.write(method, path, json!({})).await
        };
        assert_ne!(r.status, 403, "admin {method} {path}: {}", r.body);
        assert!(r.status < 500, "admin {method} {path}: {}", r.body);
    }
}

/// The contract types these body fields as strings: a JSON number, boolean, array or object
/// is a 400 envelope and writes nothing (issue 7).
#[tokio::test]
async fn string_fields_refuse_other_json_types() {
    let mut app = admin().await;
    let cases: [(&str, Value, &str); 6] = [
        (
            "/api/v1/instances",
            json!({"name": 123, "db_type": "mysql", "host": "10.0.0.1", "port": 3306}),
            "name 必须是字符串",
        ),
        (
            "/api/v1/instances",
            json!({"name": "ok1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306, "description": {"a": 1}}),
            "description 必须是字符串",
        ),
        (
            "/api/v1/credentials",
            json!({"name": "c1", "credential_type": "database", "username": "dbuser", "password": 12345678}),
            "password 必须是字符串",
        ),
        (
            "/api/v1/tags",
            json!({"name": "t1", "display_name": true, "category": "other"}),
            "display_name 必须是字符串",
        ),
        (
            "/api/v1/users",
            json!({"username": "bob_1", "role": ["admin"], "password": "TestPass1"}),
            "role 必须是字符串",
        ),
        (
            "/api/v1/tags",
            json!({"name": "t1", "display_name": "T", "category": "other", "color": 7}),
            "color 必须是字符串",
        ),
    ];
    for (path, body, message) in cases {
        app.post(path, body)
            .await
            .err(400, "VALIDATION_ERROR", Some(message));
    }
    // nothing was written
    let l = app
        .get("/api/v1/instances")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(l["total"], 0);
    let t = app.get("/api/v1/tags").await.ok(200, "操作成功");
    assert_eq!(t["total"], 0);
    // the same fields as strings are accepted
    app.create_instance(
        json!({"name": "ok1", "db_type": "mysql", "host": "10.0.0.1", "port": "3306"}),
    )
    .await;
}

/// SQL Server instances can opt out of TLS for old servers (issue 8); the flag is
/// boolean-ish, defaults to false and is returned with the instance.
#[tokio::test]
async fn instances_carry_the_insecure_tls_choice() {
    let mut app = admin().await;
    let id = app
        .create_instance(json!({"name": "old-mssql", "db_type": "sqlserver", "host": "10.0.0.9", "port": 1433, "insecure_tls": "yes"}))
        .await;
    let d = app
        .get(&format!("/api/v1/instances/{id}"))
        .await
        .ok(200, "获取实例详情成功");
    assert_eq!(d["instance"]["insecure_tls"], true);
    let u = app
        .put(&format!("/api/v1/instances/{id}"), json!({"name": "old-mssql", "db_type": "sqlserver", "host": "10.0.0.9", "port": 1433, "insecure_tls": false}))
        .await
        .ok(200, "实例更新成功");
    assert_eq!(u["instance"]["insecure_tls"], false);
    let other = app
        .create_instance(
            json!({"name": "new-mssql", "db_type": "sqlserver", "host": "10.0.0.8", "port": 1433}),
        )
        .await;
    let d = app
        .get(&format!("/api/v1/instances/{other}"))
        .await
        .ok(200, "获取实例详情成功");
    assert_eq!(d["instance"]["insecure_tls"], false);
    app.post("/api/v1/instances", json!({"name": "x1", "db_type": "sqlserver", "host": "h", "port": 1, "insecure_tls": "maybe"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("insecure_tls 必须是布尔值"));
}

/// Issue 12: deep pages start at a page anchor of the id order; they must list exactly the
/// rows the plain order has at that position, in both directions, with gaps from deleted
/// instances, and move with every write.
#[tokio::test]
async fn deep_pages_match_the_plain_order() {
    let mut app = admin().await;
    let mut csv = String::from("name,db_type,host,port\n");
    for n in 1..=2_150 {
        csv.push_str(&format!(
            "deep-{n:05},mysql,10.0.{}.{},3306\n",
            n / 250,
            n % 250
        ));
    }
    upload(&mut app, "deep.csv", csv.as_bytes())
        .await
        .ok(200, "成功创建 2150 个实例");
    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    // every page of 100, newest first: the first ten pages walk the index, the rest start at anchors
    let mut desc = Vec::new();
    for page in 1..=22 {
        let v = app
            .get(&format!("/api/v1/instances?page={page}&page_size=100"))
            .await
            .ok(200, "获取实例列表成功");
        assert_eq!(v["total"], 2_150);
        desc.extend(ids(&v));
    }
    assert_eq!(desc.len(), 2_150);
    assert!(
        desc.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first"
    );
    // soft-delete every seventh of the newest 1,500: the anchors must skip them
    let gone: Vec<i64> = desc[..1_500].iter().copied().step_by(7).collect();
    app.post(
        "/api/v1/instances/batch-delete",
        json!({"instance_ids": gone}),
    )
    .await
    .ok(200, &format!("成功移入回收站 {} 个实例", gone.len()));
    let live: Vec<i64> = desc.iter().copied().filter(|i| !gone.contains(i)).collect();
    for (page, size) in [(51, 20), (60, 20), (11, 100), (20, 100)] {
        let v = app
            .get(&format!("/api/v1/instances?page={page}&page_size={size}"))
            .await
            .ok(200, "获取实例列表成功");
        let from = (page - 1) * size;
        let want: Vec<i64> = live.iter().copied().skip(from).take(size).collect();
        assert_eq!(ids(&v), want, "desc page {page} of {size}");
        assert_eq!(v["total"], live.len());
        let v = app
            .get(&format!(
                "/api/v1/instances?page={page}&page_size={size}&order=asc"
            ))
            .await
            .ok(200, "获取实例列表成功");
        let want: Vec<i64> = live.iter().rev().copied().skip(from).take(size).collect();
        assert_eq!(ids(&v), want, "asc page {page} of {size}");
    }
    // a new instance shifts every deep page by one row
    let newest = app
        .create_instance(json!({"name": "deep-new", "db_type": "mysql", "host": "h", "port": 1}))
        .await;
    let v = app
        .get("/api/v1/instances?page=11&page_size=100")
        .await
        .ok(200, "获取实例列表成功");
    assert_eq!(ids(&v)[0], live[999]);
    assert_eq!(ids(&v)[1], live[1_000]);
    assert!(newest > live[0]);
}
