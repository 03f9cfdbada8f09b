//! Account statistics (`api-v1.md` §4.10 #49–#52): account counters over active, not deleted
//! instances (active = inventory row present, locked among active, normal = active − locked,
//! deleted = total − active), the instance counters with the contract's semantics, and the
//! per-engine and per-classification breakdowns.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wf_store::repo::account_stats::{self as repo, AccountCounts, InstanceCounts};

use crate::context::Services;
use crate::error::{Public, ServiceResult};

/// Counters of `/accounts/statistics/summary` (and the head of `/accounts/statistics`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AccountSummary {
    pub total_accounts: i64,
    pub active_accounts: i64,
    pub locked_accounts: i64,
    pub normal_accounts: i64,
    pub deleted_accounts: i64,
    /// Active, not deleted instances (the contract's `total_instances` = `active_instances`).
    pub total_instances: i64,
    pub active_instances: i64,
    /// Not deleted and inactive.
    pub disabled_instances: i64,
    /// `active − disabled`, floored at 0.
    pub normal_instances: i64,
    /// Soft-deleted.
    pub deleted_instances: i64,
}

fn summary(a: Option<&AccountCounts>, i: &InstanceCounts) -> AccountSummary {
    let total = a.map(|a| a.total).unwrap_or(0);
    let active = a.and_then(|a| a.active).unwrap_or(0);
    let locked = a.and_then(|a| a.locked).unwrap_or(0);
    let (ia, id) = (i.active.unwrap_or(0), i.disabled.unwrap_or(0));
    AccountSummary {
        total_accounts: total,
        active_accounts: active,
        locked_accounts: locked,
        normal_accounts: active - locked,
        deleted_accounts: total - active,
        total_instances: ia,
        active_instances: ia,
        disabled_instances: id,
        normal_instances: (ia - id).max(0),
        deleted_instances: i.deleted.unwrap_or(0),
    }
}

/// `GET /accounts/statistics/summary`, optionally for one instance and/or engine.
pub async fn summary_of(
    svc: &Services,
    instance_id: Option<i32>,
    db_type: Option<&str>,
) -> ServiceResult<AccountSummary> {
    const PUB: &str = "获取账户统计汇总失败";
    let a = repo::accounts(&svc.db, instance_id, db_type, false)
        .await
        .public(PUB)?;
    let i = repo::instances(&svc.db, instance_id, db_type)
        .await
        .public(PUB)?;
    Ok(summary(a.first(), &i))
}

/// Account counters of one engine.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct EngineCounts {
    pub total: i64,
    pub active: i64,
    pub normal: i64,
    pub locked: i64,
    pub deleted: i64,
}

/// Account counters per engine (every engine present).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DbTypeStats {
    pub mysql: EngineCounts,
    pub postgresql: EngineCounts,
    pub oracle: EngineCounts,
    pub sqlserver: EngineCounts,
}

/// `GET /accounts/statistics/db-types`.
pub async fn db_types(svc: &Services, public: &'static str) -> ServiceResult<DbTypeStats> {
    let rows = repo::accounts(&svc.db, None, None, true)
        .await
        .public(public)?;
    let of = |t: &str| {
        let r = rows.iter().find(|r| r.db_type == t);
        let total = r.map(|r| r.total).unwrap_or(0);
        let active = r.and_then(|r| r.active).unwrap_or(0);
        let locked = r.and_then(|r| r.locked).unwrap_or(0);
        EngineCounts {
            total,
            active,
            normal: active - locked,
            locked,
            deleted: total - active,
        }
    };
    Ok(DbTypeStats {
        mysql: of("mysql"),
        postgresql: of("postgresql"),
        oracle: of("oracle"),
        sqlserver: of("sqlserver"),
    })
}

/// Accounts of one classification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationCount {
    pub account_count: i64,
    /// Colour key.
    pub color: String,
    pub display_name: String,
}

/// `{<classification name>: {account_count, color, display_name}}` of the active ones.
pub async fn classifications(
    svc: &Services,
    public: &'static str,
) -> ServiceResult<BTreeMap<String, ClassificationCount>> {
    Ok(repo::classifications(&svc.db)
        .await
        .public(public)?
        .into_iter()
        .map(|c| {
            let v = ClassificationCount {
                account_count: c.account_count,
                color: c.color.unwrap_or_else(|| "info".into()),
                display_name: c.name.clone(),
            };
            (c.name, v)
        })
        .collect())
}

/// `GET /accounts/statistics` `data.stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountStatistics {
    #[serde(flatten)]
    pub summary: AccountSummary,
    /// Same as `total_instances`.
    pub database_instances: i64,
    pub db_type_stats: DbTypeStats,
    /// `{<classification name>: {account_count, color, display_name}}`.
    pub classification_stats: BTreeMap<String, ClassificationCount>,
}

/// `GET /accounts/statistics`.
pub async fn statistics(svc: &Services) -> ServiceResult<AccountStatistics> {
    const PUB: &str = "获取账户统计信息失败";
    let summary = {
        let a = repo::accounts(&svc.db, None, None, false)
            .await
            .public(PUB)?;
        let i = repo::instances(&svc.db, None, None).await.public(PUB)?;
        summary(a.first(), &i)
    };
    Ok(AccountStatistics {
        database_instances: summary.total_instances,
        db_type_stats: db_types(svc, PUB).await?,
        classification_stats: classifications(svc, PUB).await?,
        summary,
    })
}
