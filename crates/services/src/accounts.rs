//! Account synchronisation of one instance (`domain.md` §2): list accounts with their
//! permissions in bulk, reconcile the inventory (`instance_accounts`), persist snapshot v4 /
//! facts v2 (`account_permission`) and write change-log rows (`account_change_log`), all in one
//! store transaction per instance.
//!
//! Fixes of `domain.md` §13.1 built in: a failed listing is an instance failure and never
//! touches the inventory; disappear/reappear write `delete`/`reactivate` rows; the change log
//! stores the bare session id (the instance id is its own column).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use wf_domain::{diff, snapshot};
use wf_engines::RemoteAccount;
use wf_store::entity::{account_change_log, account_permission, instance, instance_account};

use crate::CredentialCipher;
use crate::connection::conn_params;

/// Why an instance sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Could not connect (or decrypt the credential).
    #[error("{0}")]
    Connection(String),
    /// Listing the accounts failed; the inventory was left untouched.
    #[error("账户列表读取失败: {0}")]
    Listing(String),
    /// The app store failed.
    #[error("数据库错误: {0}")]
    Store(#[from] sea_orm::DbErr),
}

/// Outcome of one instance sync: the inventory and collection summaries of `domain.md` §2.6/§2.8.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    pub inventory: Value,
    pub collection: Value,
    pub created: i64,
    pub reactivated: i64,
    pub deactivated: i64,
    pub updated: i64,
    pub processed: i64,
}

impl SyncOutcome {
    /// Result of a manual single-instance sync (`domain.md` §2.9,
    /// `api-v1.md` §4.10 `POST /accounts/actions/sync`).
    pub fn manual_result(&self) -> Value {
        let mut parts = Vec::new();
        let added = self.created + self.reactivated;
        if self.processed > 0 {
            parts.push(format!("同步 {} 个账户", self.processed));
        }
        if added > 0 {
            parts.push(format!("新增 {added} 个"));
        }
        if self.updated > 0 {
            parts.push(format!("更新 {} 个", self.updated));
        }
        if self.deactivated > 0 {
            parts.push(format!("移除 {} 个", self.deactivated));
        }
        let message = if parts.is_empty() {
            "账户同步完成".to_string()
        } else {
            parts.join("、")
        };
        json!({
            "status": "completed",
            "success": true,
            "message": message,
            "synced_count": self.processed,
            "added_count": added,
            "modified_count": self.updated,
            "removed_count": self.deactivated,
            "details": {"inventory": self.inventory, "collection": self.collection},
        })
    }
}

/// Failure result of a manual sync (`extra.result` of the 400 response).
pub fn failed_result(message: &str) -> Value {
    json!({
        "status": "failed",
        "success": false,
        "message": message,
        "error": message,
        "synced_count": 0,
        "added_count": 0,
        "modified_count": 0,
        "removed_count": 0,
    })
}

/// Sync the accounts of one instance. `session_id` correlates change-log rows with a sync
/// session (`None` for a manual single-instance sync). On success of a manual sync the caller
/// updates `sync_count`/`last_connected` (`wf_store::repo::instances::record_sync_success`).
pub async fn sync_instance(
    db: &DatabaseConnection,
    cipher: &CredentialCipher,
    inst: &instance::Model,
    session_id: Option<&str>,
) -> Result<SyncOutcome, SyncError> {
    let params = conn_params(db, cipher, inst)
        .await
        .map_err(|e| SyncError::Connection(e.to_string()))?;
    let adapter = wf_engines::connect(&params)
        .await
        .map_err(|e| SyncError::Connection(e.to_string()))?;
    let listed = adapter.list_accounts().await;
    adapter.close().await;
    let remote = listed.map_err(|e| SyncError::Listing(e.to_string()))?;
    let started = std::time::Instant::now();
    let txn = db.begin().await?;
    let outcome = apply(&txn, inst, remote, session_id).await?;
    txn.commit().await?;
    tracing::info!(instance = %inst.name, ms = started.elapsed().as_millis() as u64, "accounts persisted");
    Ok(outcome)
}

struct LogRow<'a> {
    inst: &'a instance::Model,
    username: &'a str,
    change_type: &'a str,
    privilege_diff: Vec<Value>,
    other_diff: Vec<Value>,
    message: String,
}

