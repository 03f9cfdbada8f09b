//! The scheduler (`domain.md` §7, issue 11): jobs are rows in the main store, built-in jobs are
//! upserted by id at every start (user-edited triggers kept), one node leads through a lease
//! row (`scheduler:leader`, renewed every few seconds; on PostgreSQL shared by every `whalefall
//! serve` node, on SQLite in-process), and every run — scheduled or "run now" — goes through
//! [`run_job`]: a per-job lease (`max_instances = 1` across nodes and sources), a `task_runs`
//! row (`scheduled`/`manual`), the job's service call, the final status. Missed fires are
//! coalesced into one; a fire later than the misfire grace (300 s) is skipped.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use utoipa::ToSchema;
use wf_domain::trigger::{Trigger, TriggerError};
use wf_domain::{AppError, capacity::PeriodType};
use wf_store::entity::scheduler_job as job;
use wf_store::repo::leases;
use wf_store::repo::scheduler::{self as repo, NewRun, StoredTrigger};

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// Late fires within this many seconds still run (`misfire_grace_time`).
pub const MISFIRE_GRACE_SECS: i64 = 300;
/// How long the leader lease lasts without renewal.
pub const LEADER_TTL: Duration = Duration::seconds(15);
/// How long a job lease lasts (longer than any job; released at the end).
pub const JOB_TTL: Duration = Duration::hours(6);
/// Leader lease name.
pub const LEADER_LEASE: &str = "scheduler:leader";
/// Log retention of `cleanup_logs` (days).
pub const LOG_RETENTION_DAYS: i64 = 30;
/// Capacity retention of the partition upkeep (months).
pub const CAPACITY_RETENTION_MONTHS: i64 = 12;

/// A built-in job: id, display name, function key, category, default cron
/// `(second, minute, hour)` daily in Asia/Shanghai.
pub struct Builtin {
    pub id: &'static str,
    pub name: &'static str,
    pub func: &'static str,
    pub category: &'static str,
    pub at: (u32, u32, u32),
}

/// The five built-in jobs (`api-v1.md` §3.10).
pub const BUILTINS: [Builtin; 5] = [
    Builtin {
        id: "sync_accounts",
        name: "账户同步",
        func: "sync_accounts",
        category: "account",
        at: (0, 0, 1),
    },
    Builtin {
        id: "cleanup_logs",
        name: "清理旧日志",
        func: "cleanup_old_logs",
        category: "other",
        at: (0, 0, 2),
    },
    Builtin {
        id: "monitor_partition_health",
        name: "监控分区健康状态",
        func: "monitor_partition_health",
        category: "other",
        at: (0, 30, 0),
    },
    Builtin {
        id: "collect_database_sizes",
        name: "容量同步",
        func: "collect_database_sizes",
        category: "capacity",
        at: (0, 0, 3),
    },
    Builtin {
        id: "calculate_database_size_aggregations",
        name: "统计聚合",
        func: "calculate_database_size_aggregations",
        category: "aggregation",
        at: (0, 0, 4),
    },
];

fn builtin(id: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.id == id)
}

fn default_trigger(b: &Builtin) -> Trigger {
    let mut f = serde_json::Map::new();
    for (k, v) in [
        ("second", b.at.0.to_string()),
        ("minute", b.at.1.to_string()),
        ("hour", b.at.2.to_string()),
        ("day", "*".into()),
        ("month", "*".into()),
        ("day_of_week", "*".into()),
    ] {
        f.insert(k.into(), json!(v));
    }
    Trigger::cron(&f, "Asia/Shanghai").expect("valid built-in trigger")
}

fn stored(t: &Trigger) -> StoredTrigger {
    let (kind, args, tz) = t.to_stored();
    StoredTrigger {
        trigger_type: kind.into(),
        trigger_args: args,
        timezone: tz,
    }
}

fn trigger_of(j: &job::Model) -> Option<Trigger> {
    Trigger::from_stored(&j.trigger_type, &j.trigger_args, &j.timezone).ok()
}

/// Scheduler state of this node (health and the job list's `state`).
#[derive(Default)]
pub struct SchedulerState {
    enabled: AtomicBool,
    leader: AtomicBool,
    /// Last leader heartbeat, UTC epoch seconds (0 = never).
    heartbeat: AtomicI64,
}

