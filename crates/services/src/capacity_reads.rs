//! Capacity read models (`api-v1.md` §4.12–§4.13, §4.7 #34, §4.22 #133): aggregation lists
//! and summaries, the database ledger, a database's capacity trend and an instance's
//! database sizes. Sizes in MB; dates `YYYY-MM-DD` (China calendar); instants UTC ISO-8601.

use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use wf_domain::capacity::{china_today, size_label, sync_status};
use wf_domain::time;
use wf_store::entity::{database_size_aggregation as dsa, instance_size_aggregation as isa};
use wf_store::repo::capacity_reads::{self as repo, DatabaseAggFilter, InstanceAggFilter};
use wf_store::repo::instances as instance_repo;
use wf_store::repo::tags as tag_repo;

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};
use crate::views::TagBrief;

/// `{id, name, db_type}` of an aggregation's instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceRef {
    pub id: i32,
    pub name: String,
    pub db_type: String,
}

/// Instance aggregation item (`api-v1.md` §4.13). `total_size_mb` is the mean daily total of
/// the period, `avg_size_mb` the mean size per database (`domain.md` §13.3 #24).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceAggregationItem {
    pub id: i64,
    pub instance_id: i32,
    pub period_type: String,
    pub period_start: String,
    pub period_end: String,
    pub total_size_mb: i64,
    pub avg_size_mb: i64,
    pub max_size_mb: i64,
    pub min_size_mb: i64,
    pub data_count: i32,
    pub database_count: i32,
    pub avg_database_count: Option<f64>,
    pub max_database_count: Option<i32>,
    pub min_database_count: Option<i32>,
    pub total_size_change_mb: Option<i64>,
    pub total_size_change_percent: Option<f64>,
    pub database_count_change: Option<i32>,
    pub database_count_change_percent: Option<f64>,
    pub growth_rate: Option<f64>,
    /// `growing`, `shrinking`, `stable`.
    pub trend_direction: Option<String>,
    pub calculated_at: Option<String>,
    pub created_at: Option<String>,
    pub instance: Option<InstanceRef>,
}

/// Aggregation page: `pages` ≥ 1 for instances (and may be 0 for databases when empty).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceAggregationPage {
    pub items: Vec<InstanceAggregationItem>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub limit: u64,
    pub has_prev: bool,
    pub has_next: bool,
}

async fn instance_refs(
    svc: &Services,
    ids: Vec<i32>,
    public: &'static str,
) -> ServiceResult<HashMap<i32, InstanceRef>> {
    Ok(instance_repo::find_many(&svc.db, ids)
        .await
        .public(public)?
        .into_iter()
        .map(|i| {
            (
                i.id,
                InstanceRef {
                    id: i.id,
                    name: i.name,
                    db_type: i.db_type,
                },
            )
        })
        .collect())
}

fn instance_item(a: isa::Model, refs: &HashMap<i32, InstanceRef>) -> InstanceAggregationItem {
    InstanceAggregationItem {
        instance: refs.get(&a.instance_id).cloned(),
        id: a.id,
        instance_id: a.instance_id,
        period_type: a.period_type,
        period_start: a.period_start.to_string(),
        period_end: a.period_end.to_string(),
        total_size_mb: a.total_size_mb,
        avg_size_mb: a.avg_size_mb,
        max_size_mb: a.max_size_mb,
        min_size_mb: a.min_size_mb,
        data_count: a.data_count,
        database_count: a.database_count,
        avg_database_count: a.avg_database_count,
        max_database_count: a.max_database_count,
        min_database_count: a.min_database_count,
        total_size_change_mb: a.total_size_change_mb,
        total_size_change_percent: a.total_size_change_percent,
        database_count_change: a.database_count_change,
        database_count_change_percent: a.database_count_change_percent,
        growth_rate: a.growth_rate,
        trend_direction: a.trend_direction,
        calculated_at: Some(time::iso(&a.calculated_at)),
        created_at: Some(time::iso(&a.created_at)),
    }
}

