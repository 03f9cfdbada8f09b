//! Writes of an account sync (`domain.md` §2.6–§2.8): the inventory (`instance_accounts`),
//! permission rows (`account_permission`) and the change log (`account_change_log`) of one
//! instance. Unchanged and reactivated accounts are written with one statement per kind, new
//! rows with multi-row inserts; only accounts whose permissions changed get a row update.
//! Run every function inside the instance's transaction.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use serde_json::Value;

use crate::entity::{account_change_log, account_permission, instance_account};

/// Rows in one multi-row insert (stays far below both stores' parameter limits).
const INSERT_BATCH: usize = 200;
/// Ids in one `IN (…)` update.
const ID_BATCH: usize = 1000;

/// Take the instance's row lock before anything is read: on SQLite the transaction becomes
/// the writer now (waiting its turn with the busy timeout) instead of failing at its first
/// write after reading an older snapshot; on PostgreSQL concurrent writers of the same
/// instance queue on the row. Call it first in the instance's transaction.
pub async fn lock_instance(db: &impl ConnectionTrait, instance_id: i32) -> Result<(), DbErr> {
    use crate::entity::instance;
    instance::Entity::update_many()
        .col_expr(
            instance::Column::SyncCount,
            Expr::col(instance::Column::SyncCount),
        )
        .filter(instance::Column::Id.eq(instance_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The inventory rows of one instance for one engine type.
pub async fn inventory(
    db: &impl ConnectionTrait,
    instance_id: i32,
    db_type: &str,
) -> Result<Vec<instance_account::Model>, DbErr> {
    instance_account::Entity::find()
        .filter(instance_account::Column::InstanceId.eq(instance_id))
        .filter(instance_account::Column::DbType.eq(db_type))
        .all(db)
        .await
}

/// The permission rows of the given inventory rows (read per batch of accounts, so a sync
/// never holds every stored snapshot of a large instance at once).
pub async fn permissions_of(
    db: &impl ConnectionTrait,
    instance_account_ids: &[i32],
) -> Result<Vec<account_permission::Model>, DbErr> {
    let mut out = Vec::with_capacity(instance_account_ids.len());
    for chunk in instance_account_ids.chunks(ID_BATCH) {
        out.extend(
            account_permission::Entity::find()
                .filter(account_permission::Column::InstanceAccountId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Mark inventory rows as seen now; `reactivate` also clears their deletion.
pub async fn mark_seen(
    db: &impl ConnectionTrait,
    ids: &[i32],
    reactivate: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(ID_BATCH) {
        let mut q = instance_account::Entity::update_many()
            .col_expr(instance_account::Column::LastSeenAt, Expr::value(now))
            .col_expr(instance_account::Column::UpdatedAt, Expr::value(now));
        if reactivate {
            q = q
                .col_expr(instance_account::Column::IsActive, Expr::value(true))
                .col_expr(
                    instance_account::Column::DeletedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                );
        }
        q.filter(instance_account::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Deactivate inventory rows (the accounts disappeared).
pub async fn deactivate(
    db: &impl ConnectionTrait,
    ids: &[i32],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(ID_BATCH) {
        instance_account::Entity::update_many()
            .col_expr(instance_account::Column::IsActive, Expr::value(false))
            .col_expr(instance_account::Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(instance_account::Column::UpdatedAt, Expr::value(now))
            .filter(instance_account::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Insert new inventory rows; returns `(username, id)` of every inserted row.
pub async fn insert_inventory(
    db: &impl ConnectionTrait,
    instance_id: i32,
    db_type: &str,
    usernames: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<(String, i32)>, DbErr> {
    let mut out = Vec::with_capacity(usernames.len());
    for chunk in usernames.chunks(INSERT_BATCH) {
        instance_account::Entity::insert_many(chunk.iter().map(|u| {
            instance_account::ActiveModel {
                instance_id: Set(instance_id),
                username: Set(u.clone()),
                db_type: Set(db_type.to_string()),
                is_active: Set(true),
                first_seen_at: Set(now),
                last_seen_at: Set(now),
                deleted_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
        let ids: Vec<(String, i32)> = instance_account::Entity::find()
            .select_only()
            .column(instance_account::Column::Username)
            .column(instance_account::Column::Id)
            .filter(instance_account::Column::InstanceId.eq(instance_id))
            .filter(instance_account::Column::DbType.eq(db_type))
            .filter(instance_account::Column::Username.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(ids);
    }
    Ok(out)
}

/// The stored state of one account's permissions.
#[derive(Debug, Clone)]
pub struct PermissionState {
    pub type_specific: Option<Value>,
    /// Snapshot v4 (`domain.md` §2.5).
    pub snapshot: Value,
    /// Facts v2.
    pub facts: Value,
    pub is_superuser: bool,
    pub is_locked: bool,
}

/// A new permission row.
#[derive(Debug, Clone)]
pub struct NewPermission {
    pub instance_account_id: i32,
    pub username: String,
    pub state: PermissionState,
    pub change_type: String,
}

/// Insert new permission rows (synced and changed now).
pub async fn insert_permissions(
    db: &impl ConnectionTrait,
    instance_id: i32,
    db_type: &str,
    rows: Vec<NewPermission>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(INSERT_BATCH) {
        account_permission::Entity::insert_many(chunk.iter().map(|r| {
            account_permission::ActiveModel {
                instance_id: Set(instance_id),
                db_type: Set(db_type.to_string()),
                username: Set(r.username.clone()),
                instance_account_id: Set(r.instance_account_id),
                type_specific: Set(r.state.type_specific.clone()),
                permission_snapshot: Set(Some(r.state.snapshot.clone())),
                permission_facts: Set(Some(r.state.facts.clone())),
                is_superuser: Set(r.state.is_superuser),
                is_locked: Set(r.state.is_locked),
                last_sync_time: Set(Some(now)),
                last_change_type: Set(Some(r.change_type.clone())),
                last_change_time: Set(Some(now)),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Stamp `last_sync_time` of unchanged permission rows.
pub async fn touch_permissions(
    db: &impl ConnectionTrait,
    ids: &[i32],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(ID_BATCH) {
        account_permission::Entity::update_many()
            .col_expr(
                account_permission::Column::LastSyncTime,
                Expr::value(Some(now)),
            )
            .filter(account_permission::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Record `change_type` on permission rows without touching their snapshot (accounts that
/// disappeared keep their last snapshot).
pub async fn mark_changed(
    db: &impl ConnectionTrait,
    ids: &[i32],
    change_type: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in ids.chunks(ID_BATCH) {
        account_permission::Entity::update_many()
            .col_expr(
                account_permission::Column::LastChangeType,
                Expr::value(Some(change_type)),
            )
            .col_expr(
                account_permission::Column::LastChangeTime,
                Expr::value(Some(now)),
            )
            .filter(account_permission::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Replace the permission state of one row whose permissions changed.
pub async fn update_permission(
    db: &impl ConnectionTrait,
    current: account_permission::Model,
    state: PermissionState,
    change_type: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut am: account_permission::ActiveModel = current.into();
    am.last_sync_time = Set(Some(now));
    am.type_specific = Set(state.type_specific);
    am.permission_snapshot = Set(Some(state.snapshot));
    am.permission_facts = Set(Some(state.facts));
    am.is_superuser = Set(state.is_superuser);
    am.is_locked = Set(state.is_locked);
    am.last_change_type = Set(Some(change_type.to_string()));
    am.last_change_time = Set(Some(now));
    am.update(db).await.map(|_| ())
}

/// One change-log row (`domain.md` §1.11); `status` is `success`.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub username: String,
    pub change_type: String,
    pub message: String,
    pub privilege_diff: Vec<Value>,
    pub other_diff: Vec<Value>,
}

/// Insert change-log rows of one instance; `session_id` correlates them with a sync session.
pub async fn insert_changes(
    db: &impl ConnectionTrait,
    instance_id: i32,
    db_type: &str,
    session_id: Option<&str>,
    rows: Vec<NewChange>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in rows.chunks(INSERT_BATCH) {
        account_change_log::Entity::insert_many(chunk.iter().map(|r| {
            account_change_log::ActiveModel {
                instance_id: Set(instance_id),
                db_type: Set(db_type.to_string()),
                username: Set(r.username.clone()),
                change_type: Set(r.change_type.clone()),
                change_time: Set(Some(now)),
                session_id: Set(session_id.map(String::from)),
                status: Set(Some("success".into())),
                message: Set(Some(r.message.clone())),
                privilege_diff: Set(Some(Value::Array(r.privilege_diff.clone()))),
                other_diff: Set(Some(Value::Array(r.other_diff.clone()))),
                ..Default::default()
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}