impl SchedulerState {
    /// Whether this node runs a scheduler loop (`ENABLE_SCHEDULER`).
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }
    /// Whether this node currently leads.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }
    /// Last heartbeat of this node's loop.
    pub fn last_heartbeat(&self) -> Option<DateTime<Utc>> {
        match self.heartbeat.load(Ordering::SeqCst) {
            0 => None,
            s => DateTime::from_timestamp(s, 0),
        }
    }
}

/// Upsert the built-in jobs (defaults for the ones never edited), computing next fires.
pub async fn register_builtins(svc: &Services) -> ServiceResult<()> {
    let now = Utc::now();
    for b in &BUILTINS {
        let t = default_trigger(b);
        let row = repo::upsert_builtin(
            &svc.db,
            b.id,
            b.name,
            b.func,
            &stored(&t),
            t.next_after(now),
        )
        .await?;
        if !row.is_paused
            && row.next_run_time.is_none()
            && let Some(next) = trigger_of(&row).and_then(|t| t.next_after(now))
        {
            repo::set_paused(&svc.db, b.id, false, Some(next)).await?;
        }
    }
    Ok(())
}

/// Register the built-ins and accept scheduler operations on this node, without a loop that
/// fires jobs (tests; a node that only serves the API).
pub async fn enable(svc: &Services) -> ServiceResult<()> {
    register_builtins(svc).await?;
    svc.scheduler.enabled.store(true, Ordering::SeqCst);
    Ok(())
}

/// Start this node's scheduler loop (when `enabled`): built-ins registered, then every
/// second: renew or take the leader lease; as leader, claim and start the due jobs.
pub async fn start(svc: &Services, enabled: bool) -> ServiceResult<()> {
    if !enabled {
        return Ok(());
    }
    enable(svc).await?;
    let svc = svc.clone();
    tokio::spawn(async move {
        let holder = format!("{}:scheduler", svc.node_id);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let leader = match leases::try_acquire(&svc.db, LEADER_LEASE, &holder, LEADER_TTL).await
            {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler: leader lease check failed");
                    false
                }
            };
            if leader != svc.scheduler.leader.swap(leader, Ordering::SeqCst) {
                tracing::info!(leader, "scheduler leadership changed");
            }
            if !leader {
                continue;
            }
            svc.scheduler
                .heartbeat
                .store(Utc::now().timestamp(), Ordering::SeqCst);
            if let Err(e) = fire_due(&svc).await {
                tracing::warn!(error = %e, "scheduler tick failed");
            }
        }
    });
    Ok(())
}

/// Claim every due job (coalescing missed fires into one) and start those within the grace.
async fn fire_due(svc: &Services) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    for j in repo::due(&svc.db, now).await? {
        let Some(planned) = j.next_run_time else {
            continue;
        };
        let next = trigger_of(&j).and_then(|t| t.next_after(now));
        if !repo::claim(&svc.db, &j.id, planned, next).await? {
            continue;
        }
        if (now - planned).num_seconds() > MISFIRE_GRACE_SECS {
            tracing::warn!(job = %j.id, planned = %planned, "scheduler: fire missed by more than the grace; skipped");
            continue;
        }
        let svc = svc.clone();
        tokio::spawn(async move {
            if let Err(e) = run_job(&svc, &j.id, "scheduled", None).await {
                tracing::info!(job = %j.id, reason = %e.into_app_error().message, "scheduled run not started");
            }
        });
    }
    Ok(())
}

fn job_lease(id: &str) -> String {
    format!("job:{id}")
}

