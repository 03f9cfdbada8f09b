//! Capacity collection of one instance (`domain.md` §5.1–§5.4, `api-v1.md` §4.7 #30): connect,
//! reconcile the database inventory, collect the sizes of the active databases, save them
//! with the day's instance total, then refresh today's daily aggregation of the instance.
//! Everything is keyed by the China date; sizes are MB.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use wf_domain::AppError;
use wf_domain::capacity::{DatabaseFilter, PeriodType, china_today};
use wf_engines::EngineAdapter;
use wf_store::entity::instance;
use wf_store::repo::capacity::{self as repo, AggregationScope, InventoryChange};
use wf_store::repo::instances as instance_repo;

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// The inventory part of a capacity result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InventorySummary {
    pub created: u32,
    pub refreshed: u32,
    pub reactivated: u32,
    pub deactivated: u32,
    /// Names kept, sorted.
    pub active_databases: Vec<String>,
    /// Names excluded by the engine's filter, sorted.
    pub filtered_databases: Vec<String>,
    /// Same as `active_databases`.
    pub synchronized_databases: Vec<String>,
}

/// One collected database size.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollectedDatabase {
    pub database_name: String,
    pub size_mb: i64,
    pub data_size_mb: Option<i64>,
    pub log_size_mb: Option<i64>,
    /// China date `YYYY-MM-DD`.
    pub collected_date: String,
    /// UTC ISO-8601.
    pub collected_at: String,
    pub is_system: bool,
}

/// `data.result` of `POST /instances/{id}/actions/sync-capacity`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapacitySyncResult {
    /// `completed`.
    pub status: String,
    pub databases: Vec<CollectedDatabase>,
    pub database_count: u64,
    /// Σ `size_mb`.
    pub total_size_mb: i64,
    pub saved_count: u64,
    pub instance_stat_updated: bool,
    pub inventory: InventorySummary,
    pub message: String,
    /// For the envelope message (not serialised).
    #[serde(skip)]
    pub instance_name: String,
}

/// Why a collection failed (all are 409 at the API, inventory changes kept).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("无法连接到实例 {0}")]
    Connect(String),
    #[error("容量采集失败")]
    Collect(String),
    #[error("未采集到任何数据库大小数据")]
    Empty,
    #[error("数据库查询错误: {0}")]
    Store(#[from] sea_orm::DbErr),
}

impl CollectError {
    fn into_service(self, instance_id: i32) -> ServiceError {
        let code = match &self {
            CollectError::Connect(_) => "DATABASE_CONNECTION_ERROR",
            CollectError::Store(e) => {
                return ServiceError::Store {
                    public: Some("同步实例容量失败"),
                    source: sea_orm::DbErr::Custom(e.to_string()),
                };
            }
            _ => "SYNC_DATA_ERROR",
        };
        ServiceError::Rejected(
            AppError::endpoint(409, code, self.to_string())
                .with_extra(json!({"instance_id": instance_id})),
        )
    }
}

/// `POST /instances/{id}/actions/sync-capacity`: any existing instance (soft-deleted ones
/// too); 404 `实例不存在` otherwise.
pub async fn sync_instance_capacity(
    svc: &Services,
    instance_id: Option<i32>,
) -> ServiceResult<CapacitySyncResult> {
    const PUB: &str = "同步实例容量失败";
    let inst = match instance_id {
        Some(id) => instance_repo::find(&svc.db, id).await.public(PUB)?,
        None => None,
    }
    .ok_or_else(|| ServiceError::not_found("实例不存在"))?;
    let result = collect_instance(svc, &inst)
        .await
        .map_err(|e| e.into_service(inst.id))?;
    svc.changed(crate::context::Change::Capacity).await;
    // best effort: today's daily aggregation of the instance
    if result.instance_stat_updated {
        let today = china_today(chrono::Utc::now());
        let range = crate::aggregation::range_of(PeriodType::Daily, today, today);
        for level in [true, false] {
            let r = if level {
                repo::aggregate_databases(&svc.db, AggregationScope::Instance(inst.id), &range)
                    .await
            } else {
                repo::aggregate_instances(&svc.db, AggregationScope::Instance(inst.id), &range)
                    .await
            };
            if let Err(e) = r {
                tracing::warn!(instance = inst.id, error = %e, "daily aggregation after capacity sync failed");
            }
        }
    }
    Ok(result)
}

/// Collect one instance: inventory (committed even when collection then fails), sizes, the
/// day's instance total.
pub async fn collect_instance(
    svc: &Services,
    inst: &instance::Model,
) -> Result<CapacitySyncResult, CollectError> {
    let params = crate::connection::conn_params(&svc.db, &svc.cipher, inst)
        .await
        .map_err(|_| CollectError::Connect(inst.name.clone()))?;
    let adapter = wf_engines::connect(&params).await.map_err(|e| {
        tracing::warn!(instance = %inst.name, error = %e, "capacity: connect failed");
        CollectError::Connect(inst.name.clone())
    })?;
    let out = collect_with(svc, inst, adapter.as_ref()).await;
    adapter.close().await;
    out
}

