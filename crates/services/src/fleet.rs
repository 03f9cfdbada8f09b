//! Fleet account sync (`domain.md` §2.1, §2.9; issue 8): every active, not deleted instance
//! synced under one sync session, with bounded parallelism across instances, a per-instance
//! lease so an instance is never synced twice at once, one store transaction per instance,
//! cooperative cancel checked before each instance starts, and a final status that never
//! overwrites a cancel: `completed`, `completed_with_errors` (some instances failed or were
//! skipped) or `failed` (none succeeded). A session left `running` by a process that died is
//! marked `interrupted` at the next start ([`recover_interrupted`]).

use chrono::Duration;
use futures::StreamExt;
use serde_json::json;
use std::sync::atomic::{AtomicI32, Ordering};
use wf_store::entity::instance;
use wf_store::repo::instances as instance_repo;
use wf_store::repo::leases;
use wf_store::repo::sessions::{self as repo, NewSession, RecordOutcome, status};

use crate::accounts::{SyncError, SyncOutcome, sync_instance};
use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// How long an instance lease lasts without renewal (longer than one instance's sync can take:
/// connect 20 s + statements 120 s + persisting).
pub const INSTANCE_LEASE_TTL: Duration = Duration::minutes(15);
/// How long a session lease lasts; the runner renews it every third of that.
pub const SESSION_LEASE_TTL: Duration = Duration::seconds(60);
/// Error text of records that another sync held.
pub const SKIPPED_BUSY: &str = "已跳过: 该实例正在被另一个同步任务处理";
/// Error text of records left unfinished by a process that died.
pub const INTERRUPTED: &str = "服务进程在同步过程中退出,会话已中断";

/// Lease name of an instance's account sync.
pub fn instance_lease(instance_id: i32) -> String {
    format!("account-sync:instance:{instance_id}")
}

fn session_lease(session_id: &str) -> String {
    format!("sync-session:{session_id}")
}

/// Why a leased sync did not run to completion.
#[derive(Debug)]
pub enum LeasedError {
    /// Another sync holds the instance.
    Busy,
    /// The sync ran and failed.
    Sync(SyncError),
}

/// Sync one instance's accounts under its lease: `Busy` when another sync (a request, a
/// fleet session, another node) holds it. The lease is released at the end either way.
pub async fn sync_leased(
    svc: &Services,
    inst: &instance::Model,
    session_id: Option<&str>,
) -> Result<SyncOutcome, LeasedError> {
    let name = instance_lease(inst.id);
    let holder = format!(
        "{}:{}",
        svc.node_id,
        session_id
            .map(String::from)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    );
    match leases::try_acquire(&svc.db, &name, &holder, INSTANCE_LEASE_TTL).await {
        Ok(true) => {}
        Ok(false) => return Err(LeasedError::Busy),
        Err(e) => return Err(LeasedError::Sync(SyncError::Store(e))),
    }
    let outcome = sync_instance(&svc.db, &svc.cipher, inst, session_id).await;
    if outcome.is_ok() {
        svc.changed(crate::context::Change::Instances).await;
    }
    if let Err(e) = leases::release(&svc.db, &name, &holder).await {
        tracing::warn!(instance = inst.id, error = %e, "instance lease release failed (it expires)");
    }
    outcome.map_err(LeasedError::Sync)
}

/// What one instance of a session produced: the record's outcome and whether it counts as a
/// success.
pub type JobResult = (RecordOutcome, bool);

/// The work of one instance of a session (account sync, capacity collection, …).
pub type Job = std::sync::Arc<
    dyn Fn(Services, String, instance::Model) -> futures::future::BoxFuture<'static, JobResult>
        + Send
        + Sync,
>;

/// `POST /accounts/actions/sync-all`: create the session (one `pending` record per active,
/// not deleted instance, by name) and run it in the background; returns its id at once.
/// 400 `没有找到活跃的数据库实例` when no instance is active (`api-v1.md` §4.10).
pub async fn start_sync_all(
    svc: &Services,
    sync_type: &str,
    created_by: Option<i32>,
) -> ServiceResult<String> {
    let job: Job = std::sync::Arc::new(|svc, session_id, inst| {
        Box::pin(async move { account_job(&svc, &session_id, &inst).await })
    });
    start_session(
        svc,
        "account",
        sync_type,
        created_by,
        "批量同步任务触发失败,请稍后重试",
        job,
    )
    .await
}

