//! Capacity aggregation runs (`domain.md` §5.5–§5.9, `api-v1.md` §4.13 #75): each run is a
//! sync session (category `aggregation`) with one record per active instance, and each
//! period/level is **one set-based statement** over all active instances (no per-instance
//! loop), so 1,000 instances cost what one does. Runs are idempotent upserts: re-running a
//! period rewrites it (the original's global "already aggregated" skip never back-filled
//! late instances, §13.3 #27).

use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use wf_domain::capacity::{Period, PeriodType, china_today};
use wf_store::repo::capacity::{self as repo, AggregationScope, PeriodRange};
use wf_store::repo::instances as instance_repo;
use wf_store::repo::sessions::{self as session_repo, NewSession, status};

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};
use crate::sessions::SessionView;

/// The statement range of a period `[start, end]` and its previous period.
pub fn range_of(kind: PeriodType, start: chrono::NaiveDate, end: chrono::NaiveDate) -> PeriodRange {
    let prev = Period { kind, start, end }.previous();
    PeriodRange {
        period_type: kind.as_str(),
        start,
        end,
        prev_start: prev.start,
        prev_end: prev.end,
    }
}

/// Outcome of one level (database or instance) of one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AggregationSummary {
    /// `completed`, `skipped` or `failed`.
    pub status: String,
    pub period_type: String,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    pub end_date: String,
    pub processed_instances: u64,
    pub processed_records: u64,
    pub failed_instances: u64,
    pub skipped_instances: u64,
    pub errors: Vec<String>,
    pub message: String,
}

fn summary(
    r: &PeriodRange,
    active: u64,
    counts: &HashMap<i32, u64>,
    level: &str,
) -> AggregationSummary {
    let processed = counts.len() as u64;
    let records: u64 = counts.values().sum();
    AggregationSummary {
        status: if processed > 0 {
            "completed"
        } else {
            "skipped"
        }
        .into(),
        period_type: r.period_type.into(),
        start_date: r.start.to_string(),
        end_date: r.end.to_string(),
        processed_instances: processed,
        processed_records: records,
        failed_instances: 0,
        skipped_instances: active.saturating_sub(processed),
        errors: Vec::new(),
        message: if processed > 0 {
            format!("{level}聚合完成: {processed} 个实例, {records} 条记录")
        } else {
            format!("{level}聚合无可处理的数据")
        },
    }
}

/// Which levels a manual run covers (`scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Instance,
    Database,
    All,
}

impl Scope {
    /// Parse `scope` (case-insensitive; absent = `all`); 400 otherwise.
    pub fn parse(raw: Option<&str>) -> Result<Scope, wf_domain::AppError> {
        match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("all") => Ok(Scope::All),
            Some("instance") => Ok(Scope::Instance),
            Some("database") => Ok(Scope::Database),
            Some(_) => Err(wf_domain::AppError::validation(
                "scope 参数仅支持 instance、database 或 all",
            )),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scope::Instance => "instance",
            Scope::Database => "database",
            Scope::All => "all",
        }
    }
}

/// `data.result` of `POST /capacity/aggregations/current`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentAggregation {
    /// `completed` or `skipped`.
    pub status: String,
    pub message: String,
    /// Always `daily`.
    pub period_type: String,
    /// Today (China), `YYYY-MM-DD`.
    pub period_start: String,
    pub period_end: String,
    pub scope: String,
    pub requested_period_type: String,
    pub effective_period_type: String,
    pub database_summary: Option<AggregationSummary>,
    pub instance_summary: Option<AggregationSummary>,
    pub session: SessionView,
}

