//! Account reads (`api-v1.md` §4.7 instance accounts, §4.10 ledgers) and the manual
//! single-instance account sync: per-instance account pages, permission snapshots, change
//! history and the cross-instance ledger.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use wf_domain::{AppError, snapshot, time};
use wf_store::entity::{account_permission, instance};
use wf_store::repo::accounts::{self as repo, AccountSort, InstanceAccountFilter, LedgerFilter};
use wf_store::repo::{instances as instance_repo, tags as tag_repo};

use crate::accounts::{self as sync, SyncError};
use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};
use crate::fleet::LeasedError;
use crate::instances::find as find_instance;
use crate::views::TagBrief;

/// One account of an instance. Null members are omitted (`api-v1.md` §4.7); the engine
/// decides which extra members appear.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceAccountItem {
    pub id: i32,
    pub username: String,
    pub is_superuser: bool,
    pub is_locked: bool,
    /// True when the inventory row is inactive (the account disappeared).
    pub is_deleted: bool,
    /// UTC ISO-8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change_time: Option<String>,
    /// Engine-specific attributes (`domain.md` §2.5).
    #[schema(value_type = Object)]
    pub type_specific: Value,
    /// MySQL: account host (`%` when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub host: Option<Value>,
    /// MySQL: authentication plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub plugin: Option<Value>,
    /// Every other engine-specific member (SQL Server roles and permissions with
    /// `include_permissions`, Oracle account attributes).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub engine: serde_json::Map<String, Value>,
}

/// Account totals of one instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountSummary {
    pub total: i64,
    pub active: i64,
    pub deleted: i64,
    pub superuser: i64,
}

crate::page_type!(
    /// `GET /instances/{id}/accounts` page with the instance's totals.
    InstanceAccountPage,
    InstanceAccountItem,
    summary: AccountSummary
);

/// A request for one instance's accounts.
#[derive(Debug, Clone)]
pub struct InstanceAccountsQuery {
    pub search: Option<String>,
    pub include_deleted: bool,
    pub include_permissions: bool,
    pub sort: AccountSort,
    pub desc: bool,
    pub page: u64,
    pub size: u64,
}

fn snapshot_missing() -> ServiceError {
    ServiceError::conflict("SNAPSHOT_MISSING", "权限快照缺失,请稍后重试或触发重新同步")
}

fn engine_members(
    db_type: &str,
    r: &account_permission::Model,
    ts: &Value,
    with_perms: bool,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            m.insert(k.to_string(), v);
        }
    };
    match db_type {
        "sqlserver" => {
            put(
                "password_change_time",
                ts.get("password_change_time").cloned(),
            );
            if with_perms {
                let cats = r
                    .permission_snapshot
                    .as_ref()
                    .and_then(|s| s.get("categories"))
                    .cloned()
                    .unwrap_or(json!({}));
                put(
                    "server_roles",
                    Some(cats.get("server_roles").cloned().unwrap_or(json!([]))),
                );
                put(
                    "server_permissions",
                    Some(cats.get("server_permissions").cloned().unwrap_or(json!([]))),
                );
                put(
                    "database_roles",
                    Some(cats.get("database_roles").cloned().unwrap_or(json!({}))),
                );
                put(
                    "database_permissions",
                    Some(
                        cats.get("database_permissions")
                            .cloned()
                            .unwrap_or(json!({})),
                    ),
                );
            }
        }
        "oracle" => {
            for k in [
                "oracle_id",
                "authentication_type",
                "account_status",
                "lock_date",
                "expiry_date",
                "default_tablespace",
                "created",
            ] {
                put(k, ts.get(k).cloned());
            }
        }
        _ => {}
    }
    m
}