/// Start a background session of `category` over every active, not deleted instance: one
/// `pending` record per instance, a session lease renewed while it runs, bounded parallelism,
/// cancel checked before each instance, `job` per instance. 400 `没有找到活跃的数据库实例`
/// when no instance is active.
pub async fn start_session(
    svc: &Services,
    category: &str,
    sync_type: &str,
    created_by: Option<i32>,
    public: &'static str,
    job: Job,
) -> ServiceResult<String> {
    if instance_repo::count_active(&svc.db).await.public(public)? == 0 {
        return Err(ServiceError::validation("没有找到活跃的数据库实例"));
    }
    let targets = instance_repo::sync_targets(&svc.db).await.public(public)?;
    let session_id = uuid::Uuid::new_v4().to_string();
    let holder = format!("{}:{session_id}", svc.node_id);
    // the session lease exists before the session row, so no restarting node can take a
    // fresh session for an orphan
    leases::try_acquire(
        &svc.db,
        &session_lease(&session_id),
        &holder,
        SESSION_LEASE_TTL,
    )
    .await
    .public(public)?;
    let named: Vec<(i32, String)> = targets.iter().map(|i| (i.id, i.name.clone())).collect();
    let txn = crate::begin(svc, public).await?;
    repo::create(
        &txn,
        &NewSession {
            session_id: &session_id,
            sync_type,
            sync_category: category,
            created_by,
            instances: &named,
        },
    )
    .await
    .public(public)?;
    txn.commit().await.public(public)?;
    let records = repo::records(&svc.db, &session_id, None)
        .await
        .public(public)?;
    let mut by_id: std::collections::HashMap<i32, instance::Model> =
        targets.into_iter().map(|i| (i.id, i)).collect();
    let work: Vec<(i32, instance::Model)> = records
        .into_iter()
        .filter_map(|r| by_id.remove(&r.instance_id).map(|i| (r.id, i)))
        .collect();
    let (runner, sid) = (svc.clone(), session_id.clone());
    tokio::spawn(async move { run(runner, sid, holder, work, job).await });
    Ok(session_id)
}

/// Run a session's records with bounded parallelism, then set its final status.
async fn run(
    svc: Services,
    session_id: String,
    holder: String,
    work: Vec<(i32, instance::Model)>,
    job: Job,
) {
    let started = std::time::Instant::now();
    let lease = session_lease(&session_id);
    let heartbeat = {
        let (svc, lease, holder) = (svc.clone(), lease.clone(), holder.clone());
        tokio::spawn(async move {
            let period = (SESSION_LEASE_TTL / 3).to_std().unwrap_or_default();
            loop {
                tokio::time::sleep(period).await;
                if let Err(e) =
                    leases::try_acquire(&svc.db, &lease, &holder, SESSION_LEASE_TTL).await
                {
                    tracing::warn!(error = %e, "session lease renewal failed");
                }
            }
        })
    };
    let (ok, failed) = (AtomicI32::new(0), AtomicI32::new(0));
    futures::stream::iter(work)
        .for_each_concurrent(svc.sync_parallelism, |(record_id, inst)| {
            let (svc, session_id, ok, failed, job) = (&svc, &session_id, &ok, &failed, &job);
            async move {
                match run_one(svc, session_id, record_id, inst, job).await {
                    Some(true) => ok.fetch_add(1, Ordering::SeqCst),
                    Some(false) => failed.fetch_add(1, Ordering::SeqCst),
                    None => 0,
                };
                let (o, f) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
                if let Err(e) = repo::set_counters(&svc.db, session_id, o, f).await {
                    tracing::error!(session = %session_id, error = %e, "session counters not written");
                }
            }
        })
        .await;
    heartbeat.abort();
    let (o, f) = (ok.into_inner(), failed.into_inner());
    let final_status = match (o, f) {
        (_, 0) => status::COMPLETED,
        (0, _) => status::FAILED,
        _ => status::COMPLETED_WITH_ERRORS,
    };
    match repo::finish(&svc.db, &session_id, final_status, o, f).await {
        Ok(true) => {
            tracing::info!(session = %session_id, status = final_status, ok = o, failed = f,
            secs = started.elapsed().as_secs_f64(), "sync session finished")
        }
        Ok(false) => {
            tracing::info!(session = %session_id, ok = o, failed = f, "session ended earlier (cancelled or interrupted); status kept")
        }
        Err(e) => {
            tracing::error!(session = %session_id, error = %e, "session final status not written")
        }
    }
    if let Err(e) = leases::release(&svc.db, &lease, &holder).await {
        tracing::warn!(error = %e, "session lease release failed (it expires)");
    }
}