/// Run a job once now (`source` `scheduled` or `manual`): 409 when it is already running
/// anywhere (`max_instances = 1`). The run is recorded in `task_runs`; returns its run id
/// after the job has **started** (it goes on in the background).
pub async fn run_job(
    svc: &Services,
    id: &str,
    source: &str,
    created_by: Option<i32>,
) -> ServiceResult<String> {
    const PUB: &str = "执行任务失败";
    let j = repo::find(&svc.db, id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::not_found("任务不存在"))?;
    let holder = format!("{}:{}", svc.node_id, uuid::Uuid::new_v4().simple());
    if !leases::try_acquire(&svc.db, &job_lease(id), &holder, JOB_TTL)
        .await
        .public(PUB)?
    {
        return Err(ServiceError::conflict(
            "CONSTRAINT_VIOLATION",
            "任务正在执行中",
        ));
    }
    let run_id = uuid::Uuid::new_v4().to_string();
    let category = builtin(id).map_or("other", |b| b.category);
    repo::start_run(
        &svc.db,
        &NewRun {
            run_id: &run_id,
            task_key: &j.id,
            task_name: &j.name,
            task_category: category,
            trigger_source: source,
            created_by,
        },
    )
    .await
    .public(PUB)?;
    repo::set_last_run(&svc.db, id, Utc::now())
        .await
        .public(PUB)?;
    let (svc2, rid, func, manual) = (
        svc.clone(),
        run_id.clone(),
        j.func.clone(),
        source == "manual",
    );
    let lease = job_lease(id);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let out = execute(&svc2, &func, manual, created_by).await;
        let (status, summary, error) = match out {
            Ok((status, summary)) => (status, Some(summary), None),
            Err(e) => ("failed", None, Some(e)),
        };
        if let Err(e) = repo::finish_run(&svc2.db, &rid, status, summary, error.clone()).await {
            tracing::error!(run = %rid, error = %e, "task run not finished in the ledger");
        }
        if let Err(e) = leases::release(&svc2.db, &lease, &holder).await {
            tracing::warn!(error = %e, "job lease release failed (it expires)");
        }
        tracing::info!(func = %func, status, secs = started.elapsed().as_secs_f64(), error = ?error, "job finished");
    });
    Ok(run_id)
}