/// `GET /capacity/instances`: newest periods first, paged in SQL (the filter's total is
/// cached like the other lists), or the top-100 mode with `get_all`.
pub async fn instance_aggregations(
    svc: &Services,
    f: &InstanceAggFilter,
    page: u64,
    limit: u64,
    get_all: bool,
) -> ServiceResult<InstanceAggregationPage> {
    const PUB: &str = "获取实例聚合数据失败";
    let (rows, total) = if get_all {
        let rows = repo::instance_agg_top(&svc.db, f).await.public(PUB)?;
        let n = rows.len() as u64;
        (rows, n)
    } else {
        let total = svc
            .cached_total(
                crate::context::Area::Capacity,
                repo::instance_agg_count_key(&svc.db, f),
                repo::instance_agg_count(&svc.db, f),
            )
            .await
            .public(PUB)?;
        let rows = match (page - 1).checked_mul(limit).filter(|o| *o < total) {
            Some(offset) => repo::instance_agg_page(&svc.db, f, offset, limit)
                .await
                .public(PUB)?,
            None => Vec::new(),
        };
        (rows, total)
    };
    let mut ids: Vec<i32> = rows.iter().map(|r| r.instance_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let refs = instance_refs(svc, ids, PUB).await?;
    let pages = crate::views::pages(total, limit).max(1);
    Ok(InstanceAggregationPage {
        items: rows.into_iter().map(|r| instance_item(r, &refs)).collect(),
        total,
        page,
        pages,
        limit,
        has_prev: page > 1,
        has_next: page < pages,
    })
}

/// `GET /capacity/instances/summary` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceSummaryView {
    pub total_instances: i64,
    pub total_size_mb: i64,
    pub avg_size_mb: f64,
    pub max_size_mb: i64,
    /// Echo of the query's `period_type`, or `all`.
    pub period_type: String,
    /// Always `instance_size_stats`.
    pub source: String,
}

/// Instance capacity summary from the most recent stat of each instance in range.
pub async fn instance_summary(
    svc: &Services,
    f: &InstanceAggFilter,
) -> ServiceResult<InstanceSummaryView> {
    let s =
        repo::instance_size_summary(&svc.db, f.instance_id, f.db_type.as_deref(), f.start, f.end)
            .await
            .public("获取实例聚合汇总失败")?;
    Ok(InstanceSummaryView {
        total_instances: s.total_instances,
        total_size_mb: s.total_size_mb.unwrap_or(0),
        avg_size_mb: (s.avg_size_mb.unwrap_or(0.0) * 100.0).round() / 100.0,
        max_size_mb: s.max_size_mb.unwrap_or(0),
        period_type: f.period_type.clone().unwrap_or_else(|| "all".into()),
        source: "instance_size_stats".into(),
    })
}

/// Database aggregation item (`api-v1.md` §4.13).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseAggregationItem {
    pub id: i64,
    pub instance_id: i32,
    pub database_name: String,
    pub period_type: String,
    pub period_start: String,
    pub period_end: String,
    pub avg_size_mb: i64,
    pub max_size_mb: i64,
    pub min_size_mb: i64,
    pub data_count: i32,
    pub avg_data_size_mb: Option<i64>,
    pub max_data_size_mb: Option<i64>,
    pub min_data_size_mb: Option<i64>,
    pub avg_log_size_mb: Option<i64>,
    pub max_log_size_mb: Option<i64>,
    pub min_log_size_mb: Option<i64>,
    pub size_change_mb: i64,
    pub size_change_percent: f64,
    pub data_size_change_mb: Option<i64>,
    pub log_size_change_mb: Option<i64>,
    pub data_size_change_percent: Option<f64>,
    pub log_size_change_percent: Option<f64>,
    pub growth_rate: f64,
    pub calculated_at: Option<String>,
    pub created_at: Option<String>,
    pub instance: Option<InstanceRef>,
}