/// One instance of a session: `Some(true)` done, `Some(false)` failed or skipped, `None` not
/// started because the session is no longer running (cancelled).
async fn run_one(
    svc: &Services,
    session_id: &str,
    record_id: i32,
    inst: instance::Model,
    job: &Job,
) -> Option<bool> {
    let finish = |o: RecordOutcome| async move {
        if let Err(e) = repo::finish_record(&svc.db, record_id, o).await {
            tracing::error!(record = record_id, error = %e, "sync record not written");
        }
    };
    match repo::status_of(&svc.db, session_id).await {
        Ok(Some(s)) if s == status::RUNNING => {}
        Ok(_) => {
            finish(RecordOutcome {
                status: status::CANCELLED,
                ..Default::default()
            })
            .await;
            return None;
        }
        Err(e) => {
            tracing::warn!(session = %session_id, error = %e, "cancel check failed; going on")
        }
    }
    if let Err(e) = repo::start_record(&svc.db, record_id).await {
        tracing::error!(record = record_id, error = %e, "sync record not started");
    }
    let (outcome, ok) = job(svc.clone(), session_id.to_string(), inst).await;
    finish(outcome).await;
    Some(ok)
}

/// A record skipped because another run holds the instance.
pub fn skipped_busy() -> JobResult {
    (
        RecordOutcome {
            status: status::SKIPPED,
            error_message: Some(SKIPPED_BUSY.into()),
            ..Default::default()
        },
        false,
    )
}

/// A failed record.
pub fn failed(message: String) -> JobResult {
    (
        RecordOutcome {
            status: status::FAILED,
            error_message: Some(message),
            ..Default::default()
        },
        false,
    )
}

/// Account sync of one instance of a session, under its lease.
async fn account_job(svc: &Services, session_id: &str, inst: &instance::Model) -> JobResult {
    match sync_leased(svc, inst, Some(session_id)).await {
        Ok(o) => (completed(&o), true),
        Err(LeasedError::Busy) => skipped_busy(),
        Err(LeasedError::Sync(e)) => {
            tracing::warn!(instance = %inst.name, error = %e, "instance account sync failed");
            failed(e.to_string())
        }
    }
}

/// The record of a synced instance (`domain.md` §2.9 counters).
fn completed(o: &SyncOutcome) -> RecordOutcome {
    RecordOutcome {
        status: status::COMPLETED,
        items_synced: o.processed as i32,
        items_created: o.created as i32,
        items_updated: o.updated as i32,
        items_deleted: o.deactivated as i32,
        error_message: None,
        sync_details: Some(json!({
            "inventory": without_names(&o.inventory),
            "collection": o.collection,
            "remote_queries": o.remote_queries,
        })),
    }
}

/// The inventory summary of a record keeps `active_count` but not the list of names: a
/// session's records stay small however many accounts the fleet has (the names are the
/// inventory itself, readable per instance).
fn without_names(inventory: &serde_json::Value) -> serde_json::Value {
    let mut v = inventory.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("active_accounts");
    }
    v
}

/// At start: mark `interrupted` every `running` session whose runner is gone (its session
/// lease expired or was never taken), failing its unfinished records. Returns how many.
pub async fn recover_interrupted(svc: &Services) -> ServiceResult<u64> {
    let running = repo::running_ids(&svc.db).await?;
    let names: Vec<String> = running.iter().map(|s| session_lease(s)).collect();
    let live = leases::live(&svc.db, &names, chrono::Utc::now()).await?;
    let orphans: Vec<String> = running
        .into_iter()
        .filter(|s| !live.contains(&session_lease(s)))
        .collect();
    Ok(repo::interrupt(&svc.db, orphans, INTERRUPTED).await?)
}
