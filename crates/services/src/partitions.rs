//! Partition management (`domain.md` §6, `api-v1.md` §4.14 #80–#86): status, list,
//! statistics, create, cleanup and the core-metrics chart. Months are China-time calendar
//! months (the original mixed in UTC, §13.4 #31); cleanup keeps at least the current month.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::capacity::{PeriodType, china_today, month_start};
use wf_store::partitions::{self as store, PartitionRow};

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// `(table, table_type, display name)` of the managed tables.
const TABLE_INFO: [(&str, &str, &str); 4] = [
    ("database_size_stats", "stats", "数据库统计表"),
    ("database_size_aggregations", "aggregations", "数据库聚合表"),
    ("instance_size_stats", "instance_stats", "实例统计表"),
    (
        "instance_size_aggregations",
        "instance_aggregations",
        "实例聚合表",
    ),
];

fn info_of(table: &str) -> (&'static str, &'static str) {
    TABLE_INFO
        .iter()
        .find(|(t, _, _)| *t == table)
        .map(|(_, k, d)| (*k, *d))
        .unwrap_or(("unknown", ""))
}

/// Human-readable size: `N B`, `x.x KB`, `x.x MB`, `x.x GB`.
pub fn human_size(bytes: i64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} GB", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// One partition entry (`api-v1.md` §4.14).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartitionEntry {
    pub name: String,
    pub table: String,
    /// `stats`, `aggregations`, `instance_stats`, `instance_aggregations`.
    pub table_type: String,
    pub display_name: String,
    pub size: String,
    pub size_bytes: i64,
    /// Planner estimate on PostgreSQL, exact on SQLite.
    pub record_count: i64,
    /// `YYYY/MM/DD` (first day of the month) or empty.
    pub date: String,
    /// `current`, `past`, `future`, `unknown` (China month).
    pub status: String,
}

fn entry(p: PartitionRow, this_month: NaiveDate) -> PartitionEntry {
    let (table_type, display) = info_of(p.table);
    PartitionEntry {
        name: p.name,
        table: p.table.to_string(),
        table_type: table_type.into(),
        display_name: display.into(),
        size: human_size(p.size_bytes),
        size_bytes: p.size_bytes,
        record_count: p.record_count,
        date: p
            .month
            .map(|m| m.format("%Y/%m/%d").to_string())
            .unwrap_or_default(),
        status: match p.month {
            None => "unknown",
            Some(m) if m == this_month => "current",
            Some(m) if m < this_month => "past",
            Some(_) => "future",
        }
        .into(),
    }
}

/// Every partition with its totals and the health of the stats table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartitionInfo {
    pub partitions: Vec<PartitionEntry>,
    pub total_partitions: u64,
    pub total_size_bytes: i64,
    pub total_size: String,
    pub total_records: i64,
    pub tables: Vec<String>,
    /// `healthy` or `warning`.
    pub status: String,
    pub missing_partitions: Vec<String>,
}

/// Read every partition (`public` is the endpoint's error text).
pub async fn info(svc: &Services, public: &'static str) -> ServiceResult<PartitionInfo> {
    let today = china_today(Utc::now());
    let this_month = month_start(today, 0);
    let rows = store::list(&svc.db, today).await.public(public)?;
    let names: std::collections::HashSet<String> = rows.iter().map(|r| r.name.clone()).collect();
    let missing_partitions: Vec<String> = (0..=2)
        .map(|o| store::partition_name("database_size_stats", month_start(today, o)))
        .filter(|n| !names.contains(n))
        .collect();
    let partitions: Vec<PartitionEntry> = rows.into_iter().map(|r| entry(r, this_month)).collect();
    let total_size_bytes: i64 = partitions.iter().map(|p| p.size_bytes).sum();
    Ok(PartitionInfo {
        total_partitions: partitions.len() as u64,
        total_size: human_size(total_size_bytes),
        total_size_bytes,
        total_records: partitions.iter().map(|p| p.record_count).sum(),
        tables: TABLE_INFO.iter().map(|(_, k, _)| k.to_string()).collect(),
        status: if missing_partitions.is_empty() {
            "healthy"
        } else {
            "warning"
        }
        .into(),
        missing_partitions,
        partitions,
    })
}

/// Filters and sort of the partition list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<String>,
    pub table_type: Option<String>,
    pub status: Option<String>,
    /// `name`, `table_type`, `size`/`size_bytes`, `record_count`, `status`, `date` (default).
    pub sort: String,
    pub desc: bool,
    pub page: u64,
    pub limit: u64,
}

crate::page_type!(
    /// `GET /partition/partitions` page (`pages` ≥ 1, `page` clamped into it).
    PartitionPage,
    PartitionEntry
);

