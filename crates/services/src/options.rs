//! Dropdown options (`api-v1.md` §4.5), the instance export (§4.22) and the cache
//! maintenance endpoints (§4.21) — small reads over instances and their databases.

use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::{db_type, time};
use wf_store::repo::accounts as account_repo;
use wf_store::repo::instances as instance_repo;
use wf_store::repo::tags as tag_repo;

use crate::cache::{account_prefix, instance_prefix};
use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// An instance option.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceOption {
    pub id: i32,
    pub name: String,
    pub db_type: String,
    /// `<name> (<DB_TYPE>)`.
    pub display_name: String,
}

/// `GET /common/instances/options`: active instances by name.
pub async fn instances(
    svc: &Services,
    db_type: Option<&str>,
) -> ServiceResult<Vec<InstanceOption>> {
    Ok(instance_repo::active_options(&svc.db, db_type)
        .await
        .public("加载实例选项失败")?
        .into_iter()
        .map(|i| InstanceOption {
            display_name: format!("{} ({})", i.name, i.db_type.to_uppercase()),
            id: i.id,
            name: i.name,
            db_type: i.db_type,
        })
        .collect())
}

/// An inventory database option.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseOption {
    pub id: i32,
    pub database_name: String,
    pub is_active: bool,
    /// `YYYY-MM-DD`.
    pub first_seen_date: String,
    pub last_seen_date: String,
    /// UTC ISO-8601.
    pub deleted_at: Option<String>,
}

/// `GET /common/databases/options` payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseOptions {
    pub databases: Vec<DatabaseOption>,
    pub total_count: u64,
    pub limit: u64,
    pub offset: u64,
}

/// `GET /common/databases/options`: one instance's inventory databases by name.
pub async fn databases(
    svc: &Services,
    instance_id: i64,
    limit: u64,
    offset: u64,
) -> ServiceResult<DatabaseOptions> {
    const PUB: &str = "获取实例数据库列表失败";
    let found = match i32::try_from(instance_id) {
        Ok(id) => instance_repo::find(&svc.db, id).await.public(PUB)?,
        Err(_) => None,
    };
    let inst = found.ok_or_else(|| ServiceError::not_found("实例不存在"))?;
    let p = account_repo::databases_of(&svc.db, inst.id, limit, offset)
        .await
        .public(PUB)?;
    Ok(DatabaseOptions {
        databases: p
            .rows
            .into_iter()
            .map(|d| DatabaseOption {
                id: d.id,
                database_name: d.database_name,
                is_active: d.is_active,
                first_seen_date: d.first_seen_date.format("%Y-%m-%d").to_string(),
                last_seen_date: d.last_seen_date.format("%Y-%m-%d").to_string(),
                deleted_at: d.deleted_at.as_ref().map(time::iso),
            })
            .collect(),
        total_count: p.total,
        limit,
        offset,
    })
}

/// A database type option.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DbTypeOption {
    pub value: &'static str,
    pub text: &'static str,
    pub icon: &'static str,
    pub color: &'static str,
}

/// `GET /common/database-types/options` (fixed list).
pub fn db_types() -> Vec<DbTypeOption> {
    db_type::SUPPORTED
        .iter()
        .map(|t| DbTypeOption {
            value: t,
            text: db_type::display_name(t),
            icon: db_type::icon(t),
            color: db_type::color(t),
        })
        .collect()
}

/// Header of the instance export (`api-v1.md` §4.22).
pub const EXPORT_HEADER: [&str; 14] = [
    "ID",
    "实例名称",
    "数据库类型",
    "主机地址",
    "端口",
    "数据库名",
    "标签",
    "状态",
    "描述",
    "凭据ID",
    "同步次数",
    "最后连接时间",
    "创建时间",
    "更新时间",
];

/// Rows of the instance export: every instance (inactive and soft-deleted included) by id,
/// optionally filtered; times in Asia/Shanghai.
pub async fn export_rows(
    svc: &Services,
    search: Option<&str>,
    db_type: Option<&str>,
) -> ServiceResult<Vec<Vec<String>>> {
    const PUB: &str = "导出实例失败";
    let rows = instance_repo::all_by_id(&svc.db, search, db_type)
        .await
        .public(PUB)?;
    let tags = tag_repo::of_instances(&svc.db, &rows.iter().map(|i| i.id).collect::<Vec<_>>())
        .await
        .public(PUB)?;
    let disp = |d: Option<&chrono::DateTime<chrono::Utc>>| {
        d.map(|d| time::china_display(Some(d))).unwrap_or_default()
    };
    Ok(rows
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.name.clone(),
                i.db_type.clone(),
                i.host.clone(),
                i.port.to_string(),
                i.database_name.clone().unwrap_or_default(),
                tags.get(&i.id)
                    .map(|ts| {
                        ts.iter()
                            .map(|t| t.display_name.clone())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                if i.is_active { "启用" } else { "停用" }.to_string(),
                i.description.clone().unwrap_or_default(),
                i.credential_id.map(|c| c.to_string()).unwrap_or_default(),
                i.sync_count.to_string(),
                disp(i.last_connected.as_ref()),
                disp(i.created_at.as_ref()),
                disp(i.updated_at.as_ref()),
            ]
        })
        .collect())
}

async fn existing_instance(svc: &Services, id: i64, public: &'static str) -> ServiceResult<i32> {
    let found = match i32::try_from(id) {
        Ok(i) => instance_repo::find(&svc.db, i).await.public(public)?,
        Err(_) => None,
    };
    Ok(found
        .ok_or_else(|| ServiceError::not_found("实例不存在"))?
        .id)
}

/// `POST /cache/clear/user`: the cached data of one account of one instance.
pub async fn clear_account_cache(
    svc: &Services,
    instance_id: i64,
    username: &str,
) -> ServiceResult<()> {
    let id = existing_instance(svc, instance_id, "清除用户缓存失败").await?;
    svc.cache
        .invalidate_prefix(&account_prefix(id, username))
        .await
        .map(|_| ())
        .map_err(|e| {
            wf_domain::AppError::conflict("用户缓存清除失败")
                .with_cause(e)
                .into()
        })
}

/// `POST /cache/clear/instance`: the cached data of one instance.
pub async fn clear_instance_cache(svc: &Services, instance_id: i64) -> ServiceResult<()> {
    let id = existing_instance(svc, instance_id, "清除实例缓存失败").await?;
    svc.cache
        .invalidate_prefix(&instance_prefix(id))
        .await
        .map(|_| ())
        .map_err(|e| {
            wf_domain::AppError::conflict("实例缓存清除失败")
                .with_cause(e)
                .into()
        })
}

/// `POST /cache/clear/all`: the cached data of every active instance; returns how many were
/// cleared (failures are logged and skipped).
pub async fn clear_all_caches(svc: &Services) -> ServiceResult<usize> {
    let ids = instance_repo::active_ids(&svc.db)
        .await
        .public("清除所有缓存失败")?;
    let mut cleared = 0;
    for id in ids {
        match svc.cache.invalidate_prefix(&instance_prefix(id)).await {
            Ok(_) => cleared += 1,
            Err(e) => tracing::warn!(instance = id, error = %e, "cache clear failed"),
        }
    }
    Ok(cleared)
}

/// True when the store answers `SELECT 1`.
pub async fn store_healthy(svc: &Services) -> bool {
    wf_store::ping(&svc.db).await
}