fn database_item(a: dsa::Model, refs: &HashMap<i32, InstanceRef>) -> DatabaseAggregationItem {
    DatabaseAggregationItem {
        instance: refs.get(&a.instance_id).cloned(),
        id: a.id,
        instance_id: a.instance_id,
        database_name: a.database_name,
        period_type: a.period_type,
        period_start: a.period_start.to_string(),
        period_end: a.period_end.to_string(),
        avg_size_mb: a.avg_size_mb,
        max_size_mb: a.max_size_mb,
        min_size_mb: a.min_size_mb,
        data_count: a.data_count,
        avg_data_size_mb: a.avg_data_size_mb,
        max_data_size_mb: a.max_data_size_mb,
        min_data_size_mb: a.min_data_size_mb,
        avg_log_size_mb: a.avg_log_size_mb,
        max_log_size_mb: a.max_log_size_mb,
        min_log_size_mb: a.min_log_size_mb,
        size_change_mb: a.size_change_mb.unwrap_or(0),
        size_change_percent: a.size_change_percent.unwrap_or(0.0),
        data_size_change_mb: a.data_size_change_mb,
        log_size_change_mb: a.log_size_change_mb,
        data_size_change_percent: a.data_size_change_percent,
        log_size_change_percent: a.log_size_change_percent,
        growth_rate: a.growth_rate.unwrap_or(0.0),
        calculated_at: Some(time::iso(&a.calculated_at)),
        created_at: Some(time::iso(&a.created_at)),
    }
}

/// Database aggregation page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseAggregationPage {
    pub items: Vec<DatabaseAggregationItem>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub limit: u64,
    pub has_prev: bool,
    pub has_next: bool,
}

/// `GET /capacity/databases` (`database_id` is resolved to its name by the caller).
pub async fn database_aggregations(
    svc: &Services,
    f: &DatabaseAggFilter,
    page: u64,
    limit: u64,
    get_all: bool,
) -> ServiceResult<DatabaseAggregationPage> {
    const PUB: &str = "获取数据库统计聚合数据失败";
    if get_all {
        let rows = repo::database_agg_top(&svc.db, f).await.public(PUB)?;
        let refs = instance_refs(svc, rows.iter().map(|r| r.instance_id).collect(), PUB).await?;
        let n = rows.len() as u64;
        return Ok(DatabaseAggregationPage {
            items: rows.into_iter().map(|r| database_item(r, &refs)).collect(),
            total: n,
            page: 1,
            pages: 1,
            limit: n,
            has_prev: false,
            has_next: false,
        });
    }
    let p = repo::database_agg_page(&svc.db, f, page, limit)
        .await
        .public(PUB)?;
    let refs = instance_refs(svc, p.rows.iter().map(|r| r.instance_id).collect(), PUB).await?;
    let pages = crate::views::pages(p.total, limit);
    let pages = if p.total == 0 { 0 } else { pages };
    Ok(DatabaseAggregationPage {
        items: p
            .rows
            .into_iter()
            .map(|r| database_item(r, &refs))
            .collect(),
        total: p.total,
        page,
        pages,
        limit,
        has_prev: page > 1,
        has_next: page < pages,
    })
}

/// Resolve an inventory database id to its name (`database_id` filter).
pub async fn database_name_of(svc: &Services, id: i32) -> ServiceResult<Option<String>> {
    Ok(repo::inventory_database(&svc.db, id)
        .await
        .public("获取数据库统计聚合数据失败")?
        .map(|d| d.database_name))
}

/// `GET /capacity/databases/summary` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseSummaryView {
    pub total_databases: i64,
    pub total_instances: i64,
    pub total_size_mb: i64,
    pub avg_size_mb: f64,
    pub max_size_mb: i64,
    /// Always 0.0.
    pub growth_rate: f64,
}

/// Database capacity summary over the latest row of each (instance, database, period type).
pub async fn database_summary(
    svc: &Services,
    f: &DatabaseAggFilter,
) -> ServiceResult<DatabaseSummaryView> {
    let s = repo::database_agg_summary(&svc.db, f)
        .await
        .public("获取数据库统计聚合汇总信息失败")?;
    let total = s.total_size_mb.unwrap_or(0);
    Ok(DatabaseSummaryView {
        total_databases: s.total_databases,
        total_instances: s.total_instances,
        total_size_mb: total,
        avg_size_mb: if s.total_databases > 0 {
            (total as f64 / s.total_databases as f64 * 100.0).round() / 100.0
        } else {
            0.0
        },
        max_size_mb: s.max_size_mb.unwrap_or(0),
        growth_rate: 0.0,
    })
}