/// Create a running aggregation session with one pending record per active instance, under a
/// session lease this node holds while it runs (a node killed mid-run leaves it `interrupted`
/// at the next sweep or start).
async fn open_session(
    svc: &Services,
    sync_type: &str,
    created_by: Option<i32>,
    public: &'static str,
) -> ServiceResult<(String, u64, crate::fleet::SessionLease)> {
    let targets = instance_repo::sync_targets(&svc.db).await.public(public)?;
    let named: Vec<(i32, String)> = targets.iter().map(|i| (i.id, i.name.clone())).collect();
    let session_id = uuid::Uuid::new_v4().to_string();
    let lease = crate::fleet::SessionLease::take(svc, &session_id)
        .await
        .public(public)?;
    let txn = crate::begin(svc, public).await?;
    session_repo::create(
        &txn,
        &NewSession {
            session_id: &session_id,
            sync_type,
            sync_category: "aggregation",
            created_by,
            instances: &named,
        },
    )
    .await
    .public(public)?;
    txn.commit().await.public(public)?;
    tracing::info!(module = "aggregation_sync", session_id = %session_id, total_instances = named.len(),
        "聚合会话已开始: {} 个实例", named.len());
    Ok((session_id, named.len() as u64, lease))
}

/// Close a session whose statements all ran (`completed`) or failed (`failed`, every record
/// failed with the error).
async fn close_session(
    svc: &Services,
    session_id: &str,
    total: u64,
    outcome: Result<&HashMap<i32, u64>, &str>,
    details: serde_json::Value,
    public: &'static str,
) -> ServiceResult<()> {
    let (record_status, items, final_status, ok, failed) = match outcome {
        Ok(items) => (
            status::COMPLETED,
            items.clone(),
            status::COMPLETED,
            total as i32,
            0,
        ),
        Err(_) => (
            status::FAILED,
            HashMap::new(),
            status::FAILED,
            0,
            total as i32,
        ),
    };
    let mut details = details;
    if let (Err(e), Some(o)) = (outcome, details.as_object_mut()) {
        o.insert("error".into(), json!(e));
    }
    session_repo::finish_records_bulk(&svc.db, session_id, record_status, &items, details)
        .await
        .public(public)?;
    session_repo::finish(&svc.db, session_id, final_status, ok, failed)
        .await
        .public(public)?;
    tracing::info!(module = "aggregation_sync", session_id = %session_id, status = final_status,
        "聚合会话已结束: {final_status}");
    Ok(())
}

/// After a run that wrote many rows, refresh the planner statistics (best effort).
async fn analyze_after(svc: &Services, items: &HashMap<i32, u64>) {
    if items.values().sum::<u64>() > 1_000
        && let Err(e) = repo::analyze_aggregations(&svc.db).await
    {
        tracing::warn!(error = %e, "ANALYZE after aggregation failed");
    }
}

fn add_counts(into: &mut HashMap<i32, u64>, from: &HashMap<i32, u64>) {
    for (k, v) in from {
        *into.entry(*k).or_default() += v;
    }
}

/// `POST /capacity/aggregations/current`: today's daily aggregation (the requested period
/// type is echoed, the run is always `daily`), recorded as a `manual_task` session.
pub async fn aggregate_current(
    svc: &Services,
    scope: Scope,
    requested_period_type: &str,
    created_by: Option<i32>,
) -> ServiceResult<CurrentAggregation> {
    const PUB: &str = "触发当前周期数据聚合失败";
    let today = china_today(chrono::Utc::now());
    let range = range_of(PeriodType::Daily, today, today);
    let (session_id, active, _lease) = open_session(svc, "manual_task", created_by, PUB).await?;
    let started = std::time::Instant::now();
    let run = async {
        let txn = crate::begin(svc, PUB).await?;
        let dbs = if scope != Scope::Instance {
            Some(
                repo::aggregate_databases(&txn, AggregationScope::Active, &range)
                    .await
                    .public(PUB)?,
            )
        } else {
            None
        };
        let insts = if scope != Scope::Database {
            Some(
                repo::aggregate_instances(&txn, AggregationScope::Active, &range)
                    .await
                    .public(PUB)?,
            )
        } else {
            None
        };
        txn.commit().await.public(PUB)?;
        Ok::<_, ServiceError>((dbs, insts))
    };
    let details = json!({"period_type": "daily", "period_start": range.start.to_string(),
        "period_end": range.end.to_string(), "scope": scope.as_str()});
    let (dbs, insts) = match run.await {
        Ok(v) => v,
        Err(e) => {
            let text = "当前周期聚合失败";
            close_session(svc, &session_id, active, Err(text), details, PUB).await?;
            return Err(e);
        }
    };
    let mut items = HashMap::new();
    for c in [&dbs, &insts].into_iter().flatten() {
        add_counts(&mut items, c);
    }
    close_session(svc, &session_id, active, Ok(&items), details, PUB).await?;
    svc.changed(crate::context::Change::Capacity).await;
    analyze_after(svc, &items).await;
    tracing::info!(
        instances = active,
        ms = started.elapsed().as_millis() as u64,
        "current-period aggregation finished"
    );
    let database_summary = dbs.as_ref().map(|c| summary(&range, active, c, "数据库级"));
    let instance_summary = insts.as_ref().map(|c| summary(&range, active, c, "实例级"));
    let any = [&database_summary, &instance_summary]
        .into_iter()
        .flatten()
        .any(|s| s.status == "completed");
    let session = session_repo::find(&svc.db, &session_id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::Internal {
            public: PUB,
            detail: "session vanished".into(),
        })?;
    Ok(CurrentAggregation {
        status: if any { "completed" } else { "skipped" }.into(),
        message: if any {
            "当前周期聚合完成"
        } else {
            "当前周期没有可处理的数据"
        }
        .into(),
        period_type: "daily".into(),
        period_start: range.start.to_string(),
        period_end: range.end.to_string(),
        scope: scope.as_str().into(),
        requested_period_type: requested_period_type.to_lowercase(),
        effective_period_type: "daily".into(),
        database_summary,
        instance_summary,
        session: SessionView::from(&session),
    })
}

