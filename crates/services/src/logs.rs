//! Log centre reads (`api-v1.md` §4.17 #98–#102, §4.22 #134; `domain.md` §8.4): list/search
//! with a cached total, statistics, modules, detail and export (JSON or CSV). Timestamps are
//! shown in China time; exports carry UTC.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use wf_domain::{AppError, time};
use wf_store::entity::unified_log;
use wf_store::repo::logs::{self as repo, LogFilter, LogSort};

use crate::context::{Area, Services};
use crate::error::{Public, ServiceError, ServiceResult};

/// Log levels (`api-v1.md` §3.5).
pub const LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// Parse a level (case-insensitive); 400 `日志级别参数无效` otherwise.
pub fn parse_level(raw: &str) -> Result<String, AppError> {
    let up = raw.trim().to_uppercase();
    if LEVELS.contains(&up.as_str()) {
        Ok(up)
    } else {
        Err(AppError::validation("日志级别参数无效"))
    }
}

/// One log item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogItem {
    pub id: i32,
    /// China time ISO-8601 (`+08:00`).
    pub timestamp: Option<String>,
    /// China time `YYYY-MM-DD HH:MM:SS`.
    pub timestamp_display: String,
    pub level: Option<String>,
    pub module: String,
    pub message: String,
    pub traceback: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
}

fn item(l: unified_log::Model) -> LogItem {
    LogItem {
        id: l.id,
        timestamp: Some(time::iso_in(&l.timestamp, time::china())),
        timestamp_display: time::china_display(Some(&l.timestamp)),
        level: Some(l.level),
        module: l.module,
        message: l.message,
        traceback: l.traceback,
        context: l.context,
    }
}

crate::page_type!(
    /// Log page.
    LogPage,
    LogItem
);

/// `GET /history/logs/list|search`: newest first by default; the total of a filter is cached
/// for a couple of seconds (recounted by one request at a time).
pub async fn list(
    svc: &Services,
    f: &LogFilter,
    sort: LogSort,
    desc: bool,
    page: u64,
    limit: u64,
    public: &'static str,
) -> ServiceResult<LogPage> {
    // a substring search is planned for its actual pattern (PostgreSQL's generic plans cannot
    // see it and would scan instead of using the trigram indexes)
    let custom = f.search.is_some();
    let total = svc
        .cached_total(
            Area::Logs,
            // this node's batches count too (SQLite has no store generations); a "last N
            // hours" window moves, so its total is recounted every 10 s as rows age out
            format!(
                "{}:{}:{}",
                crate::logcentre::counters().0,
                f.window_hours.map_or(0, |_| Utc::now().timestamp() / 10),
                repo::count_key(&svc.db, f)
            ),
            async {
                let txn = wf_store::repo::read_txn(&svc.db, custom).await?;
                let n = repo::count(&txn, f).await?;
                txn.commit().await?;
                Ok(n)
            },
        )
        .await
        .public(public)?;
    let rows = match (page - 1).checked_mul(limit).filter(|o| *o < total) {
        Some(offset) if custom => {
            let txn = wf_store::repo::read_txn(&svc.db, true)
                .await
                .public(public)?;
            let rows = repo::page(&txn, f, sort, desc, offset, limit)
                .await
                .public(public)?;
            txn.commit().await.public(public)?;
            rows
        }
        Some(offset) => repo::page(&svc.db, f, sort, desc, offset, limit)
            .await
            .public(public)?,
        None => Vec::new(),
    };
    Ok(LogPage::new(
        rows.into_iter().map(item).collect(),
        total,
        page,
        limit,
    ))
}

/// `GET /history/logs/detail/{id}`.
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<LogItem> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public("获取日志详情失败")?,
        None => None,
    };
    found
        .map(item)
        .ok_or_else(ServiceError::framework_not_found)
}

/// `GET /history/logs/modules`.
pub async fn modules(svc: &Services) -> ServiceResult<Vec<String>> {
    repo::modules(&svc.db).await.public("获取日志模块失败")
}

/// `{module, count}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModuleCount {
    pub module: String,
    pub count: i64,
}

