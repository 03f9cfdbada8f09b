//! Account synchronisation of one instance (`domain.md` §2): list accounts with their
//! permissions in bulk, reconcile the inventory (`instance_accounts`), persist snapshot v4 /
//! facts v2 (`account_permission`) and write change-log rows (`account_change_log`), all in one
//! store transaction per instance.
//!
//! Fixes of `domain.md` §13.1 built in: a failed listing is an instance failure and never
//! touches the inventory; disappear/reappear write `delete`/`reactivate` rows; the change log
//! stores the bare session id (the instance id is its own column).

use chrono::Utc;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde_json::{Value, json};
use std::collections::HashMap;
use wf_domain::{diff, snapshot};
use wf_engines::RemoteAccount;
use wf_store::entity::{account_permission, instance, instance_account};
use wf_store::repo::account_sync::{self as repo, NewChange, NewPermission, PermissionState};

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
    /// Statements sent to the managed instance (a constant per engine, `domain.md` §13.1 #12).
    pub remote_queries: u64,
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
    let remote_queries = adapter.remote_queries();
    adapter.close().await;
    let remote = listed.map_err(|e| SyncError::Listing(e.to_string()))?;
    let started = std::time::Instant::now();
    let txn = wf_store::begin_write(db).await?;
    let mut outcome = apply(&txn, inst, remote, session_id).await?;
    txn.commit().await?;
    outcome.remote_queries = remote_queries;
    tracing::info!(instance = %inst.name, ms = started.elapsed().as_millis() as u64, "accounts persisted");
    Ok(outcome)
}