async fn collect_with(
    svc: &Services,
    inst: &instance::Model,
    adapter: &dyn EngineAdapter,
) -> Result<CapacitySyncResult, CollectError> {
    let today = china_today(chrono::Utc::now());
    let filter = DatabaseFilter::for_engine(&inst.db_type);
    let remote = adapter
        .list_databases()
        .await
        .map_err(|e| CollectError::Collect(e.to_string()))?;
    let mut seen = Vec::new();
    let mut filtered = Vec::new();
    for d in remote {
        if d.is_system && inst.db_type != "mysql" {
            continue;
        }
        if filter.excludes(&d.name) {
            filtered.push(d.name);
        } else {
            seen.push(d.name);
        }
    }
    filtered.sort();
    filtered.dedup();
    let change: InventoryChange = {
        let txn = wf_store::begin_write(&svc.db).await?;
        let c = repo::reconcile_inventory(&txn, inst.id, &seen, today).await?;
        txn.commit().await?;
        c
    };
    let inventory = InventorySummary {
        created: change.created,
        refreshed: change.refreshed,
        reactivated: change.reactivated,
        deactivated: change.deactivated,
        synchronized_databases: change.active_databases.clone(),
        active_databases: change.active_databases,
        filtered_databases: filtered,
    };
    if inventory.active_databases.is_empty() {
        return Ok(CapacitySyncResult {
            status: "completed".into(),
            databases: Vec::new(),
            database_count: 0,
            total_size_mb: 0,
            saved_count: 0,
            instance_stat_updated: false,
            inventory,
            message: "未发现活跃数据库,已仅同步数据库列表".into(),
            instance_name: inst.name.clone(),
        });
    }
    let sizes = adapter
        .database_sizes(inst.main_version.as_deref())
        .await
        .map_err(|e| {
            tracing::warn!(instance = %inst.name, error = %e, "capacity: size collection failed");
            CollectError::Collect(e.to_string())
        })?;
    let rows: Vec<repo::SizeRow> = sizes
        .into_iter()
        .filter(|s| inventory.active_databases.contains(&s.name) && !filter.excludes(&s.name))
        .map(|s| (s.name, s.size_mb, s.data_size_mb, s.log_size_mb))
        .collect();
    if rows.is_empty() {
        return Err(CollectError::Empty);
    }
    let stat_updated = {
        let txn = wf_store::begin_write(&svc.db).await?;
        let updated = repo::save_sizes(&txn, inst.id, today, &rows).await?;
        txn.commit().await?;
        updated
    };
    let now = wf_domain::time::iso(&chrono::Utc::now());
    let total: i64 = rows.iter().map(|r| r.1).sum();
    let n = rows.len() as u64;
    Ok(CapacitySyncResult {
        status: "completed".into(),
        databases: rows
            .into_iter()
            .map(|(name, size, data, log)| CollectedDatabase {
                database_name: name,
                size_mb: size,
                data_size_mb: data,
                log_size_mb: log,
                collected_date: today.to_string(),
                collected_at: now.clone(),
                is_system: false,
            })
            .collect(),
        database_count: n,
        total_size_mb: total,
        saved_count: n,
        instance_stat_updated: stat_updated,
        inventory,
        message: format!("成功采集并保存 {n} 个数据库的容量信息"),
        instance_name: inst.name.clone(),
    })
}

/// Lease name of an instance's capacity collection (never two collections of one instance).
pub fn capacity_lease(instance_id: i32) -> String {
    format!("capacity-sync:instance:{instance_id}")
}

/// The scheduled `collect_database_sizes` run (`domain.md` §5.1) and its "run now": a
/// `capacity` session over every active, not deleted instance, in the background with the
/// fleet's bounded parallelism, per-instance leases and cooperative cancel; each record
/// carries the inventory counters and the collected totals. Returns the session id.
pub async fn start_collect_all(
    svc: &Services,
    sync_type: &str,
    created_by: Option<i32>,
) -> ServiceResult<String> {
    crate::fleet::start_session(
        svc,
        "capacity",
        sync_type,
        created_by,
        "容量同步任务触发失败",
    )
    .await
}

/// Capacity collection of one instance of a queue session, under the instance's capacity
/// lease held as the session (a node re-claiming a dead node's record takes the same lease).
pub(crate) async fn collect_job(
    svc: &Services,
    session_id: &str,
    inst: &instance::Model,
) -> crate::fleet::JobResult {
    use wf_store::repo::leases;
    use wf_store::repo::sessions::{RecordOutcome, status};
    let (name, holder) = (capacity_lease(inst.id), format!("session:{session_id}"));
    match leases::try_acquire(&svc.db, &name, &holder, crate::fleet::INSTANCE_LEASE_TTL).await {
        Ok(true) => {}
        Ok(false) => return crate::fleet::skipped_busy(),
        Err(e) => return crate::fleet::failed(format!("数据库查询错误: {e}")),
    }
    let out = collect_instance(svc, inst).await;
    if out.is_ok() {
        svc.changed(crate::context::Change::Capacity).await;
    }
    if let Err(e) = leases::release(&svc.db, &name, &holder).await {
        tracing::warn!(instance = inst.id, error = %e, "capacity lease release failed (it expires)");
    }
    match out {
        Ok(r) => {
            let inv = &r.inventory;
            RecordOutcome {
                status: status::COMPLETED,
                items_synced: r.saved_count as i32,
                items_created: inv.created as i32,
                items_updated: (inv.refreshed + inv.reactivated) as i32,
                items_deleted: inv.deactivated as i32,
                error_message: None,
                sync_details: Some(json!({
                    "total_size_mb": r.total_size_mb,
                    "database_count": r.database_count,
                    "saved_count": r.saved_count,
                    "message": r.message,
                    "inventory": {"created": inv.created, "refreshed": inv.refreshed,
                        "reactivated": inv.reactivated, "deactivated": inv.deactivated,
                        "active_count": inv.active_databases.len()},
                })),
            }
        }
        Err(e) => {
            tracing::warn!(instance = %inst.name, error = %e, "capacity collection failed");
            crate::fleet::failed(match e {
                CollectError::Collect(detail) => format!("容量采集失败: {detail}"),
                other => other.to_string(),
            })
        }
    }
}
