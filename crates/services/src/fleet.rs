//! Fleet work (`domain.md` §2.1, §2.9; issues 8 and 16): account sync and capacity collection
//! of every active, not deleted instance under one sync session whose per-instance records
//! are a **queue in the store** shared by every node: each node's worker claims records
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), holds them under a lease renewed by a heartbeat,
//! runs each instance in its own store transaction under a per-instance lease, and writes the
//! session's counters from its records (each counted once). A node that dies leaves its
//! records to be re-claimed when their lease expires. Cancel stops the claims (records not yet
//! started become `cancelled`); the final status never overwrites a cancel: `completed`,
//! `completed_with_errors` (some instances failed or were skipped) or `failed` (none
//! succeeded). Non-queue sessions (aggregations) hold a [`SessionLease`]; one left `running`
//! by a process that died is marked `interrupted` ([`recover_interrupted`]).

use chrono::Duration;
use serde_json::json;
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
    // a session's work holds the instance as the session (any node that re-claims a dead
    // node's record takes the same lease); a single sync holds it alone
    let holder = match session_id {
        Some(sid) => format!("session:{sid}"),
        None => format!("{}:{}", svc.node_id, uuid::Uuid::new_v4()),
    };
    match leases::try_acquire(&svc.db, &name, &holder, INSTANCE_LEASE_TTL).await {
        Ok(true) => {}
        Ok(false) => return Err(LeasedError::Busy),
        Err(e) => return Err(LeasedError::Sync(SyncError::Store(e))),
    }
    let outcome = sync_instance(&svc.db, &svc.cipher, inst, session_id).await;
    // only a sync that changed the account set or a filtered column moves ledger totals
    if let Ok(o) = &outcome
        && o.created + o.reactivated + o.deactivated + o.updated > 0
    {
        svc.changed(crate::context::Change::Accounts).await;
    }
    if let Err(e) = leases::release(&svc.db, &name, &holder).await {
        tracing::warn!(instance = inst.id, error = %e, "instance lease release failed (it expires)");
    }
    outcome.map_err(LeasedError::Sync)
}

/// What one instance of a session produced: the record's outcome (the session's counters are
/// recounted from the records' statuses).
pub type JobResult = RecordOutcome;

/// How long a claimed queue record is held without a heartbeat: a node that dies leaves its
/// records to be re-claimed by any node this long after its last renewal (the worker renews
/// every third of it). `QUEUE_LEASE_SECONDS` overrides it ([`Services::with_queue_lease`]).
pub const CLAIM_TTL: Duration = Duration::seconds(60);
/// How often an idle worker looks for work another node queued (its own node wakes it at once).
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a worker sweeps: queue sessions whose last worker died before closing them,
/// records of ended sessions left running, and non-queue sessions whose runner is gone.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Above this many API requests per second a node's worker claims at most half its
/// `SYNC_PARALLELISM` (at least 1): on a busy node the fleet run yields CPU to the people
/// reading (issue 16: reads keep ≥ 50 % of their idle throughput while a sync-all runs), and
/// takes its full parallelism back when the node is quiet.
pub const BUSY_REQUESTS_PER_SEC: f64 = 50.0;

/// This node's queue worker: started once per [`Services`], woken when this node queues work.
#[derive(Default)]
pub struct WorkerHandle {
    started: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

/// `POST /accounts/actions/sync-all`: create the session (one `pending` record per active,
/// not deleted instance, by name) and queue it; returns its id at once. The records are
/// claimed by the queue workers of every node sharing the store ([`ensure_worker`]).
/// 400 `没有找到活跃的数据库实例` when no instance is active (`api-v1.md` §4.10).
pub async fn start_sync_all(
    svc: &Services,
    sync_type: &str,
    created_by: Option<i32>,
) -> ServiceResult<String> {
    start_session(
        svc,
        "account",
        sync_type,
        created_by,
        "批量同步任务触发失败,请稍后重试",
    )
    .await
}

/// The log-centre module of a queue category (`domain.md` §8.2).
fn module_of(category: &str) -> &'static str {
    match category {
        "capacity" => "capacity_sync",
        _ => "accounts_sync",
    }
}

/// Queue a background session of `category` (one of
/// [`repo::QUEUE_CATEGORIES`]) over every active, not deleted instance: one `pending` record
/// per instance, claimed by any node's worker, bounded parallelism per node, cancel checked
/// by the claim itself. 400 `没有找到活跃的数据库实例` when no instance is active.
pub async fn start_session(
    svc: &Services,
    category: &str,
    sync_type: &str,
    created_by: Option<i32>,
    public: &'static str,
) -> ServiceResult<String> {
    if instance_repo::count_active(&svc.db).await.public(public)? == 0 {
        return Err(ServiceError::validation("没有找到活跃的数据库实例"));
    }
    let targets = instance_repo::sync_targets(&svc.db).await.public(public)?;
    let session_id = uuid::Uuid::new_v4().to_string();
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
    tracing::info!(module = module_of(category), session_id = %session_id, category = category,
        total_instances = named.len(), created_by = created_by, "同步会话已开始: {} 个实例", named.len());
    ensure_worker(svc);
    svc.fleet_worker.wake.notify_one();
    Ok(session_id)
}