fn categories(snapshot: &Option<Value>) -> Value {
    snapshot
        .as_ref()
        .and_then(|s| s.get("categories"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Permission rows of the given inventory rows, by inventory id.
async fn permissions_by_account(
    txn: &DatabaseTransaction,
    ids: &[i32],
) -> Result<HashMap<i32, account_permission::Model>, sea_orm::DbErr> {
    Ok(repo::permissions_of(txn, ids)
        .await?
        .into_iter()
        .map(|p| (p.instance_account_id, p))
        .collect())
}

/// Message of a `reactivate` change: the reappearance, then what changed meanwhile.
fn reactivate_message(username: &str, pd: &[Value], od: &[Value]) -> String {
    if pd.is_empty() && od.is_empty() {
        return format!("账户 {username} 重新出现在实例中");
    }
    let detail = diff::message(username, diff::MODIFY_PRIVILEGE, pd, od);
    let tail = detail
        .strip_prefix(&format!("账户 {username} "))
        .unwrap_or("");
    format!("账户 {username} 重新出现在实例中;{tail}")
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
    repo::lock_instance(txn, inst.id).await?;
    let mut by_name: HashMap<String, instance_account::Model> =
        repo::inventory(txn, inst.id, db_type)
            .await?
            .into_iter()
            .map(|a| (a.username.clone(), a))
            .collect();

    let total_remote = remote.len();
    let mut seen = std::collections::HashSet::new();
    let (mut refreshed, mut reactivated, mut new_names) = (Vec::new(), Vec::new(), Vec::new());
    // (instance_account_id — 0 until inserted, account, was_reactivated)
    let mut active: Vec<(i32, RemoteAccount, bool)> = Vec::new();
    for mut acc in remote {
        acc.username = acc.username.trim().to_string();
        if acc.username.is_empty() || !seen.insert(acc.username.clone()) {
            continue;
        }
        match by_name.remove(&acc.username) {
            Some(row) if row.is_active => {
                refreshed.push(row.id);
                active.push((row.id, acc, false));
            }
            Some(row) => {
                reactivated.push(row.id);
                active.push((row.id, acc, true));
            }
            None => {
                new_names.push(acc.username.clone());
                active.push((0, acc, false));
            }
        }
    }
    repo::mark_seen(txn, &refreshed, false, now).await?;
    repo::mark_seen(txn, &reactivated, true, now).await?;
    let inserted: HashMap<String, i32> =
        repo::insert_inventory(txn, inst.id, db_type, &new_names, now)
            .await?
            .into_iter()
            .collect();
    for (id, acc, _) in active.iter_mut().filter(|(id, _, _)| *id == 0) {
        *id = inserted
            .get(&acc.username)
            .copied()
            .ok_or_else(|| SyncError::Store(sea_orm::DbErr::RecordNotInserted))?;
    }
    // rows not seen: deactivate and record a `delete` change (domain.md §13.1.3)
    let mut gone: Vec<instance_account::Model> =
        by_name.into_values().filter(|r| r.is_active).collect();
    gone.sort_by(|a, b| a.username.cmp(&b.username));
    repo::deactivate(txn, &gone.iter().map(|r| r.id).collect::<Vec<_>>(), now).await?;
    let mut changes: Vec<NewChange> = Vec::new();
    let mut deleted_perms = Vec::new();
    let gone_ids: Vec<i32> = gone.iter().map(|r| r.id).collect();
    let mut perm_by_account = permissions_by_account(txn, &gone_ids).await?;
    for row in &gone {
        let old = perm_by_account.remove(&row.id);
        let pd = diff::privilege_diff(
            &categories(&old.as_ref().and_then(|p| p.permission_snapshot.clone())),
            &Value::Null,
        );
        deleted_perms.extend(old.map(|p| p.id));
        changes.push(NewChange {
            username: row.username.clone(),
            change_type: diff::DELETE.into(),
            message: format!("账户 {} 已从实例中删除", row.username),
            privilege_diff: pd,
            other_diff: vec![],
        });
    }
    repo::mark_changed(txn, &deleted_perms, diff::DELETE, now).await?;
    let (created, deactivated) = (new_names.len() as i64, gone.len() as i64);
    let (refreshed, reactivated) = (refreshed.len() as i64, reactivated.len() as i64);
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
    // rows are written in batches as the accounts are processed, so one instance never holds
    // every snapshot, diff and remote payload of its accounts at once (fleet sync memory)
    const FLUSH: usize = 100;
    let active_count = active.len();
    let (mut new_perms, mut unchanged) = (Vec::new(), Vec::new());
    let (mut c_created, mut c_updated) = (0i64, 0i64);
    // permission rows are read per batch of accounts, not all at once
    let mut active = active.into_iter().peekable();
    while active.peek().is_some() {
        let batch: Vec<(i32, RemoteAccount, bool)> = active.by_ref().take(FLUSH).collect();
        let ids: Vec<i32> = batch.iter().map(|(id, _, _)| *id).collect();
        let mut perm_by_account = permissions_by_account(txn, &ids).await?;
        for (account_id, acc, was_reactivated) in batch {
            let snap = snapshot::build_snapshot(db_type, &acc.payload);
            let facts = snapshot::build_facts(db_type, &snap, now);
            let state = PermissionState {
                type_specific: snap
                    .get("type_specific")
                    .and_then(|t| t.get(db_type))
                    .cloned(),
                is_superuser: snapshot::has_capability(&facts, "SUPERUSER"),
                is_locked: snapshot::has_capability(&facts, "LOCKED"),
                snapshot: snap,
                facts,
            };
            match perm_by_account.remove(&account_id) {
                None => {
                    let pd = diff::privilege_diff(&Value::Null, &state.snapshot["categories"]);
                    let od = diff::other_diff(
                        db_type,
                        &Value::Null,
                        &Value::Null,
                        &state.snapshot,
                        &state.facts,
                    );
                    changes.push(NewChange {
                        username: acc.username.clone(),
                        change_type: diff::ADD.into(),
                        message: diff::message(&acc.username, diff::ADD, &pd, &od),
                        privilege_diff: pd,
                        other_diff: od,
                    });
                    c_created += 1;
                    new_perms.push(NewPermission {
                        instance_account_id: account_id,
                        username: acc.username.clone(),
                        state,
                        change_type: diff::ADD.into(),
                    });
                }
                Some(old) => {
                    let old_snap = old
                        .permission_snapshot
                        .clone()
                        .filter(snapshot::is_v4)
                        .unwrap_or(Value::Null);
                    let old_facts = old.permission_facts.clone().unwrap_or(Value::Null);
                    let pd = diff::privilege_diff(
                        &categories(&Some(old_snap.clone())),
                        &state.snapshot["categories"],
                    );
                    let od = diff::other_diff(
                        db_type,
                        &old_snap,
                        &old_facts,
                        &state.snapshot,
                        &state.facts,
                    );
                    let kind = if was_reactivated {
                        Some(diff::REACTIVATE)
                    } else {
                        diff::change_type(&pd, &od)
                    };
                    let Some(kind) = kind else {
                        unchanged.push(old.id);
                        continue;
                    };
                    repo::update_permission(txn, old, state, kind, now).await?;
                    let message = if kind == diff::REACTIVATE {
                        reactivate_message(&acc.username, &pd, &od)
                    } else {
                        diff::message(&acc.username, kind, &pd, &od)
                    };
                    changes.push(NewChange {
                        username: acc.username.clone(),
                        change_type: kind.into(),
                        message,
                        privilege_diff: pd,
                        other_diff: od,
                    });
                    c_updated += 1;
                }
            }
            if new_perms.len() >= FLUSH {
                repo::insert_permissions(
                    txn,
                    inst.id,
                    db_type,
                    std::mem::take(&mut new_perms),
                    now,
                )
                .await?;
            }
            if changes.len() >= FLUSH {
                repo::insert_changes(
                    txn,
                    inst.id,
                    db_type,
                    session_id,
                    std::mem::take(&mut changes),
                    now,
                )
                .await?;
            }
        }
    }
    let c_skipped = unchanged.len() as i64;
    repo::touch_permissions(txn, &unchanged, now).await?;
    repo::insert_permissions(txn, inst.id, db_type, new_perms, now).await?;
    repo::insert_changes(txn, inst.id, db_type, session_id, changes, now).await?;
    let collection = if active_count == 0 {
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
        processed: if active_count == 0 {
            0
        } else {
            c_created + c_updated
        },
        remote_queries: 0,
    })
}
