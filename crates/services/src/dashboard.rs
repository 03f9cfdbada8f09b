//! Dashboard (`api-v1.md` §4.6 #20–#23, `domain.md` §11): overview (cached 300 s), charts
//! (180 s), status (30 s) — cached per node; every number comes from grouped statements.

use chrono::{Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;
use utoipa::ToSchema;
use wf_domain::capacity::china_today;
use wf_store::repo::dashboard as repo;

use crate::context::Services;
use crate::error::{Public, ServiceResult};

/// Overview lifetime.
pub const OVERVIEW_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// Charts lifetime.
pub const CHARTS_TTL: std::time::Duration = std::time::Duration::from_secs(180);
/// Status lifetime.
pub const STATUS_TTL: std::time::Duration = std::time::Duration::from_secs(30);

async fn cached<F, Fut>(
    svc: &Services,
    key: String,
    ttl: std::time::Duration,
    f: F,
) -> ServiceResult<Value>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ServiceResult<Value>>,
{
    if let Some((at, v)) = svc.dashboard.get(&key).await
        && at.elapsed() < ttl
    {
        return Ok(v);
    }
    let v = f().await?;
    svc.dashboard.insert(key, (Instant::now(), v.clone())).await;
    Ok(v)
}

/// `GET /dashboard/overview`.
pub async fn overview(svc: &Services) -> ServiceResult<Value> {
    cached(svc, "overview".into(), OVERVIEW_TTL, || async {
        const PUB: &str = "获取系统概览失败";
        let (users, instances, active_instances) = repo::users_and_instances(&svc.db).await.public(PUB)?;
        let (acc_total, acc_active, acc_locked) = repo::accounts(&svc.db).await.public(PUB)?;
        let auto = repo::auto_classified(&svc.db).await.public(PUB)?;
        let classes = wf_store::repo::account_stats::classifications(&svc.db).await.public(PUB)?;
        let total_classified: i64 = classes.iter().map(|c| c.account_count).sum();
        let since = china_today(Utc::now()) - Duration::days(7);
        let cap = wf_store::repo::capacity_reads::instance_size_summary(&svc.db, None, None, Some(since), None)
            .await
            .public(PUB)?;
        let (dbs, dbs_active, dbs_inactive) = repo::databases(&svc.db).await.public(PUB)?;
        Ok(json!({
            "users": {"total": users, "active": users},
            "instances": {"total": instances, "active": active_instances},
            "accounts": {"total": acc_total, "active": acc_active, "locked": acc_locked},
            "classified_accounts": {"total": total_classified, "auto": auto, "classifications": classes.iter().map(|c| json!({
                "name": c.name, "color": c.color.clone().unwrap_or_else(|| "info".into()), "display_name": c.name,
                "priority": c.priority.unwrap_or(0), "count": c.account_count})).collect::<Vec<_>>()},
            "capacity": {"total_gb": (cap.total_size_mb.unwrap_or(0) as f64 / 1024.0 * 10.0).round() / 10.0, "usage_percent": 0},
            "databases": {"total": dbs, "active": dbs_active, "inactive": dbs_inactive},
        }))
    })
    .await
}

/// `GET /dashboard/charts?type=…` (`all`, `logs`, `tasks`, `syncs`; anything else `{}`).
pub async fn charts(svc: &Services, kind: &str) -> ServiceResult<Value> {
    let kind = kind.to_lowercase();
    if !["all", "logs", "tasks", "syncs"].contains(&kind.as_str()) {
        return Ok(json!({}));
    }
    cached(svc, format!("charts:{kind}"), CHARTS_TTL, || async {
        let today = china_today(Utc::now());
        let day_start = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_local_timezone(wf_domain::time::china())
                .single()
                .expect("fixed offset")
                .with_timezone(&Utc)
        };
        let days: Vec<chrono::NaiveDate> =
            (0..7).rev().map(|k| today - Duration::days(k)).collect();
        let mut out = serde_json::Map::new();
        if kind == "all" || kind == "logs" {
            // query failures degrade to empty series
            let mut trend = Vec::new();
            for d in &days {
                if let Ok((e, w)) =
                    repo::log_counts(&svc.db, day_start(*d), day_start(*d + Duration::days(1)))
                        .await
                {
                    trend
                        .push(json!({"date": d.to_string(), "error_count": e, "warning_count": w}));
                }
            }
            out.insert("log_trend".into(), json!(trend));
            let levels = match repo::log_levels(&svc.db).await {
                Ok((e, w, c)) => [("ERROR", e), ("WARNING", w), ("CRITICAL", c)]
                    .into_iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(l, n)| json!({"level": l, "count": n}))
                    .collect(),
                Err(_) => Vec::new(),
            };
            out.insert("log_levels".into(), json!(levels));
        }
        if kind == "all" || kind == "tasks" {
            let tasks = if svc.scheduler.enabled() {
                let (a, i) = repo::job_states(&svc.db)
                    .await
                    .public("获取仪表板图表失败")?;
                vec![
                    json!({"status": "active", "count": a}),
                    json!({"status": "inactive", "count": i}),
                ]
            } else {
                Vec::new()
            };
            out.insert("task_status".into(), json!(tasks));
        }
        if kind == "all" || kind == "syncs" {
            let mut trend = Vec::new();
            for d in &days {
                let n = repo::sessions_created(
                    &svc.db,
                    day_start(*d),
                    day_start(*d + Duration::days(1)),
                )
                .await
                .public("获取仪表板图表失败")?;
                trend.push(json!({"date": d.to_string(), "count": n}));
            }
            out.insert("sync_trend".into(), json!(trend));
        }
        Ok(Value::Object(out))
    })
    .await
}

/// `{used, total, percent}` (bytes).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Usage {
    pub used: u64,
    pub total: u64,
    pub percent: f64,
}

fn usage(used: u64, total: u64) -> Usage {
    Usage {
        used,
        total,
        percent: if total == 0 {
            0.0
        } else {
            (used as f64 / total as f64 * 1000.0).round() / 10.0
        },
    }
}

fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some((idle, v.iter().sum()))
}

fn memory() -> Usage {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = |k: &str| {
        info.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let total = kb("MemTotal:");
    usage(total.saturating_sub(kb("MemAvailable:")), total)
}

fn disk() -> Usage {
    let path = std::ffi::CString::new("/").expect("path");
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `s` a properly sized out-parameter
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return usage(0, 0);
    }
    let total = s.f_blocks as u64 * s.f_frsize as u64;
    let free = s.f_bfree as u64 * s.f_frsize as u64;
    usage(total.saturating_sub(free), total)
}

/// `GET /dashboard/status`: CPU over a 200 ms sample, memory and root disk in bytes, store
/// and cache health, uptime.
pub async fn status(svc: &Services, cache_healthy: bool, uptime: String) -> ServiceResult<Value> {
    cached(svc, "status".into(), STATUS_TTL, || async {
        let a = cpu_times();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let b = cpu_times();
        let cpu = match (a, b) {
            (Some((i0, t0)), Some((i1, t1))) if t1 > t0 => {
                ((1.0 - (i1 - i0) as f64 / (t1 - t0) as f64) * 1000.0).round() / 10.0
            }
            _ => 0.0,
        };
        let db_ok = crate::options::store_healthy(svc).await;
        Ok(json!({
            "system": {"cpu": cpu, "memory": memory(), "disk": disk()},
            "services": {"database": if db_ok { "healthy" } else { "error" }, "redis": if cache_healthy { "healthy" } else { "error" }},
            "uptime": uptime,
        }))
    })
    .await
}