/// `GET /history/logs/statistics` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogStatistics {
    pub total_logs: i64,
    /// ERROR + CRITICAL.
    pub error_count: i64,
    pub warning_count: i64,
    pub info_count: i64,
    pub debug_count: i64,
    pub critical_count: i64,
    pub level_distribution: std::collections::BTreeMap<String, i64>,
    pub top_modules: Vec<ModuleCount>,
    /// Percentage 0–100.
    pub error_rate: f64,
}

/// Statistics of the last `hours` hours (1–2160).
pub async fn statistics(svc: &Services, hours: i64) -> ServiceResult<LogStatistics> {
    let since = Utc::now() - Duration::hours(hours.clamp(1, 2160));
    let (levels, modules) = repo::statistics(&svc.db, since)
        .await
        .public("获取日志统计失败")?;
    let dist: std::collections::BTreeMap<String, i64> = levels.into_iter().collect();
    let get = |l: &str| dist.get(l).copied().unwrap_or(0);
    let total: i64 = dist.values().sum();
    let errors = get("ERROR") + get("CRITICAL");
    Ok(LogStatistics {
        total_logs: total,
        error_count: errors,
        warning_count: get("WARNING"),
        info_count: get("INFO"),
        debug_count: get("DEBUG"),
        critical_count: get("CRITICAL"),
        error_rate: if total == 0 {
            0.0
        } else {
            (errors as f64 / total as f64 * 10000.0).round() / 100.0
        },
        level_distribution: dist,
        top_modules: modules
            .into_iter()
            .map(|(module, count)| ModuleCount { module, count })
            .collect(),
    })
}

/// The export's file: `(file name, content type, body)`.
pub type ExportFile = (String, String, Vec<u8>);

/// Context keys left out of the CSV's `上下文` column.
const CSV_SKIPPED: [&str; 6] = [
    "request_id",
    "user_id",
    "url",
    "method",
    "ip_address",
    "user_agent",
];

/// Header of the CSV log export.
pub const CSV_HEADER: [&str; 8] = [
    "ID",
    "时间戳",
    "级别",
    "模块",
    "消息",
    "堆栈追踪",
    "上下文",
    "创建时间",
];

/// `GET /files/log-export` rows, newest first, at most `limit` (1–100,000): JSON document or
/// CSV rows (China time, context flattened to `key: value; …`).
pub async fn export_rows(
    svc: &Services,
    f: &LogFilter,
    limit: u64,
) -> ServiceResult<Vec<unified_log::Model>> {
    repo::page(
        &svc.db,
        f,
        LogSort::Timestamp,
        true,
        0,
        limit.clamp(1, 100_000),
    )
    .await
    .public("导出日志失败")
}

/// The JSON export document.
pub fn export_json(rows: &[unified_log::Model], now: DateTime<Utc>) -> Value {
    json!({
        "logs": rows.iter().map(|l| json!({
            "id": l.id, "timestamp": time::iso(&l.timestamp), "level": l.level, "module": l.module,
            "message": l.message, "traceback": l.traceback, "context": l.context,
            "created_at": time::iso(&l.created_at),
        })).collect::<Vec<_>>(),
        "exported_at": time::iso(&now),
    })
}

/// The CSV export rows (cells not yet formula-guarded).
pub fn export_csv_rows(rows: &[unified_log::Model]) -> Vec<Vec<String>> {
    let china = |t: &DateTime<Utc>| {
        t.with_timezone(&time::china())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    rows.iter()
        .map(|l| {
            let ctx = l
                .context
                .as_ref()
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| {
                            !CSV_SKIPPED.contains(&k.as_str())
                                && !v.is_null()
                                && v.as_str() != Some("")
                        })
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}: {s}"),
                            other => format!("{k}: {other}"),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            vec![
                l.id.to_string(),
                china(&l.timestamp),
                l.level.clone(),
                l.module.clone(),
                l.message.clone(),
                l.traceback.clone().unwrap_or_default(),
                ctx,
                china(&l.created_at),
            ]
        })
        .collect()
}