/// `{id, name, host, db_type}` of a ledger row's instance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerInstance {
    pub id: i32,
    pub name: String,
    pub host: String,
    pub db_type: String,
}

/// The latest size of a database.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapacityView {
    pub size_mb: Option<i64>,
    /// `size_mb × 1048576`.
    pub size_bytes: Option<i64>,
    /// `"<x.xx> GB"`, `"<n> MB"` or `未采集`.
    pub label: String,
    pub collected_at: Option<String>,
}

/// `{value, label, variant}` (`api-v1.md` §3.11).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncStatusView {
    pub value: String,
    pub label: String,
    pub variant: String,
}

/// One database-ledger row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseLedgerItem {
    pub id: i32,
    pub database_name: String,
    pub db_type: String,
    pub instance: LedgerInstance,
    pub capacity: CapacityView,
    pub sync_status: SyncStatusView,
    pub tags: Vec<TagBrief>,
}

/// `GET /databases/ledgers` data (`per_page`, no `pages`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseLedgerPage {
    pub items: Vec<DatabaseLedgerItem>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

async fn ledger_items(
    svc: &Services,
    rows: Vec<repo::LedgerRow>,
    public: &'static str,
) -> ServiceResult<Vec<DatabaseLedgerItem>> {
    let pairs: Vec<(i32, String)> = rows
        .iter()
        .map(|r| (r.instance_id, r.database_name.clone()))
        .collect();
    let mut sizes = repo::latest_sizes(&svc.db, &pairs).await.public(public)?;
    let mut ids: Vec<i32> = rows.iter().map(|r| r.instance_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let tags = tag_repo::of_instances(&svc.db, &ids).await.public(public)?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|r| {
            let latest = sizes.remove(&(r.instance_id, r.database_name.clone()));
            let size = latest.as_ref().map(|s| s.size_mb);
            let (value, label, variant) = sync_status(latest.as_ref().map(|s| s.collected_at), now);
            DatabaseLedgerItem {
                id: r.id,
                db_type: r.db_type.clone(),
                instance: LedgerInstance {
                    id: r.instance_id,
                    name: r.instance_name,
                    host: r.host,
                    db_type: r.db_type,
                },
                capacity: CapacityView {
                    size_mb: size,
                    size_bytes: size.map(|s| s * 1_048_576),
                    label: size_label(size),
                    collected_at: latest.as_ref().map(|s| time::iso(&s.collected_at)),
                },
                sync_status: SyncStatusView {
                    value: value.into(),
                    label: label.into(),
                    variant: variant.into(),
                },
                tags: tags
                    .get(&r.instance_id)
                    .map(|ts| ts.iter().map(TagBrief::from).collect())
                    .unwrap_or_default(),
                database_name: r.database_name,
            }
        })
        .collect())
}

/// `GET /databases/ledgers`: active inventory databases of active instances, by instance
/// name then database name, with their latest size and collection status.
pub async fn database_ledger(
    svc: &Services,
    f: &repo::LedgerFilter,
    page: u64,
    per_page: u64,
) -> ServiceResult<DatabaseLedgerPage> {
    const PUB: &str = "获取数据库台账失败";
    let p = repo::ledger_page(&svc.db, f, page, per_page)
        .await
        .public(PUB)?;
    Ok(DatabaseLedgerPage {
        items: ledger_items(svc, p.rows, PUB).await?,
        total: p.total,
        page,
        per_page,
    })
}

/// Header of the database-ledger export (`api-v1.md` §4.22).
pub const LEDGER_EXPORT_HEADER: [&str; 8] = [
    "数据库名称",
    "实例名称",
    "主机",
    "数据库类型",
    "标签",
    "最新容量",
    "最后采集时间",
    "同步状态",
];

