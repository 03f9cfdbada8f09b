//! Every entity matches the migrated schema on the store selected by `WF_TEST_STORE`
//! (`sqlite` default, `postgres`): all columns select and decode, and rows with dates,
//! doubles, JSON and partition keys round-trip.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::json;
use wf_store::entity::*;

async fn store() -> (DatabaseConnection, Option<String>) {
    if std::env::var("WF_TEST_STORE").as_deref() == Ok("postgres") {
        let name = format!(
            "wf_store_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let db = wf_store::connect(&format!("postgres://postgres@127.0.0.1:5432/{name}"), 2, 10)
            .await
            .unwrap();
        (db, Some(name))
    } else {
        let path =
            std::env::temp_dir().join(format!("wf-store-{}.db", uuid::Uuid::new_v4().simple()));
        (
            wf_store::connect(&format!("sqlite:///{}", path.display()), 2, 10)
                .await
                .unwrap(),
            None,
        )
    }
}

async fn drop_store(db: DatabaseConnection, pg: Option<String>) {
    let _ = db.close().await;
    if let Some(name) = pg {
        let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
    }
}

macro_rules! select_all {
    ($db:expr, $($m:ident),+ $(,)?) => {
        $( $m::Entity::find().all($db).await.unwrap_or_else(|e| panic!("{}: {e}", stringify!($m))); )+
    };
}

#[tokio::test]
async fn schema_and_entities_agree() {
    let (db, pg) = store().await;
    wf_store::migrate(&db).await.unwrap();
    wf_store::migrate(&db).await.expect("migrate is idempotent");
    let now = Utc::now();
    let today = now.with_timezone(&wf_domain::time::china()).date_naive();
    let inst = instance::ActiveModel {
        name: Set("i1".into()),
        db_type: Set("mysql".into()),
        host: Set("h".into()),
        port: Set(3306),
        sync_count: Set(0),
        is_active: Set(true),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let stat = database_size_stat::ActiveModel {
        instance_id: Set(inst.id),
        database_name: Set("AppDb".into()),
        size_mb: Set(5_000_000_000),
        data_size_mb: Set(Some(12)),
        log_size_mb: Set(None),
        collected_date: Set(today),
        collected_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    assert_eq!((stat.size_mb, stat.collected_date), (5_000_000_000, today));
    let agg = instance_size_aggregation::ActiveModel {
        instance_id: Set(inst.id),
        period_type: Set("daily".into()),
        period_start: Set(today),
        period_end: Set(today),
        total_size_mb: Set(10),
        avg_size_mb: Set(5),
        max_size_mb: Set(10),
        min_size_mb: Set(10),
        data_count: Set(1),
        database_count: Set(2),
        avg_database_count: Set(Some(2.0)),
        total_size_change_percent: Set(Some(12.34)),
        trend_direction: Set(Some("growing".into())),
        calculated_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let back = instance_size_aggregation::Entity::find_by_id(agg.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.total_size_change_percent, Some(12.34));
    let log = unified_log::ActiveModel {
        timestamp: Set(now),
        level: Set("ERROR".into()),
        module: Set("sync".into()),
        message: Set("boom".into()),
        context: Set(Some(json!({"instance_id": 1, "nested": {"a": [1, 2]}}))),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let back = unified_log::Entity::find_by_id(log.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        back.context,
        Some(json!({"instance_id": 1, "nested": {"a": [1, 2]}}))
    );
    scheduler_job::ActiveModel {
        id: Set("sync_accounts".into()),
        name: Set("账户同步".into()),
        func: Set("sync_accounts".into()),
        trigger_type: Set("cron".into()),
        trigger_args: Set(json!({"hour": 1, "minute": 0})),
        timezone: Set("Asia/Shanghai".into()),
        next_run_time: Set(Some(now)),
        is_paused: Set(false),
        is_customized: Set(false),
        last_run_time: Set(None),
        updated_at: Set(Some(now)),
    }
    .insert(&db)
    .await
    .unwrap();
    instance_database::ActiveModel {
        instance_id: Set(inst.id),
        database_name: Set("AppDb".into()),
        is_active: Set(true),
        first_seen_date: Set(today),
        last_seen_date: Set(today),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    select_all!(
        &db,
        account_change_log,
        account_classification,
        account_classification_assignment,
        account_permission,
        classification_daily_classification_match_stat,
        classification_daily_rule_match_stat,
        classification_rule,
        credential,
        database_size_aggregation,
        database_size_stat,
        database_table_size_stat,
        database_type_config,
        instance,
        instance_account,
        instance_database,
        instance_size_aggregation,
        instance_size_stat,
        instance_tag,
        permission_config,
        scheduler_job,
        scheduler_lease,
        sync_instance_record,
        sync_session,
        tag,
        task_run,
        task_run_item,
        unified_log,
        user,
    );
    drop_store(db, pg).await;
}