/// `GET /partition/partitions`: filtered and sorted in memory (a few dozen rows).
pub async fn list(svc: &Services, q: &ListQuery) -> ServiceResult<PartitionPage> {
    let mut items = info(svc, "获取分区列表失败").await?.partitions;
    let lower = |s: &str| s.to_lowercase();
    if let Some(s) = &q.search {
        let s = lower(s);
        items.retain(|p| lower(&p.name).contains(&s) || lower(&p.display_name).contains(&s));
    }
    if let Some(t) = &q.table_type {
        items.retain(|p| p.table_type.eq_ignore_ascii_case(t));
    }
    if let Some(st) = &q.status {
        items.retain(|p| p.status.eq_ignore_ascii_case(st));
    }
    items.sort_by(|a, b| {
        let o = match q.sort.as_str() {
            "name" => a.name.cmp(&b.name),
            "table_type" => a.table_type.cmp(&b.table_type),
            "size" | "size_bytes" => a.size_bytes.cmp(&b.size_bytes),
            "record_count" => a.record_count.cmp(&b.record_count),
            "status" => a.status.cmp(&b.status),
            _ => a.date.cmp(&b.date),
        };
        o.then_with(|| a.name.cmp(&b.name))
    });
    if q.desc {
        items.reverse();
    }
    let total = items.len() as u64;
    let pages = crate::views::pages(total, q.limit).max(1);
    let page = q.page.clamp(1, pages);
    let items: Vec<PartitionEntry> = items
        .into_iter()
        .skip(((page - 1) * q.limit) as usize)
        .take(q.limit as usize)
        .collect();
    let mut p = PartitionPage::new(items, total, page, q.limit);
    p.pages = pages;
    Ok(p)
}

/// One action of a create/cleanup.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartitionAction {
    pub table: String,
    pub table_name: String,
    pub partition_name: String,
    pub display_name: String,
    /// `created`, `exists` or `dropped`.
    pub status: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// `{start, end}` of a month (`end` = first day of the next month).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartitionWindow {
    pub start: String,
    pub end: String,
}

/// Result of `POST /partition/create`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreateResult {
    pub partition_window: PartitionWindow,
    pub actions: Vec<PartitionAction>,
}

fn action(table: &str, name: String, status: &str) -> PartitionAction {
    let (kind, display) = info_of(table);
    PartitionAction {
        table: kind.into(),
        table_name: table.into(),
        partition_name: name,
        display_name: display.into(),
        status: status.into(),
        details: serde_json::json!({}),
    }
}

/// Create the partitions of the month of `date` (not before the current China month: 400
/// `只能创建当前或未来月份的分区`); existing ones are reported `exists`. All four in one
/// transaction (a failure rolls back: 500 `部分分区创建失败`).
pub async fn create(svc: &Services, date: NaiveDate) -> ServiceResult<CreateResult> {
    let today = china_today(Utc::now());
    if date < month_start(today, 0) {
        return Err(ServiceError::validation("只能创建当前或未来月份的分区"));
    }
    let txn = crate::begin(svc, "创建分区失败").await?;
    let done = store::create_month(&txn, date).await.map_err(|e| {
        ServiceError::Rejected(wf_domain::AppError::database("部分分区创建失败").with_cause(e))
    })?;
    txn.commit().await.public("创建分区失败")?;
    let m = month_start(date, 0);
    Ok(CreateResult {
        partition_window: PartitionWindow {
            start: m.to_string(),
            end: month_start(m, 1).to_string(),
        },
        actions: done
            .into_iter()
            .map(|(t, n, created)| action(t, n, if created { "created" } else { "exists" }))
            .collect(),
    })
}

/// Result of `POST /partition/cleanup`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CleanupResult {
    pub cutoff_date: String,
    pub dropped: Vec<PartitionAction>,
}

/// Drop the months before the first day of (current China month − `retention_months`
/// calendar months). `retention_months` must be ≥ 1, so the current and future months are
/// never dropped (the original accepted 0 and negatives, §13.4 #33).
pub async fn cleanup(svc: &Services, retention_months: i64) -> ServiceResult<CleanupResult> {
    if !(1..=1200).contains(&retention_months) {
        return Err(ServiceError::validation(
            "retention_months 必须为不小于 1 的整数",
        ));
    }
    let today = china_today(Utc::now());
    let cutoff = month_start(today, -(retention_months as i32));
    let dropped = store::drop_before(&svc.db, cutoff, today)
        .await
        .map_err(|e| {
            ServiceError::Rejected(
                wf_domain::AppError::database("部分旧分区清理失败").with_cause(e),
            )
        })?;
    svc.changed(crate::context::Change::Capacity).await;
    Ok(CleanupResult {
        cutoff_date: cutoff.to_string(),
        dropped: dropped
            .into_iter()
            .map(|(t, n)| action(t, n, "dropped"))
            .collect(),
    })
}

/// One chart series (Chart.js shape; camelCase keys preserved).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    pub label: String,
    pub data: Vec<f64>,
    pub border_color: String,
    pub background_color: String,
    pub border_width: i32,
    pub point_style: String,
    pub tension: f64,
    pub fill: bool,
}