/// Wait until a sync session is no longer running; its final status.
async fn wait_session(svc: &Services, session_id: &str) -> String {
    loop {
        match wf_store::repo::sessions::status_of(&svc.db, session_id).await {
            Ok(Some(s)) if s == "running" => {}
            Ok(Some(s)) => return s,
            Ok(None) => return "failed".into(),
            Err(e) => tracing::warn!(error = %e, "session status read failed; retrying"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

fn run_status(session_status: &str) -> &'static str {
    match session_status {
        "completed" => "completed",
        "completed_with_errors" => "completed_with_errors",
        "cancelled" | "interrupted" => "cancelled",
        _ => "failed",
    }
}

/// The job functions by key: `(task run status, summary)` or the error text.
async fn execute(
    svc: &Services,
    func: &str,
    manual: bool,
    created_by: Option<i32>,
) -> Result<(&'static str, Value), String> {
    let sync_type = if manual {
        "manual_task"
    } else {
        "scheduled_task"
    };
    let msg = |e: ServiceError| e.into_app_error().message;
    match func {
        "sync_accounts" => {
            let sid = crate::fleet::start_sync_all(svc, sync_type, created_by)
                .await
                .map_err(msg)?;
            let status = wait_session(svc, &sid).await;
            // then classify what was synced, and the day's match statistics
            let classified = match crate::classify::auto_classify(svc, None).await {
                Ok(r) => json!(r),
                Err(e) => json!({"skipped": msg(e)}),
            };
            let today = wf_domain::capacity::china_today(Utc::now());
            let stats = crate::classify::daily_match_stats(svc, today)
                .await
                .map(|s| json!(s))
                .unwrap_or_else(|e| json!({"error": msg(e)}));
            Ok((
                run_status(&status),
                json!({"session_id": sid, "session_status": status,
                "auto_classify": classified, "daily_match_stats": stats}),
            ))
        }
        "collect_database_sizes" => {
            let sid = crate::capacity::start_collect_all(svc, sync_type, created_by)
                .await
                .map_err(msg)?;
            let status = wait_session(svc, &sid).await;
            Ok((
                run_status(&status),
                json!({"session_id": sid, "session_status": status}),
            ))
        }
        "calculate_database_size_aggregations" => {
            let r =
                crate::aggregation::aggregate_periods(svc, &PeriodType::ALL, sync_type, created_by)
                    .await
                    .map_err(msg)?;
            Ok(("completed", json!(r)))
        }
        "cleanup_old_logs" => {
            let cutoff = Utc::now() - Duration::days(LOG_RETENTION_DAYS);
            let (logs, sessions) = wf_store::repo::logs::delete_before(&svc.db, cutoff)
                .await
                .map_err(|e| e.to_string())?;
            svc.changed(crate::context::Change::Logs).await;
            Ok((
                "completed",
                json!({"cutoff": wf_domain::time::iso(&cutoff), "deleted_logs": logs, "deleted_sessions": sessions}),
            ))
        }
        "monitor_partition_health" => {
            let today = wf_domain::capacity::china_today(Utc::now());
            wf_store::partitions::ensure_months(
                &svc.db,
                (0..=2).map(|o| wf_domain::capacity::month_start(today, o)),
            )
            .await
            .map_err(|e| e.to_string())?;
            let cleanup = crate::partitions::cleanup(svc, CAPACITY_RETENTION_MONTHS)
                .await
                .map_err(msg)?;
            Ok((
                "completed",
                json!({"ensured_months": 3, "cleanup": cleanup}),
            ))
        }
        other => Err(format!("未知的任务函数: {other}")),
    }
}

/// One job of the list (`api-v1.md` §4.15).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub name: String,
    /// Same as `name`.
    pub description: String,
    /// UTC ISO-8601; null when paused.
    pub next_run_time: Option<String>,
    /// Start of the newest run in the ledger (`task_runs`).
    pub last_run_time: Option<String>,
    /// `cron`, `interval`, `date`.
    pub trigger_type: String,
    #[schema(value_type = Object)]
    pub trigger_args: Value,
    /// `STATE_RUNNING` or `STATE_PAUSED`.
    pub state: String,
    pub is_builtin: bool,
    pub func: String,
    #[schema(value_type = Vec<Object>)]
    pub args: Vec<Value>,
    #[schema(value_type = Object)]
    pub kwargs: Value,
}

fn not_started() -> ServiceError {
    ServiceError::conflict("CONSTRAINT_VIOLATION", "调度器未启动")
}

fn require_running(svc: &Services) -> ServiceResult<()> {
    if svc.scheduler.enabled() {
        Ok(())
    } else {
        Err(not_started())
    }
}

/// `GET /scheduler/jobs`, sorted by id.
pub async fn list(svc: &Services) -> ServiceResult<Vec<JobView>> {
    const PUB: &str = "获取任务列表失败";
    let last = repo::last_starts(&svc.db).await.public(PUB)?;
    let running = svc.scheduler.enabled();
    Ok(repo::all(&svc.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|j| {
            let t = trigger_of(&j);
            JobView {
                description: j.name.clone(),
                next_run_time: j.next_run_time.as_ref().map(wf_domain::time::iso),
                last_run_time: last
                    .get(&j.id)
                    .or(j.last_run_time.as_ref())
                    .map(wf_domain::time::iso),
                trigger_type: j.trigger_type.clone(),
                trigger_args: t
                    .as_ref()
                    .map(Trigger::list_args)
                    .unwrap_or_else(|| json!({})),
                state: if running && j.next_run_time.is_some() {
                    "STATE_RUNNING"
                } else {
                    "STATE_PAUSED"
                }
                .into(),
                is_builtin: builtin(&j.id).is_some(),
                func: j.func.clone(),
                args: Vec::new(),
                kwargs: json!({}),
                name: j.name,
                id: j.id,
            }
        })
        .collect())
}

/// `GET /scheduler/jobs/{id}` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobDetail {
    pub id: String,
    pub name: String,
    pub next_run_time: Option<String>,
    /// e.g. `cron[month='*', day='*', day_of_week='*', hour='1', minute='0']`.
    pub trigger: String,
    pub func: String,
    #[schema(value_type = Vec<Object>)]
    pub args: Vec<Value>,
    #[schema(value_type = Object)]
    pub kwargs: Value,
    /// Seconds.
    pub misfire_grace_time: Option<i64>,
    pub max_instances: i32,
    pub coalesce: bool,
}

/// `GET /scheduler/jobs/{id}`.
pub async fn detail(svc: &Services, id: &str) -> ServiceResult<JobDetail> {
    let j = repo::find(&svc.db, id)
        .await
        .public("获取任务详情失败")?
        .ok_or_else(|| ServiceError::not_found("任务不存在"))?;
    Ok(JobDetail {
        trigger: trigger_of(&j).map(|t| t.describe()).unwrap_or_default(),
        next_run_time: j.next_run_time.as_ref().map(wf_domain::time::iso),
        func: j.func,
        args: Vec::new(),
        kwargs: json!({}),
        misfire_grace_time: Some(MISFIRE_GRACE_SECS),
        max_instances: 1,
        coalesce: true,
        name: j.name,
        id: j.id,
    })
}

/// `PUT /scheduler/jobs/{id}`: a new trigger for a built-in job (persisted, survives restarts
/// and reloads of the defaults).
pub async fn update_trigger(
    svc: &Services,
    id: &str,
    body: &serde_json::Map<String, Value>,
) -> ServiceResult<()> {
    const PUB: &str = "任务更新失败";
    require_running(svc)?;
    let j = repo::find(&svc.db, id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::not_found("任务不存在"))?;
    if builtin(&j.id).is_none() {
        return Err(AppError::validation("只能修改内置任务的触发器")
            .code("FORBIDDEN")
            .into());
    }
    let now = Utc::now();
    let t = wf_domain::trigger::parse_update(body, now).map_err(|e| match e {
        TriggerError::MissingType => AppError::validation("缺少触发器类型配置"),
        TriggerError::Invalid => AppError::validation("无效的触发器配置"),
    })?;
    let next = if j.is_paused { None } else { t.next_after(now) };
    repo::set_trigger(&svc.db, id, &stored(&t), next)
        .await
        .public(PUB)
}

/// `POST /scheduler/jobs/{id}/pause|resume`.
pub async fn set_paused(svc: &Services, id: &str, paused: bool) -> ServiceResult<()> {
    let public = if paused {
        "暂停任务失败"
    } else {
        "恢复任务失败"
    };
    require_running(svc)?;
    let j = repo::find(&svc.db, id)
        .await
        .public(public)?
        .ok_or_else(|| ServiceError::not_found("任务不存在"))?;
    let next = if paused {
        None
    } else {
        trigger_of(&j).and_then(|t| t.next_after(Utc::now()))
    };
    repo::set_paused(&svc.db, id, paused, next)
        .await
        .public(public)
}

/// `POST /scheduler/jobs/{id}/run`: a `manual` run through the same path as scheduled ones.
pub async fn run_now(svc: &Services, id: &str, user: Option<i32>) -> ServiceResult<String> {
    require_running(svc)?;
    run_job(svc, id, "manual", user).await?;
    Ok(format!("{id}_manual"))
}

/// `POST /scheduler/jobs/reload` result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReloadResult {
    pub deleted: Vec<String>,
    pub reloaded: Vec<String>,
    pub deleted_count: usize,
    pub reloaded_count: usize,
}