/// `GET /instances/{id}/accounts`.
pub async fn instance_accounts(
    svc: &Services,
    instance_id: Option<i32>,
    q: &InstanceAccountsQuery,
) -> ServiceResult<InstanceAccountPage> {
    const PUB: &str = "获取实例账户数据失败";
    let inst = find_instance(svc, instance_id, false, PUB).await?;
    let filter = InstanceAccountFilter {
        instance_id: inst.id,
        search: q.search.as_deref(),
        include_deleted: q.include_deleted,
    };
    let p = repo::instance_page(&svc.db, &filter, q.sort, q.desc, q.page, q.size)
        .await
        .public(PUB)?;
    if q.include_permissions
        && p.rows
            .iter()
            .any(|r| !r.permission_snapshot.as_ref().is_some_and(snapshot::is_v4))
    {
        return Err(snapshot_missing());
    }
    let active = repo::inventory_active(
        &svc.db,
        p.rows.iter().map(|r| r.instance_account_id).collect(),
    )
    .await
    .public(PUB)?;
    let mysql = inst.db_type == "mysql";
    let items = p
        .rows
        .iter()
        .map(|r| {
            let ts = r
                .type_specific
                .clone()
                .filter(Value::is_object)
                .unwrap_or(json!({}));
            let field =
                |k: &str, d: Value| Some(ts.get(k).cloned().filter(|v| !v.is_null()).unwrap_or(d));
            InstanceAccountItem {
                id: r.id,
                username: r.username.clone(),
                is_superuser: r.is_superuser,
                is_locked: r.is_locked,
                is_deleted: !active.get(&r.instance_account_id).copied().unwrap_or(false),
                last_change_time: r.last_change_time.as_ref().map(time::iso),
                host: if mysql {
                    field("host", json!("%"))
                } else {
                    None
                },
                plugin: if mysql {
                    field("plugin", json!(""))
                } else {
                    None
                },
                engine: engine_members(&inst.db_type, r, &ts, q.include_permissions),
                type_specific: ts,
            }
        })
        .collect();
    let s = repo::instance_summary(&svc.db, inst.id).await.public(PUB)?;
    let active_n = s.active.unwrap_or(0);
    let summary = AccountSummary {
        total: s.total,
        active: active_n,
        deleted: s.total - active_n,
        superuser: s.superuser.unwrap_or(0),
    };
    Ok(InstanceAccountPage::new(
        items, p.total, q.page, q.size, summary,
    ))
}

/// The `permissions` object of both permission endpoints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionsView {
    /// Upper-case engine name, e.g. `MYSQL`.
    pub db_type: String,
    pub username: String,
    pub is_superuser: bool,
    /// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
    pub last_sync_time: String,
    /// Permission snapshot v4 (`domain.md` §2.5).
    #[schema(value_type = Object)]
    pub snapshot: Value,
}

fn permissions(db_type: &str, a: &account_permission::Model) -> ServiceResult<PermissionsView> {
    let snap = a
        .permission_snapshot
        .clone()
        .filter(snapshot::is_v4)
        .ok_or_else(snapshot_missing)?;
    Ok(PermissionsView {
        db_type: db_type.to_uppercase(),
        username: a.username.clone(),
        is_superuser: a.is_superuser,
        last_sync_time: time::china_display(a.last_sync_time.as_ref()),
        snapshot: snap,
    })
}

/// The account of a permissions response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountRef {
    pub id: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<i32>,
    pub username: String,
    pub instance_name: String,
    pub db_type: String,
}

/// `{permissions, account}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountPermissions {
    pub permissions: PermissionsView,
    pub account: AccountRef,
}

async fn account_of_instance(
    svc: &Services,
    inst: &instance::Model,
    account_id: Option<i32>,
    public: &'static str,
) -> ServiceResult<account_permission::Model> {
    let found = match account_id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found
        .filter(|a| a.instance_id == inst.id)
        .ok_or_else(ServiceError::framework_not_found)
}

/// `GET /instances/{id}/accounts/{account_id}/permissions`.
pub async fn instance_account_permissions(
    svc: &Services,
    instance_id: Option<i32>,
    account_id: Option<i32>,
) -> ServiceResult<AccountPermissions> {
    const PUB: &str = "获取账户权限失败";
    let inst = find_instance(svc, instance_id, false, PUB).await?;
    let a = account_of_instance(svc, &inst, account_id, PUB).await?;
    Ok(AccountPermissions {
        permissions: permissions(&inst.db_type, &a)?,
        account: AccountRef {
            id: a.id,
            instance_id: Some(inst.id),
            username: a.username,
            instance_name: inst.name,
            db_type: inst.db_type,
        },
    })
}

/// `GET /accounts/ledgers/{account_id}/permissions`.
pub async fn ledger_permissions(
    svc: &Services,
    account_id: Option<i32>,
) -> ServiceResult<AccountPermissions> {
    const PUB: &str = "获取账户权限失败";
    let found = match account_id {
        Some(id) => repo::find(&svc.db, id).await.public(PUB)?,
        None => None,
    };
    let a = found.ok_or_else(ServiceError::framework_not_found)?;
    let inst = instance_repo::find(&svc.db, a.instance_id)
        .await
        .public(PUB)?;
    let db_type = inst
        .as_ref()
        .map(|i| i.db_type.clone())
        .unwrap_or_else(|| a.db_type.clone());
    Ok(AccountPermissions {
        permissions: permissions(&db_type, &a)?,
        account: AccountRef {
            id: a.id,
            instance_id: None,
            username: a.username,
            instance_name: inst.map(|i| i.name).unwrap_or_else(|| "未知实例".into()),
            db_type,
        },
    })
}