/// `GET /files/database-ledger-export` rows (missing values as `-`).
pub async fn ledger_export_rows(
    svc: &Services,
    f: &repo::LedgerFilter,
) -> ServiceResult<Vec<Vec<String>>> {
    const PUB: &str = "导出数据库台账失败";
    let rows = repo::ledger_all(&svc.db, f).await.public(PUB)?;
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        for item in ledger_items(svc, chunk.to_vec(), PUB).await? {
            let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
            let tags: Vec<String> = item.tags.iter().map(|t| t.display_name.clone()).collect();
            out.push(vec![
                dash(item.database_name),
                dash(item.instance.name),
                dash(item.instance.host),
                dash(item.db_type),
                dash(tags.join(", ")),
                item.capacity.label,
                item.capacity.collected_at.unwrap_or_else(|| "无".into()),
                item.sync_status.label,
            ]);
        }
    }
    Ok(out)
}

/// `{id, name, instance_id, instance_name, db_type}` of the trend's database.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendDatabase {
    pub id: i32,
    pub name: String,
    pub instance_id: i32,
    pub instance_name: String,
    pub db_type: String,
}

/// One trend point.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendPoint {
    pub collected_at: String,
    pub collected_date: String,
    pub size_mb: Option<i64>,
    pub size_bytes: Option<i64>,
    pub label: String,
}

/// `GET /databases/ledgers/{id}/capacity-trend` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapacityTrend {
    pub database: TrendDatabase,
    pub points: Vec<TrendPoint>,
}

/// The size stats of one inventory database over the last `days` days (1–90) up to today
/// (China date; the original used the UTC date here). Inactive databases and deleted
/// instances are still served.
pub async fn capacity_trend(
    svc: &Services,
    id: Option<i32>,
    days: i64,
) -> ServiceResult<CapacityTrend> {
    const PUB: &str = "获取容量走势失败";
    let d = match id {
        Some(id) => repo::inventory_database(&svc.db, id).await.public(PUB)?,
        None => None,
    }
    .ok_or_else(|| ServiceError::not_found("数据库不存在或已删除"))?;
    let inst = instance_repo::find(&svc.db, d.instance_id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::not_found("数据库所属实例不存在"))?;
    let since: NaiveDate = china_today(Utc::now()) - Duration::days(days.clamp(1, 90) - 1);
    let rows = repo::size_history(&svc.db, d.instance_id, &d.database_name, since)
        .await
        .public(PUB)?;
    Ok(CapacityTrend {
        database: TrendDatabase {
            id: d.id,
            name: d.database_name,
            instance_id: inst.id,
            instance_name: inst.name,
            db_type: inst.db_type,
        },
        points: rows
            .into_iter()
            .map(|s| TrendPoint {
                collected_at: time::iso(&s.collected_at),
                collected_date: s.collected_date.to_string(),
                size_mb: Some(s.size_mb),
                size_bytes: Some(s.size_mb * 1_048_576),
                label: size_label(Some(s.size_mb)),
            })
            .collect(),
    })
}

/// One entry of `/instances/{id}/databases/sizes`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseSizeEntry {
    /// Null for an inventory placeholder without stats.
    pub id: Option<i64>,
    pub database_name: String,
    pub size_mb: Option<i64>,
    pub data_size_mb: Option<i64>,
    pub log_size_mb: Option<i64>,
    pub collected_date: Option<String>,
    pub collected_at: Option<String>,
    pub is_active: bool,
    pub deleted_at: Option<String>,
    pub last_seen_date: Option<String>,
}

/// `/instances/{id}/databases/sizes` data; the latest-mode counters only with `latest_only`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatabaseSizes {
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
    pub databases: Vec<DatabaseSizeEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_size_mb: Option<f64>,
}

/// A request for an instance's database sizes.
#[derive(Debug, Clone, Default)]
pub struct SizesQuery {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub name: Option<String>,
    pub latest_only: bool,
    pub include_inactive: bool,
    pub limit: u64,
    pub offset: u64,
}