/// Start this node's queue worker unless it runs already. `serve` starts it at boot so a node
/// takes its share of sessions queued by others and re-claims the records of dead nodes.
pub fn ensure_worker(svc: &Services) {
    if !svc
        .fleet_worker
        .started
        .swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        tokio::spawn(worker(svc.clone()));
    }
}

/// The queue worker: claims up to `SYNC_PARALLELISM` records at a time, runs each in its own
/// task (one store transaction per instance), renews its claims, and sweeps now and then.
async fn worker(svc: Services) {
    let holder = format!("{}:worker", svc.node_id);
    let ttl = svc.queue_lease();
    let mut tasks: tokio::task::JoinSet<i32> = tokio::task::JoinSet::new();
    let mut held: std::collections::HashSet<i32> = Default::default();
    let mut last_renew = std::time::Instant::now();
    let mut last_sweep: Option<std::time::Instant> = None;
    let mut claim_failures = 0u32;
    let mut load = (std::time::Instant::now(), 0u64, false);
    loop {
        let parallelism = svc
            .sync_parallelism
            .load(std::sync::atomic::Ordering::Relaxed);
        // the node's request rate over the last second or so decides its share
        let served = svc.requests.load(std::sync::atomic::Ordering::Relaxed);
        let elapsed = load.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            load = (
                std::time::Instant::now(),
                served,
                (served - load.1) as f64 / elapsed > BUSY_REQUESTS_PER_SEC,
            );
        }
        let share = if load.2 {
            parallelism.div_ceil(2)
        } else {
            parallelism
        };
        let free = share.saturating_sub(tasks.len());
        if free > 0 {
            match repo::claim(&svc.db, &holder, free as u64, ttl).await {
                Ok(items) => {
                    claim_failures = 0;
                    for item in items {
                        held.insert(item.id);
                        tasks.spawn(run_item(svc.clone(), holder.clone(), item));
                    }
                }
                Err(e) => {
                    claim_failures += 1;
                    // once per outage, not once per second
                    if claim_failures == 1 {
                        tracing::error!(module = "sync_session", error = %e, "queue claim failed; retrying");
                    }
                }
            }
        }
        if last_renew.elapsed() >= (ttl / 3).to_std().unwrap_or_default() {
            let ids: Vec<i32> = held.iter().copied().collect();
            if let Err(e) = repo::renew_claims(&svc.db, &holder, &ids, ttl).await {
                tracing::warn!(module = "sync_session", error = %e, "queue lease renewal failed");
            }
            last_renew = std::time::Instant::now();
        }
        if last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_INTERVAL) {
            sweep(&svc).await;
            last_sweep = Some(std::time::Instant::now());
        }
        tokio::select! {
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok(id) => { held.remove(&id); }
                    Err(e) => tracing::error!(module = "sync_session", error = %e, "queue item task died"),
                }
            }
            _ = svc.fleet_worker.wake.notified() => {}
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

/// Close what dead nodes left: queue sessions with no open record, records of ended sessions
/// still `running` after their lease, non-queue sessions whose runner's lease is gone.
async fn sweep(svc: &Services) {
    match repo::queue_sessions_done(&svc.db).await {
        Ok(ids) => {
            for sid in ids {
                settle(svc, &sid).await;
            }
        }
        Err(e) => tracing::warn!(module = "sync_session", error = %e, "queue sweep failed"),
    }
    if let Err(e) = repo::sweep_abandoned(&svc.db).await {
        tracing::warn!(module = "sync_session", error = %e, "queue sweep failed");
    }
    match recover_interrupted(svc).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            module = "sync_session",
            sessions = n,
            "sessions whose runner stopped marked interrupted"
        ),
        Err(e) => {
            tracing::warn!(module = "sync_session", error = %e, "interrupted-session sweep failed")
        }
    }
}

/// Run one claimed record and write its outcome (only while this node still holds it), then
/// update the session's counters and close it when no record is open. Returns the record id.
async fn run_item(svc: Services, holder: String, item: repo::ClaimedRecord) -> i32 {
    let inst = match instance_repo::find(&svc.db, item.instance_id).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(module = "sync_session", record = item.id, error = %e, "instance look-up failed; the record is retried after its lease");
            return item.id;
        }
    };
    let outcome = match inst {
        None => failed("实例不存在".into()),
        Some(inst) => match item.sync_category.as_str() {
            "capacity" => crate::capacity::collect_job(&svc, &item.session_id, &inst).await,
            _ => account_job(&svc, &item.session_id, &inst).await,
        },
    };
    match repo::finish_claimed(&svc.db, item.id, &holder, outcome).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            module = "sync_session",
            record = item.id,
            "record re-claimed by another node after its lease expired; outcome not written"
        ),
        Err(e) => tracing::error!(module = "sync_session", record = item.id, error = %e,
            "sync record not written; it is retried after its lease"),
    }
    settle(&svc, &item.session_id).await;
    item.id
}