/// `GET /partition/aggregations/core-metrics` data (camelCase keys).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoreMetrics {
    pub labels: Vec<String>,
    pub datasets: Vec<Dataset>,
    pub data_point_count: u64,
    pub time_range: String,
    pub y_axis_label: String,
    pub chart_title: String,
    pub period_type: String,
}

/// The core-metrics chart (`domain.md` §6.6): per bucket, collected stats (daily average for
/// weekly/monthly/quarterly buckets, 1 decimal) and aggregation rows of the period type.
pub async fn core_metrics(
    svc: &Services,
    kind: PeriodType,
    days: i64,
) -> ServiceResult<CoreMetrics> {
    const PUB: &str = "获取核心聚合指标失败";
    let n = days.clamp(1, 3660) as i32;
    let today = china_today(Utc::now());
    let bucket_of = |d: NaiveDate| wf_domain::capacity::Period::containing(kind, d).start;
    let step = |d: NaiveDate, k: i32| -> NaiveDate {
        match kind {
            PeriodType::Daily => d + chrono::Duration::days(k as i64),
            PeriodType::Weekly => d + chrono::Duration::weeks(k as i64),
            PeriodType::Monthly => month_start(d, k),
            PeriodType::Quarterly => month_start(d, 3 * k),
        }
    };
    let last = bucket_of(today);
    let first = step(last, -(n - 1));
    let stats_end = wf_domain::capacity::Period::containing(kind, today).end;
    let counts = wf_store::repo::capacity::daily_counts(&svc.db, first, stats_end, kind.as_str())
        .await
        .public(PUB)?;
    let buckets: Vec<NaiveDate> = (0..n).map(|k| step(first, k)).collect();
    let mut inst = vec![0.0; buckets.len()];
    let mut dbs = vec![0.0; buckets.len()];
    let mut inst_agg = vec![0.0; buckets.len()];
    let mut db_agg = vec![0.0; buckets.len()];
    let index = |d: NaiveDate| buckets.iter().position(|b| *b == bucket_of(d));
    // daily stats: per-day counts averaged over the bucket's days with data
    let mut per_bucket: Vec<(f64, f64, u32, u32)> = vec![(0.0, 0.0, 0, 0); buckets.len()];
    for (day, i, d) in &counts.stats {
        if let Some(ix) = index(*day) {
            let e = &mut per_bucket[ix];
            if *i > 0 {
                e.0 += *i as f64;
                e.2 += 1;
            }
            if *d > 0 {
                e.1 += *d as f64;
                e.3 += 1;
            }
        }
    }
    for (ix, (si, sd, ni, nd)) in per_bucket.into_iter().enumerate() {
        let avg = |s: f64, c: u32| {
            if c == 0 {
                0.0
            } else {
                (s / c as f64 * 10.0).round() / 10.0
            }
        };
        inst[ix] = if kind == PeriodType::Daily {
            si
        } else {
            avg(si, ni)
        };
        dbs[ix] = if kind == PeriodType::Daily {
            sd
        } else {
            avg(sd, nd)
        };
    }
    for (start, i, d) in &counts.aggregations {
        if let Some(ix) = index(*start) {
            inst_agg[ix] += *i as f64;
            db_agg[ix] += *d as f64;
        }
    }
    let labels: Vec<String> = buckets
        .iter()
        .map(|b| {
            wf_domain::capacity::Period::containing(kind, *b)
                .end
                .to_string()
        })
        .collect();
    let (noun, unit) = match kind {
        PeriodType::Daily => ("总量", "日"),
        PeriodType::Weekly => ("平均值(周)", "周"),
        PeriodType::Monthly => ("平均值(月)", "月"),
        PeriodType::Quarterly => ("平均值(季)", "季"),
    };
    let series = |label: String, data: Vec<f64>, rgb: &str, point: &str| Dataset {
        label,
        data,
        border_color: format!("rgba({rgb}, 1)"),
        background_color: format!("rgba({rgb}, 0.7)"),
        border_width: 2,
        point_style: point.into(),
        tension: 0.4,
        fill: false,
    };
    let name = kind.as_str();
    let mut title = name.to_string();
    title[..1].make_ascii_uppercase();
    Ok(CoreMetrics {
        time_range: match (labels.first(), labels.last()) {
            (Some(a), Some(b)) => format!("{a} - {b}"),
            _ => "-".into(),
        },
        data_point_count: labels.len() as u64,
        labels,
        datasets: vec![
            series(format!("实例数{noun}"), inst, "54, 162, 235", "circle"),
            series(
                format!("实例{unit}统计数量"),
                inst_agg,
                "255, 99, 132",
                "triangle",
            ),
            series(format!("数据库数{noun}"), dbs, "75, 192, 192", "rect"),
            series(
                format!("数据库{unit}统计数量"),
                db_agg,
                "255, 159, 64",
                "star",
            ),
        ],
        y_axis_label: "数量".into(),
        chart_title: format!("{title}核心指标统计"),
        period_type: name.into(),
    })
}