/// `GET /instances/{id}/databases/sizes`: history rows (newest first) or the latest size of
/// every database (largest first) with inventory flags; the instance must exist and not be
/// soft-deleted.
pub async fn instance_database_sizes(
    svc: &Services,
    instance_id: Option<i32>,
    q: &SizesQuery,
) -> ServiceResult<DatabaseSizes> {
    const PUB: &str = "获取数据库大小历史数据失败";
    let inst = match instance_id {
        Some(id) => instance_repo::find(&svc.db, id).await.public(PUB)?,
        None => None,
    }
    .filter(|i| i.deleted_at.is_none())
    .ok_or_else(ServiceError::framework_not_found)?;
    let inventory: HashMap<String, wf_store::entity::instance_database::Model> =
        repo::inventory_of(&svc.db, inst.id)
            .await
            .public(PUB)?
            .into_iter()
            .map(|d| (d.database_name.to_lowercase(), d))
            .collect();
    let filter = repo::SizeRowsFilter {
        start: q.start,
        end: q.end,
        name: q.name.clone(),
        active_only: !q.include_inactive,
    };
    let entry = |s: wf_store::entity::database_size_stat::Model| {
        let inv = inventory.get(&s.database_name.to_lowercase());
        DatabaseSizeEntry {
            id: Some(s.id),
            size_mb: Some(s.size_mb),
            data_size_mb: s.data_size_mb,
            log_size_mb: s.log_size_mb,
            collected_date: Some(s.collected_date.to_string()),
            collected_at: Some(time::iso(&s.collected_at)),
            is_active: inv.is_none_or(|d| d.is_active),
            deleted_at: inv.and_then(|d| d.deleted_at.as_ref().map(time::iso)),
            last_seen_date: inv.map(|d| d.last_seen_date.to_string()),
            database_name: s.database_name,
        }
    };
    if !q.latest_only {
        let p = repo::instance_size_page(&svc.db, inst.id, &filter, q.offset, q.limit)
            .await
            .public(PUB)?;
        return Ok(DatabaseSizes {
            total: p.total,
            limit: q.limit,
            offset: q.offset,
            databases: p.rows.into_iter().map(entry).collect(),
            active_count: None,
            filtered_count: None,
            total_size_mb: None,
        });
    }
    // one row per name (case-insensitive), the most recent by date then time
    let mut latest: HashMap<String, wf_store::entity::database_size_stat::Model> = HashMap::new();
    for s in repo::instance_latest_sizes(&svc.db, inst.id, &filter)
        .await
        .public(PUB)?
    {
        let k = s.database_name.to_lowercase();
        let newer = latest.get(&k).is_none_or(|o| {
            (s.collected_date, s.collected_at) > (o.collected_date, o.collected_at)
        });
        if newer {
            latest.insert(k, s);
        }
    }
    let mut entries: Vec<DatabaseSizeEntry> = latest.into_values().map(entry).collect();
    if q.include_inactive || entries.is_empty() {
        let known: std::collections::HashSet<String> = entries
            .iter()
            .map(|e| e.database_name.to_lowercase())
            .collect();
        for d in inventory.values() {
            let name_ok = q
                .name
                .as_ref()
                .is_none_or(|n| d.database_name.to_lowercase().contains(&n.to_lowercase()));
            if !d.is_active && name_ok && !known.contains(&d.database_name.to_lowercase()) {
                entries.push(DatabaseSizeEntry {
                    id: None,
                    database_name: d.database_name.clone(),
                    size_mb: Some(0),
                    data_size_mb: None,
                    log_size_mb: None,
                    collected_date: None,
                    collected_at: None,
                    is_active: false,
                    deleted_at: d.deleted_at.as_ref().map(time::iso),
                    last_seen_date: Some(d.last_seen_date.to_string()),
                });
            }
        }
    }
    entries.sort_by(|a, b| {
        b.size_mb
            .unwrap_or(0)
            .cmp(&a.size_mb.unwrap_or(0))
            .then_with(|| a.database_name.cmp(&b.database_name))
    });
    let active_count = entries.iter().filter(|e| e.is_active).count() as u64;
    let total_size: i64 = entries
        .iter()
        .filter(|e| e.is_active)
        .map(|e| e.size_mb.unwrap_or(0))
        .sum();
    let total = entries.len() as u64;
    let page: Vec<DatabaseSizeEntry> = entries
        .into_iter()
        .skip(q.offset as usize)
        .take(q.limit as usize)
        .collect();
    Ok(DatabaseSizes {
        total,
        limit: q.limit,
        offset: q.offset,
        databases: page,
        active_count: Some(active_count),
        filtered_count: Some(total - active_count),
        total_size_mb: Some(total_size as f64),
    })
}