async fn write_log(
    txn: &DatabaseTransaction,
    row: LogRow<'_>,
    session_id: Option<&str>,
) -> Result<(), sea_orm::DbErr> {
    account_change_log::ActiveModel {
        instance_id: Set(row.inst.id),
        db_type: Set(row.inst.db_type.clone()),
        username: Set(row.username.to_string()),
        change_type: Set(row.change_type.to_string()),
        change_time: Set(Some(Utc::now())),
        session_id: Set(session_id.map(String::from)),
        status: Set(Some("success".into())),
        message: Set(Some(row.message)),
        privilege_diff: Set(Some(Value::Array(row.privilege_diff))),
        other_diff: Set(Some(Value::Array(row.other_diff))),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

fn categories(snapshot: &Option<Value>) -> Value {
    snapshot
        .as_ref()
        .and_then(|s| s.get("categories"))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn apply(
    txn: &DatabaseTransaction,
    inst: &instance::Model,
    remote: Vec<RemoteAccount>,
    session_id: Option<&str>,
) -> Result<SyncOutcome, SyncError> {
    let now = Utc::now();
    let db_type = inst.db_type.as_str();
    // ---- phase 1: inventory (domain.md §2.8)
    let existing = instance_account::Entity::find()
        .filter(instance_account::Column::InstanceId.eq(inst.id))
        .filter(instance_account::Column::DbType.eq(db_type))
        .all(txn)
        .await?;
    let mut by_name: HashMap<String, instance_account::Model> = existing
        .into_iter()
        .map(|a| (a.username.clone(), a))
        .collect();
    let perms = account_permission::Entity::find()
        .filter(account_permission::Column::InstanceId.eq(inst.id))
        .filter(account_permission::Column::DbType.eq(db_type))
        .all(txn)
        .await?;
    let mut perm_by_account: HashMap<i32, account_permission::Model> = perms
        .into_iter()
        .map(|p| (p.instance_account_id, p))
        .collect();

    let (mut created, mut refreshed, mut reactivated, mut deactivated) = (0i64, 0i64, 0i64, 0i64);
    let mut active: Vec<(i32, RemoteAccount, bool)> = Vec::new(); // (instance_account_id, account, was_reactivated)
    let total_remote = remote.len();
    let mut seen = std::collections::HashSet::new();
    for mut acc in remote {
        acc.username = acc.username.trim().to_string();
        if acc.username.is_empty() || !seen.insert(acc.username.clone()) {
            continue;
        }
        match by_name.remove(&acc.username) {
            Some(row) => {
                let was_inactive = !row.is_active;
                let id = row.id;
                let mut am: instance_account::ActiveModel = row.into();
                am.last_seen_at = Set(now);
                am.updated_at = Set(now);
                if was_inactive {
                    am.is_active = Set(true);
                    am.deleted_at = Set(None);
                    reactivated += 1;
                } else {
                    refreshed += 1;
                }
                am.update(txn).await?;
                active.push((id, acc, was_inactive));
            }
            None => {
                let row = instance_account::ActiveModel {
                    instance_id: Set(inst.id),
                    username: Set(acc.username.clone()),
                    db_type: Set(db_type.to_string()),
                    is_active: Set(true),
                    first_seen_at: Set(now),
                    last_seen_at: Set(now),
                    deleted_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
                created += 1;
                active.push((row.id, acc, false));
            }
        }
    }
    // rows not seen: deactivate and record a `delete` change (domain.md §13.1.3)
    let mut gone: Vec<instance_account::Model> =
        by_name.into_values().filter(|r| r.is_active).collect();
    gone.sort_by(|a, b| a.username.cmp(&b.username));
    for row in gone {
        let username = row.username.clone();
        let id = row.id;
        let mut am: instance_account::ActiveModel = row.into();
        am.is_active = Set(false);
        am.deleted_at = Set(Some(now));
        am.updated_at = Set(now);
        am.update(txn).await?;
        deactivated += 1;
        let old = perm_by_account.remove(&id);
        let pd = diff::privilege_diff(
            &categories(&old.as_ref().and_then(|p| p.permission_snapshot.clone())),
            &Value::Null,
        );
        if let Some(p) = old {
            let mut am: account_permission::ActiveModel = p.into();
            am.last_change_type = Set(Some(diff::DELETE.into()));
            am.last_change_time = Set(Some(now));
            am.update(txn).await?;
        }
        let message = format!("账户 {username} 已从实例中删除");
        write_log(
            txn,
            LogRow {
                inst,
                username: &username,
                change_type: diff::DELETE,
                privilege_diff: pd,
                other_diff: vec![],
                message,
            },
            session_id,
        )
        .await?;
    }
    let active_names: Vec<String> = active.iter().map(|(_, a, _)| a.username.clone()).collect();
    let inventory = json!({
        "status": "completed",
        "created": created,
        "refreshed": refreshed,
        "reactivated": reactivated,
        "deactivated": deactivated,
        "processed_records": created + refreshed + reactivated,
        "total_remote": total_remote,
        "active_count": active_names.len(),
        "active_accounts": active_names,
    });

    // ---- phase 2: permissions (domain.md §2.6–§2.7)
    let (mut c_created, mut c_updated, mut c_skipped) = (0i64, 0i64, 0i64);
    for (account_id, acc, was_reactivated) in &active {
        let snap = snapshot::build_snapshot(db_type, &acc.payload);
        let facts = snapshot::build_facts(db_type, &snap, now);
        let type_specific = snap
            .get("type_specific")
            .and_then(|t| t.get(db_type))
            .cloned();
        let is_super = snapshot::has_capability(&facts, "SUPERUSER");
        let is_locked = snapshot::has_capability(&facts, "LOCKED");
        match perm_by_account.remove(account_id) {
            None => {
                let pd = diff::privilege_diff(&Value::Null, &snap["categories"]);
                let od = diff::other_diff(db_type, &Value::Null, &Value::Null, &snap, &facts);
                let message = diff::message(&acc.username, diff::ADD, &pd, &od);
                account_permission::ActiveModel {
                    instance_id: Set(inst.id),
                    db_type: Set(db_type.to_string()),
                    username: Set(acc.username.clone()),
                    instance_account_id: Set(*account_id),
                    type_specific: Set(type_specific),
                    permission_snapshot: Set(Some(snap.clone())),
                    permission_facts: Set(Some(facts.clone())),
                    is_superuser: Set(is_super),
                    is_locked: Set(is_locked),
                    last_sync_time: Set(Some(now)),
                    last_change_type: Set(Some(diff::ADD.into())),
                    last_change_time: Set(Some(now)),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
                write_log(
                    txn,
                    LogRow {
                        inst,
                        username: &acc.username,
                        change_type: diff::ADD,
                        privilege_diff: pd,
                        other_diff: od,
                        message,
                    },
                    session_id,
                )
                .await?;
                c_created += 1;
            }
            Some(old) => {
                let old_snap = old
                    .permission_snapshot
                    .clone()
                    .filter(snapshot::is_v4)
                    .unwrap_or(Value::Null);
                let old_facts = old.permission_facts.clone().unwrap_or(Value::Null);
                let pd =
                    diff::privilege_diff(&categories(&Some(old_snap.clone())), &snap["categories"]);
                let od = diff::other_diff(db_type, &old_snap, &old_facts, &snap, &facts);
                let kind = if *was_reactivated {
                    Some(diff::REACTIVATE)
                } else {
                    diff::change_type(&pd, &od)
                };
                let mut am: account_permission::ActiveModel = old.into();
                am.last_sync_time = Set(Some(now));
                match kind {
                    None => {
                        am.update(txn).await?;
                        c_skipped += 1;
                    }
                    Some(kind) => {
                        am.type_specific = Set(type_specific);
                        am.permission_snapshot = Set(Some(snap.clone()));
                        am.permission_facts = Set(Some(facts.clone()));
                        am.is_superuser = Set(is_super);
                        am.is_locked = Set(is_locked);
                        am.last_change_type = Set(Some(kind.to_string()));
                        am.last_change_time = Set(Some(now));
                        am.update(txn).await?;
                        let message = if kind == diff::REACTIVATE {
                            let detail =
                                diff::message(&acc.username, diff::MODIFY_PRIVILEGE, &pd, &od);
                            let tail = detail
                                .strip_prefix(&format!("账户 {} ", acc.username))
                                .unwrap_or("");
                            if pd.is_empty() && od.is_empty() {
                                format!("账户 {} 重新出现在实例中", acc.username)
                            } else {
                                format!("账户 {} 重新出现在实例中;{}", acc.username, tail)
                            }
                        } else {
                            diff::message(&acc.username, kind, &pd, &od)
                        };
                        write_log(
                            txn,
                            LogRow {
                                inst,
                                username: &acc.username,
                                change_type: kind,
                                privilege_diff: pd,
                                other_diff: od,
                                message,
                            },
                            session_id,
                        )
                        .await?;
                        c_updated += 1;
                    }
                }
            }
        }
    }
    let collection = if active.is_empty() {
        json!({"status": "skipped", "processed_records": 0, "created": 0, "updated": 0, "skipped": total_remote, "errors": [], "message": "未检测到活跃账户,跳过权限同步"})
    } else {
        json!({
            "status": "completed",
            "created": c_created,
            "updated": c_updated,
            "skipped": c_skipped,
            "processed_records": c_created + c_updated,
            "errors": [],
            "message": format!("权限同步完成:新增 {c_created} 个账户,更新 {c_updated} 个账户"),
        })
    };
    Ok(SyncOutcome {
        inventory,
        collection,
        created,
        reactivated,
        deactivated,
        updated: c_updated,
        processed: if active.is_empty() {
            0
        } else {
            c_created + c_updated
        },
    })
}