/// Write a session's counters from its records (each record counted once, whichever node ran
/// it) and set its final status when no record is open: `completed`, `completed_with_errors`
/// or `failed`, never over a cancel or an interruption.
async fn settle(svc: &Services, session_id: &str) {
    let (open, ok, failed) = match repo::progress(&svc.db, session_id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(module = "sync_session", session = %session_id, error = %e, "session progress not read");
            return;
        }
    };
    let (o, f) = (ok as i32, failed as i32);
    if open > 0 {
        if let Err(e) = repo::set_counters(&svc.db, session_id, o, f).await {
            tracing::error!(module = "sync_session", session = %session_id, error = %e, "session counters not written");
        }
        return;
    }
    let final_status = match (o, f) {
        (_, 0) => status::COMPLETED,
        (0, _) => status::FAILED,
        _ => status::COMPLETED_WITH_ERRORS,
    };
    match repo::finish(&svc.db, session_id, final_status, o, f).await {
        Ok(true) => {
            let module = match repo::find(&svc.db, session_id).await {
                Ok(Some(s)) => module_of(&s.sync_category),
                _ => "sync_session",
            };
            tracing::info!(module = module, session_id = %session_id, status = final_status,
                successful_instances = o, failed_instances = f,
                "同步会话已结束: {final_status}, 成功 {o} 个, 失败 {f} 个")
        }
        Ok(false) => {
            // cancelled, interrupted, or closed by another node: keep the status, fix counters
            if let Err(e) = repo::set_counters(&svc.db, session_id, o, f).await {
                tracing::error!(module = "sync_session", session = %session_id, error = %e, "session counters not written");
            }
        }
        Err(e) => {
            tracing::error!(module = "sync_session", session = %session_id, error = %e, "session final status not written")
        }
    }
}

/// A record skipped because another run holds the instance.
pub fn skipped_busy() -> JobResult {
    RecordOutcome {
        status: status::SKIPPED,
        error_message: Some(SKIPPED_BUSY.into()),
        ..Default::default()
    }
}

/// A failed record.
pub fn failed(message: String) -> JobResult {
    RecordOutcome {
        status: status::FAILED,
        error_message: Some(message),
        ..Default::default()
    }
}

/// Account sync of one instance of a session, under its lease.
async fn account_job(svc: &Services, session_id: &str, inst: &instance::Model) -> JobResult {
    match sync_leased(svc, inst, Some(session_id)).await {
        Ok(o) => completed(&o),
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

/// The lease a non-queue session's runner holds while it runs (aggregations).
pub fn session_lease(session_id: &str) -> String {
    format!("sync-session:{session_id}")
}

/// Hold a non-queue session's lease while its runner works: renewed every third of
/// [`SESSION_LEASE_TTL`], released when dropped. A node that dies stops renewing, and the next
/// sweep of any node marks the session `interrupted`.
pub struct SessionLease {
    renew: tokio::task::JoinHandle<()>,
    release: Option<(Services, String, String)>,
}

impl SessionLease {
    /// Take the lease of `session_id` for this node (before the session row exists, so no
    /// sweep can take a fresh session for an orphan).
    pub async fn take(svc: &Services, session_id: &str) -> Result<Self, sea_orm::DbErr> {
        let (name, holder) = (
            session_lease(session_id),
            format!("{}:{session_id}", svc.node_id),
        );
        leases::try_acquire(&svc.db, &name, &holder, SESSION_LEASE_TTL).await?;
        let (s, n, h) = (svc.clone(), name.clone(), holder.clone());
        let renew = tokio::spawn(async move {
            let period = (SESSION_LEASE_TTL / 3).to_std().unwrap_or_default();
            loop {
                tokio::time::sleep(period).await;
                if let Err(e) = leases::try_acquire(&s.db, &n, &h, SESSION_LEASE_TTL).await {
                    tracing::warn!(error = %e, "session lease renewal failed");
                }
            }
        });
        Ok(SessionLease {
            renew,
            release: Some((svc.clone(), name, holder)),
        })
    }
}

impl Drop for SessionLease {
    fn drop(&mut self) {
        self.renew.abort();
        if let Some((svc, name, holder)) = self.release.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = leases::release(&svc.db, &name, &holder).await {
                    tracing::warn!(error = %e, "session lease release failed (it expires)");
                }
            });
        }
    }
}

/// Mark `interrupted` every `running` non-queue session (aggregations) whose runner is gone
/// (its session lease expired or was never taken), failing its unfinished records; run at
/// start and by every worker sweep. Queue sessions (account sync, capacity collection) are
/// never interrupted: their records are re-claimed by the nodes still alive. Returns how many.
pub async fn recover_interrupted(svc: &Services) -> ServiceResult<u64> {
    let running = repo::running_ids_outside_queue(&svc.db).await?;
    let names: Vec<String> = running.iter().map(|s| session_lease(s)).collect();
    let live = leases::live(&svc.db, &names, chrono::Utc::now()).await?;
    let orphans: Vec<String> = running
        .into_iter()
        .filter(|s| !live.contains(&session_lease(s)))
        .collect();
    Ok(repo::interrupt(&svc.db, orphans, INTERRUPTED).await?)
}
