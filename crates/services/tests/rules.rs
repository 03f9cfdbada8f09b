//! Service tests below HTTP (`docs/architecture.md`): the rules that live in the services,
//! run against a real SQLite store file per test (milliseconds each).

use serde_json::{Value, json};
use wf_domain::Body;
use wf_services::cache::AppCache;
use wf_services::{CredentialCipher, ServiceError, Services};
use wf_services::{instance_batch, instances, tags, users};

struct Store {
    svc: Services,
    path: std::path::PathBuf,
}

impl Drop for Store {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

async fn store() -> Store {
    let path = std::env::temp_dir().join(format!(
        "wf-svc-{}.db",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    ));
    let db = wf_store::connect(&format!("sqlite:///{}", path.display()), 2, 10)
        .await
        .unwrap();
    wf_store::migrate(&db).await.unwrap();
    wf_services::admin::ensure_admin(&db, Some("Admin12345"), 4)
        .await
        .unwrap();
    let cipher = CredentialCipher::new("dGhpcy1pcy1hLTMyLWJ5dGUta2V5LWZvci10ZXN0cyE=").unwrap();
    let cache = AppCache::new(None, std::time::Duration::from_secs(60));
    Store {
        svc: Services::new(db, cipher, cache, 4),
        path,
    }
}

fn body(v: Value) -> Body {
    Body::json(v.as_object().unwrap().clone())
}

/// The contract error of a rejection: (status, code, message).
fn rejected(e: ServiceError) -> (u16, String, String) {
    match e {
        ServiceError::Rejected(a) => (a.status, a.message_code, a.message),
        other => panic!("expected a rejection, got {other}"),
    }
}

#[tokio::test]
async fn the_last_active_admin_is_kept() {
    let s = store().await;
    let svc = &s.svc;
    let admin = users::login(svc, "admin", "Admin12345".into())
        .await
        .unwrap();
    let demote = users::update(svc, Some(admin.id), &body(json!({"role": "user"}))).await;
    assert_eq!(
        rejected(demote.unwrap_err()),
        (
            400,
            "LAST_ADMIN_REQUIRED".into(),
            "系统至少需要一位活跃管理员".into()
        )
    );
    let deactivate = users::update(svc, Some(admin.id), &body(json!({"is_active": false}))).await;
    assert_eq!(rejected(deactivate.unwrap_err()).1, "LAST_ADMIN_REQUIRED");
    // a second admin that is inactive does not count, for update and delete alike
    let other = users::create(
        svc,
        &body(json!({"username": "admin_two", "role": "admin", "password": "TestPass1", "is_active": false})),
    )
    .await
    .unwrap();
    let demote = users::update(svc, Some(admin.id), &body(json!({"role": "user"}))).await;
    assert_eq!(rejected(demote.unwrap_err()).1, "LAST_ADMIN_REQUIRED");
    let delete = users::delete(svc, other.id, Some(admin.id)).await;
    assert_eq!(
        rejected(delete.unwrap_err()),
        (
            400,
            "VALIDATION_ERROR".into(),
            "不能删除最后一个管理员账户".into()
        )
    );
    // once the other admin is active, either may go
    users::update(svc, Some(other.id), &body(json!({"is_active": true})))
        .await
        .unwrap();
    users::update(svc, Some(admin.id), &body(json!({"role": "user"})))
        .await
        .unwrap();
    // and the remaining active admin is protected again
    let delete = users::delete(svc, admin.id, Some(other.id)).await;
    assert_eq!(
        rejected(delete.unwrap_err()).2,
        "不能删除最后一个管理员账户"
    );
    assert_eq!(
        rejected(
            users::delete(svc, other.id, Some(other.id))
                .await
                .unwrap_err()
        )
        .2,
        "不能删除自己的账户"
    );
}

#[tokio::test]
async fn a_tag_in_use_is_not_deleted() {
    let s = store().await;
    let svc = &s.svc;
    let tag = tags::create(
        svc,
        &body(json!({"name": "prod", "display_name": "生产", "category": "environment"})),
    )
    .await
    .unwrap();
    let inst = instances::create(
        svc,
        &body(json!({"name": "db1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306, "tag_names": ["prod"]})),
    )
    .await
    .unwrap();
    assert_eq!(inst.tags.len(), 1);
    assert_eq!(
        rejected(tags::delete(svc, Some(tag.id)).await.unwrap_err()),
        (
            409,
            "TAG_IN_USE".into(),
            "标签 '生产' 仍被 1 个实例使用,无法删除".into()
        )
    );
    let results = tags::batch_delete(svc, &body(json!({"tag_ids": [tag.id, 999, "x"]})))
        .await
        .unwrap();
    let statuses: Vec<&str> = results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["in_use", "not_found", "invalid_id"]);
    assert_eq!(results[0].instance_count, Some(1));
    // removing the link frees the tag
    let (removed, _) = tags::bulk_remove_all(svc, &body(json!({"instance_ids": [inst.id]})))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(tags::delete(svc, Some(tag.id)).await.unwrap(), tag.id);
}

#[tokio::test]
async fn batch_create_skips_duplicates_and_existing_names() {
    let s = store().await;
    let svc = &s.svc;
    instances::create(
        svc,
        &body(json!({"name": "exists", "db_type": "pg", "host": "h1", "port": "5432"})),
    )
    .await
    .unwrap();
    let csv = "name,db_type,host,port,credential_id\n\
               a,mysql,10.0.0.1,3306,77\n\
               twice,mysql,10.0.0.2,3306,\n\
               twice,mysql,10.0.0.3,3306,\n\
               exists,postgresql,10.0.0.4,5432,\n\
               bad name,mysql,10.0.0.5,3306,\n\
               b,oracle,10.0.0.6,70000,\n";
    let rows = instance_batch::parse_csv(csv.as_bytes()).unwrap();
    let r = instance_batch::create_rows(svc, rows).await.unwrap();
    assert_eq!(r.created_count, 1);
    assert_eq!(r.duplicate_names, ["twice"]);
    assert_eq!(r.skipped_existing_names, ["exists"]);
    assert_eq!(
        r.errors,
        [
            "第5条数据: 实例名称只能包含字母、数字、下划线、连字符和中文字符",
            "第6条数据: 端口号必须在1-65535之间",
            "存在重复实例名称: twice",
            "以下实例名称已存在: exists",
        ]
    );
    // the unknown credential id 77 is not linked (the import never fails on it)
    let page = instances::list(svc, &list_all()).await.unwrap();
    assert_eq!(page.total, 2);
    let a = page.items.iter().find(|i| i.name == "a").unwrap();
    assert_eq!(
        instances::detail(svc, Some(a.id))
            .await
            .unwrap()
            .credential_id,
        None
    );
}

fn list_all() -> instances::ListQuery {
    instances::ListQuery {
        filter: Default::default(),
        sort: wf_store::repo::instances::InstanceSort::Name,
        desc: false,
        page: 1,
        size: 20,
    }
}

#[tokio::test]
async fn soft_delete_and_restore() {
    let s = store().await;
    let svc = &s.svc;
    let i = instances::create(
        svc,
        &body(json!({"name": "db1", "db_type": "mysql", "host": "h", "port": 3306})),
    )
    .await
    .unwrap();
    assert_eq!(instances::list(svc, &list_all()).await.unwrap().total, 1);
    let d = instances::soft_delete(svc, Some(i.id)).await.unwrap();
    assert_eq!(d.deletion_mode, "soft");
    // idempotent: the first deletion time is kept
    assert_eq!(
        instances::soft_delete(svc, Some(i.id))
            .await
            .unwrap()
            .deleted_at,
        d.deleted_at
    );
    // the cached total was invalidated by the write
    assert_eq!(instances::list(svc, &list_all()).await.unwrap().total, 0);
    let mut q = list_all();
    q.filter.include_deleted = true;
    let page = instances::list(svc, &q).await.unwrap();
    assert_eq!((page.total, page.items[0].status), (1, "deleted"));
    assert_eq!(
        rejected(instances::detail(svc, Some(i.id)).await.unwrap_err()).0,
        404
    );
    let (v, restored) = instances::restore(svc, Some(i.id)).await.unwrap();
    assert!(restored);
    assert_eq!(v.status, "active");
    let (_, again) = instances::restore(svc, Some(i.id)).await.unwrap();
    assert!(!again);
    assert_eq!(instances::list(svc, &list_all()).await.unwrap().total, 1);
}

#[tokio::test]
async fn a_store_failure_is_never_a_rule_message() {
    let s = store().await;
    let svc = &s.svc;
    use sea_orm::ConnectionTrait;
    svc.store()
        .execute_unprepared("DROP TABLE instance_tags")
        .await
        .unwrap();
    // the insert itself works, the tag links fail: a 500 with the public message, never
    // 409 "实例名称已存在"
    let e = instances::create(
        svc,
        &body(json!({"name": "db1", "db_type": "mysql", "host": "h", "port": 1})),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            ServiceError::Store {
                public: Some("创建实例失败"),
                ..
            }
        ),
        "{e}"
    );
    let app = e.into_app_error();
    assert_eq!(
        (app.status, app.message_code.as_str()),
        (500, "INTERNAL_ERROR")
    );
    assert!(app.cause.unwrap().contains("instance_tags"));
    // and the transaction left nothing behind
    let e = instances::list(svc, &list_all()).await.unwrap_err();
    assert!(matches!(e, ServiceError::Store { .. }));
    let n: Option<sea_orm::QueryResult> = svc
        .store()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT COUNT(*) AS n FROM instances",
        ))
        .await
        .unwrap();
    assert_eq!(n.unwrap().try_get::<i64>("", "n").unwrap(), 0);
}