/// One change-log entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeEntry {
    pub id: i32,
    /// `add`, `modify_privilege`, `modify_other`, `delete`, `reactivate`.
    pub change_type: String,
    /// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
    pub change_time: String,
    pub status: Option<String>,
    pub message: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub privilege_diff: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub other_diff: Option<Value>,
    pub session_id: Option<String>,
}

/// The account of a history response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryAccount {
    pub id: i32,
    pub username: String,
    pub db_type: String,
}

/// `{account, history}`: the 50 newest entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountHistory {
    pub account: HistoryAccount,
    pub history: Vec<ChangeEntry>,
}

/// `GET /instances/{id}/accounts/{account_id}/change-history`.
pub async fn instance_account_history(
    svc: &Services,
    instance_id: Option<i32>,
    account_id: Option<i32>,
) -> ServiceResult<AccountHistory> {
    const PUB: &str = "获取变更历史失败";
    let inst = find_instance(svc, instance_id, false, PUB).await?;
    let a = account_of_instance(svc, &inst, account_id, PUB).await?;
    let rows = repo::history(&svc.db, inst.id, &a.username, &inst.db_type)
        .await
        .public(PUB)?;
    Ok(AccountHistory {
        account: HistoryAccount {
            id: a.id,
            username: a.username,
            db_type: inst.db_type,
        },
        history: rows
            .into_iter()
            .map(|r| ChangeEntry {
                id: r.id,
                change_type: r.change_type,
                change_time: time::china_display(r.change_time.as_ref()),
                status: r.status,
                message: r.message,
                privilege_diff: r.privilege_diff,
                other_diff: r.other_diff,
                session_id: r.session_id,
            })
            .collect(),
    })
}

/// A classification badge of a ledger row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationBadge {
    pub name: String,
    pub color: Option<String>,
}

/// One ledger row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerItem {
    pub id: i32,
    pub username: String,
    pub instance_name: String,
    pub instance_host: String,
    pub db_type: String,
    pub is_locked: bool,
    pub is_superuser: bool,
    pub is_active: bool,
    pub is_deleted: bool,
    pub tags: Vec<TagBrief>,
    pub classifications: Vec<ClassificationBadge>,
}

crate::page_type!(
    /// `GET /accounts/ledgers` page.
    LedgerPage,
    LedgerItem
);

/// `GET /accounts/ledgers`: accounts whose inventory row is active, with their instance,
/// its tags and their classifications (one query each for the page).
pub async fn ledgers(
    svc: &Services,
    f: &LedgerFilter,
    sort: AccountSort,
    desc: bool,
    page: u64,
    size: u64,
) -> ServiceResult<LedgerPage> {
    const PUB: &str = "获取账户列表失败";
    async fn rows(
        svc: &Services,
        conn: &impl sea_orm::ConnectionTrait,
        f: &LedgerFilter,
        (sort, desc, page, size): (AccountSort, bool, u64, u64),
    ) -> Result<wf_store::repo::Paged<repo::LedgerRow>, sea_orm::DbErr> {
        let key = format!("ledger:{}", repo::ledger_count_key(&svc.db, f));
        let total = svc
            .cached_total(
                crate::context::Area::Accounts,
                key,
                repo::ledger_count(conn, f),
            )
            .await?;
        repo::ledger_page(conn, f, sort, desc, page, size, Some(total)).await
    }
    let args = (sort, desc, page, size);
    let p = if f.search.is_some() {
        // a search is planned for its pattern: how rare it is decides the plan (issue 12)
        let txn = wf_store::repo::read_txn(&svc.db, true).await.public(PUB)?;
        let p = rows(svc, &txn, f, args).await.public(PUB)?;
        txn.commit().await.public(PUB)?;
        p
    } else {
        rows(svc, &svc.db, f, args).await.public(PUB)?
    };
    let mut inst_ids: Vec<i32> = p.rows.iter().map(|r| r.instance_id).collect();
    inst_ids.sort_unstable();
    inst_ids.dedup();
    let tags = tag_repo::of_instances(&svc.db, &inst_ids)
        .await
        .public(PUB)?;
    let mut classes =
        repo::classifications_of(&svc.db, &p.rows.iter().map(|r| r.id).collect::<Vec<_>>())
            .await
            .public(PUB)?;
    let items = p
        .rows
        .into_iter()
        .map(|r| LedgerItem {
            id: r.id,
            instance_name: r.instance_name.unwrap_or_else(|| "未知实例".into()),
            instance_host: r.instance_host.unwrap_or_else(|| "未知主机".into()),
            username: r.username,
            db_type: r.db_type,
            is_locked: r.is_locked,
            is_superuser: r.is_superuser,
            is_active: true,
            is_deleted: false,
            tags: tags
                .get(&r.instance_id)
                .map(|ts| ts.iter().map(TagBrief::from).collect())
                .unwrap_or_default(),
            classifications: classes
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| ClassificationBadge {
                    name: c.name,
                    color: c.color,
                })
                .collect(),
        })
        .collect();
    Ok(LedgerPage::new(items, p.total, page, size))
}