/// `POST /scheduler/jobs/reload`: every job removed, the built-ins registered with their
/// default triggers (an explicit reset of edited triggers).
pub async fn reload(svc: &Services) -> ServiceResult<ReloadResult> {
    const PUB: &str = "重新加载任务失败";
    require_running(svc)?;
    let deleted = repo::delete_all(&svc.db).await.public(PUB)?;
    register_builtins(svc).await?;
    let reloaded: Vec<String> = repo::all(&svc.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|j| j.id)
        .collect();
    Ok(ReloadResult {
        deleted_count: deleted.len(),
        reloaded_count: reloaded.len(),
        deleted,
        reloaded,
    })
}

/// Shared per-node scheduler state (held by [`Services`]).
pub type SharedState = Arc<SchedulerState>;

/// Scheduler health (`/health/detailed` component): whether some node holds a live leader
/// lease, whether this node leads, and this node's last heartbeat.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SchedulerHealth {
    /// True when the scheduler is disabled here or a leader is alive.
    pub healthy: bool,
    /// `leader`, `follower`, `no_leader`, `disabled`.
    pub status: String,
    pub enabled: bool,
    pub is_leader: bool,
    /// UTC ISO-8601 of this node's last leader heartbeat.
    pub last_heartbeat: Option<String>,
}

/// Read the scheduler's health.
pub async fn health(svc: &Services) -> SchedulerHealth {
    let enabled = svc.scheduler.enabled();
    let leader_alive = leases::live(&svc.db, &[LEADER_LEASE.to_string()], Utc::now())
        .await
        .map(|l| !l.is_empty())
        .unwrap_or(false);
    let is_leader = svc.scheduler.is_leader() && leader_alive;
    let status = match (enabled, is_leader, leader_alive) {
        (false, _, _) => "disabled",
        (true, true, _) => "leader",
        (true, false, true) => "follower",
        (true, false, false) => "no_leader",
    };
    SchedulerHealth {
        healthy: !enabled || leader_alive,
        status: status.into(),
        enabled,
        is_leader,
        last_heartbeat: svc
            .scheduler
            .last_heartbeat()
            .as_ref()
            .map(wf_domain::time::iso),
    }
}