/// Result of a scheduled aggregation (`domain.md` §5.8).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodsResult {
    /// `completed` or `skipped`.
    pub status: String,
    pub message: String,
    pub session_id: String,
    pub periods_executed: Vec<String>,
    /// Per period: `{database, instance}` summaries.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The scheduled aggregation (`calculate_database_size_aggregations`): for every requested
/// period type the **last complete** period (daily = yesterday, China time), both levels,
/// all active instances, in one transaction; a `scheduled_task` (or `manual_task` when run
/// by hand) session with one record per active instance.
pub async fn aggregate_periods(
    svc: &Services,
    periods: &[PeriodType],
    sync_type: &str,
    created_by: Option<i32>,
) -> ServiceResult<PeriodsResult> {
    const PUB: &str = "统计聚合任务执行失败";
    let today = china_today(chrono::Utc::now());
    let (session_id, active, _lease) = open_session(svc, sync_type, created_by, PUB).await?;
    let mut details = serde_json::Map::new();
    let mut items = HashMap::new();
    let run = async {
        let txn = crate::begin(svc, PUB).await?;
        for kind in periods {
            let p = Period::last(*kind, today);
            let range = range_of(*kind, p.start, p.end);
            let d = repo::aggregate_databases(&txn, AggregationScope::Active, &range)
                .await
                .public(PUB)?;
            let i = repo::aggregate_instances(&txn, AggregationScope::Active, &range)
                .await
                .public(PUB)?;
            add_counts(&mut items, &d);
            add_counts(&mut items, &i);
            details.insert(
                kind.as_str().into(),
                json!({"database": summary(&range, active, &d, "数据库级"),
                       "instance": summary(&range, active, &i, "实例级")}),
            );
        }
        txn.commit().await.public(PUB)?;
        Ok::<_, ServiceError>(())
    };
    let names: Vec<String> = periods.iter().map(|p| p.as_str().to_string()).collect();
    let base = json!({"periods": names});
    if let Err(e) = run.await {
        close_session(svc, &session_id, active, Err("聚合任务异常"), base, PUB).await?;
        return Err(e);
    }
    close_session(svc, &session_id, active, Ok(&items), base, PUB).await?;
    svc.changed(crate::context::Change::Capacity).await;
    analyze_after(svc, &items).await;
    let any = !items.is_empty();
    Ok(PeriodsResult {
        status: if any { "completed" } else { "skipped" }.into(),
        message: if any {
            format!("统计聚合完成: {} 个周期", names.len())
        } else {
            "没有可聚合的数据".into()
        },
        session_id,
        periods_executed: names,
        details: serde_json::Value::Object(details),
    })
}