/// Header of the account export (`api-v1.md` §4.22).
pub const ACCOUNT_EXPORT_HEADER: [&str; 7] = [
    "名称",
    "实例名称",
    "IP地址",
    "标签",
    "数据库类型",
    "分类",
    "锁定状态",
];

/// Accounts read per export page.
const EXPORT_PAGE: u64 = 2_000;

/// `GET /files/account-export` rows: the ledger's scope and filters (the `classification`
/// filter excepted), every row, by username. `名称` is `username@host` except for SQL
/// Server, Oracle and PostgreSQL (plain username); tags and classifications comma-joined
/// (`未分类` when none); the lock state as `已锁定` / `正常`.
pub async fn export_rows(svc: &Services, f: &LedgerFilter) -> ServiceResult<Vec<Vec<String>>> {
    const PUB: &str = "导出账户失败";
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = repo::ledger_export_page(&svc.db, f, after.take(), EXPORT_PAGE)
            .await
            .public(PUB)?;
        let Some(last) = page.last() else { break };
        after = Some((last.username.clone(), last.id));
        let mut inst_ids: Vec<i32> = page.iter().map(|r| r.instance_id).collect();
        inst_ids.sort_unstable();
        inst_ids.dedup();
        let tags = tag_repo::of_instances(&svc.db, &inst_ids)
            .await
            .public(PUB)?;
        let mut classes =
            repo::classifications_of(&svc.db, &page.iter().map(|r| r.id).collect::<Vec<_>>())
                .await
                .public(PUB)?;
        let full = page.len() as u64 == EXPORT_PAGE;
        for r in page {
            let host = r.instance_host.clone().unwrap_or_default();
            let name = match r.db_type.as_str() {
                "sqlserver" | "oracle" | "postgresql" => r.username.clone(),
                _ => format!("{}@{}", r.username, host),
            };
            let tag_names: Vec<String> = tags
                .get(&r.instance_id)
                .map(|ts| ts.iter().map(|t| t.display_name.clone()).collect())
                .unwrap_or_default();
            let class_names: Vec<String> = classes
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.name)
                .collect();
            out.push(vec![
                name,
                r.instance_name.clone().unwrap_or_default(),
                host,
                tag_names.join(", "),
                r.db_type.to_uppercase(),
                if class_names.is_empty() {
                    "未分类".to_string()
                } else {
                    class_names.join(", ")
                },
                if r.is_locked { "已锁定" } else { "正常" }.to_string(),
            ]);
        }
        if !full {
            break;
        }
    }
    Ok(out)
}

/// Result of a manual sync: the message and the `result` object (`api-v1.md` §4.10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncResult {
    #[schema(value_type = Object)]
    pub result: Value,
}

/// `POST /accounts/actions/sync`: synchronous account sync of one instance. A failure to
/// connect or list is 400 `INVALID_REQUEST` `同步失败: …` with `extra.result`.
pub async fn sync_one(
    svc: &Services,
    instance_id: Option<i32>,
) -> ServiceResult<(String, SyncResult)> {
    const PUB: &str = "账户同步失败,请重试";
    let found = match instance_id {
        Some(id) => instance_repo::find(&svc.db, id).await.public(PUB)?,
        None => None,
    };
    let inst = found.ok_or_else(|| ServiceError::not_found("实例不存在"))?;
    match crate::fleet::sync_leased(svc, &inst, None).await {
        Ok(outcome) => {
            instance_repo::record_sync_success(&svc.db, inst.id)
                .await
                .public(PUB)?;
            let result = outcome.manual_result();
            let message = result["message"]
                .as_str()
                .unwrap_or("账户同步完成")
                .to_string();
            Ok((message, SyncResult { result }))
        }
        Err(LeasedError::Busy) => Err(ServiceError::conflict(
            "SYNC_IN_PROGRESS",
            "该实例正在同步中,请等待当前同步完成后再试",
        )),
        Err(LeasedError::Sync(SyncError::Store(e))) => Err(ServiceError::Store {
            public: Some(PUB),
            source: e,
        }),
        Err(LeasedError::Sync(e)) => {
            let message = format!("同步失败: {e}");
            tracing::warn!(instance = %inst.name, error = %e, "account sync failed");
            let mut result = sync::failed_result(&message);
            if let Value::Object(o) = &mut result {
                o.insert("details".into(), json!({}));
            }
            Err(AppError::endpoint(400, "INVALID_REQUEST", message)
                .with_extra(json!({"result": result, "instance_id": inst.id}))
                .into())
        }
    }
}
