//! [`Services`]: the handle every use case runs on — the store pool, the credential cipher,
//! the application cache and the small per-node caches — and the one change hook that keeps
//! those caches true after writes. The HTTP layer and background jobs hold the same handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wf_store::Store;

use crate::CredentialCipher;
use crate::cache::{AppCache, instance_prefix};
use crate::users::SessionUser;

/// Longest reuse of a loaded session user; it is dropped sooner by any user write on any
/// node (its [`Area::Users`] generation).
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);

/// Age after which a cached list total is recounted although its generation did not move.
/// Correctness does not depend on it: every cached total is keyed by its area's generation,
/// so any write of the area on any node makes the next request recount synchronously. It only
/// bounds how long a write whose generation bump failed (the store went away between commit
/// and bump) can go unseen; such a refresh is done by one request while the others keep the
/// figure they have (a 1-second count of 1,000,000 accounts expiring under load stalled every
/// reader for its duration).
pub const LIST_COUNT_MAX_TTL: Duration = Duration::from_secs(60);

/// A cached list total: the figure, when it was counted, when a refresh was claimed.
pub(crate) struct CachedTotal {
    pub(crate) total: u64,
    counted: std::time::Instant,
    /// Milliseconds after `counted` at which a request claimed the refresh (0: none).
    refresh_claimed: AtomicU64,
}

impl CachedTotal {
    pub(crate) fn new(total: u64) -> Arc<Self> {
        Arc::new(CachedTotal {
            total,
            counted: std::time::Instant::now(),
            refresh_claimed: AtomicU64::new(0),
        })
    }

    /// The figure while fresh, or while another request refreshes it (a refresh that has not
    /// landed within 10 s — its count failed — is claimed again). `None`: the caller
    /// recounts.
    pub(crate) fn usable(&self) -> Option<u64> {
        let age = self.counted.elapsed();
        if age < LIST_COUNT_MAX_TTL {
            return Some(self.total);
        }
        let now_ms = age.as_millis() as u64;
        let claimed = self.refresh_claimed.load(Ordering::SeqCst);
        if claimed != 0 && now_ms.saturating_sub(claimed) < 10_000 {
            return Some(self.total);
        }
        match self.refresh_claimed.compare_exchange(
            claimed,
            now_ms,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => None,
            Err(_) => Some(self.total),
        }
    }
}

/// A cache area: what a node may keep in memory about it is keyed by the area's generation
/// (issue 16). On PostgreSQL the generations live in the store (`cache_generations`), so a
/// write acknowledged on any node is seen by every node's next request; on SQLite (one node)
/// they are this process's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// User rows: role, active flag, deletion (the session user cache).
    Users,
    /// Which instances match an instance-list filter (instances, tag links, credentials).
    Instances,
    /// Which accounts match a ledger filter (account set, classification assignments).
    Accounts,
    /// Capacity inventory, sizes and aggregations.
    Capacity,
    /// Log entries (log list totals).
    Logs,
    /// Classification rules and classifications (the rule cache).
    Rules,
}

impl Area {
    /// Every area, in generation-array order.
    pub const ALL: [Area; 6] = [
        Area::Users,
        Area::Instances,
        Area::Accounts,
        Area::Capacity,
        Area::Logs,
        Area::Rules,
    ];

    /// The area's row name in `cache_generations`.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Users => "users",
            Area::Instances => "instances",
            Area::Accounts => "accounts",
            Area::Capacity => "capacity",
            Area::Logs => "logs",
            Area::Rules => "rules",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One reading of every area's generation.
pub type Generations = [u64; 6];

/// Who and what a request is, for the log centre's entries made while it runs
/// (`request_id`, `user_id` once known, `method`, `path`).
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    /// Incoming `X-Request-Id` or a new 32-hex id.
    pub request_id: String,
    /// The session user's id, 0 until the handler loaded it.
    pub user_id: Arc<std::sync::atomic::AtomicI64>,
    pub method: String,
    pub path: String,
}

/// What a request carries in its task (one task-local, no tracing span: issue 16 measured
/// the per-request span and its enter/exit on every poll).
struct RequestLocal {
    generations: std::cell::Cell<Option<Generations>>,
    log: RequestLog,
}

tokio::task_local! {
    static REQUEST: RequestLocal;
}

/// Run one request with its log context and its own generations snapshot: the first cache
/// lookup of the request reads the store's generations (one statement), later lookups of the
/// same request reuse them; a write in the request clears the snapshot. Outside a scope
/// (background runs) every lookup reads the store.
pub async fn request_scope<F: std::future::Future>(log: RequestLog, f: F) -> F::Output {
    REQUEST
        .scope(
            RequestLocal {
                generations: std::cell::Cell::new(None),
                log,
            },
            f,
        )
        .await
}

/// Run `f` with `log` as the current request's log context (entries logged after the
/// request's future finished: the 5xx line, the audit entry).
pub fn with_request_log<R>(log: RequestLog, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(
        RequestLocal {
            generations: std::cell::Cell::new(None),
            log,
        },
        f,
    )
}

/// The current request's log context, if any.
pub(crate) fn current_request_log<R>(f: impl FnOnce(&RequestLog) -> R) -> Option<R> {
    REQUEST.try_with(|r| f(&r.log)).ok()
}

/// What a write changed (the argument of [`Services::changed`]). Each variant names the cache
/// areas it bumps, so a sync does not drop the instance list's caches.
#[derive(Debug, Clone)]
pub enum Change {
    /// Which instances match an instance-list filter may have changed (instance rows, tag
    /// links, credentials); instance names and tags filter the ledgers too.
    Instances,
    /// Instances were hard- or soft-deleted in bulk: instance list, ledgers and capacity lists
    /// (their rows join live instances), and the instances' cached data.
    InstancesRemoved(Vec<i32>),
    /// The account set or classification assignments changed (ledger totals).
    Accounts,
    /// Capacity inventory, sizes or aggregations changed.
    Capacity,
    /// Log entries were written or removed (log list totals).
    Logs,
    /// A user row changed (session user cache).
    User(i32),
    /// A classification rule or a classification changed: the rule cache is dropped
    /// (`domain.md` §4.6).
    Rules,
}

impl Change {
    fn areas(&self) -> &'static [Area] {
        match self {
            // instance names, hosts and tags are ledger and capacity filters too
            Change::Instances => &[Area::Instances, Area::Accounts, Area::Capacity],
            Change::InstancesRemoved(_) => &[Area::Instances, Area::Accounts, Area::Capacity],
            Change::Accounts => &[Area::Accounts],
            Change::Capacity => &[Area::Capacity],
            Change::Logs => &[Area::Logs],
            Change::User(_) => &[Area::Users],
            Change::Rules => &[Area::Rules, Area::Accounts],
        }
    }
}

/// The services handle: one `Arc` (cloning it is one atomic increment, whatever it holds).
#[derive(Clone)]
pub struct Services(Arc<ServicesInner>);

impl std::ops::Deref for Services {
    type Target = ServicesInner;
    fn deref(&self) -> &ServicesInner {
        &self.0
    }
}

/// What [`Services`] holds.
pub struct ServicesInner {
    pub(crate) db: Store,
    pub(crate) cipher: CredentialCipher,
    pub(crate) cache: AppCache,
    /// bcrypt cost of new hashes (`BCRYPT_LOG_ROUNDS`).
    pub(crate) bcrypt_cost: u32,
    /// Session users with the [`Area::Users`] generation they were loaded under.
    pub(crate) users: moka::future::Cache<i32, (u64, SessionUser)>,
    /// List totals by area generation and count statement.
    pub(crate) list_counts: moka::future::Cache<String, Arc<CachedTotal>>,
    /// Page anchors of list filters (instance ids every `ANCHOR_STEP` rows), same lifetime and
    /// generation keys as the totals.
    pub(crate) list_anchors: moka::future::Cache<String, Arc<Vec<i32>>>,
    /// This process's generations (the only ones on SQLite; a floor on PostgreSQL).
    local: [AtomicU64; 6],
    /// Generations live in the store (PostgreSQL: several nodes may share it).
    shared: bool,
    /// This process's identity in lease holders and queue claims (`<uuid>` or
    /// `WHALEFALL_NODE_ID`).
    pub(crate) node_id: Arc<str>,
    /// How many instances a fleet run works on at once on this node.
    pub(crate) sync_parallelism: std::sync::atomic::AtomicUsize,
    /// This node's scheduler state (enabled, leader, heartbeat).
    pub(crate) scheduler: crate::scheduler::SharedState,
    /// Dashboard results with the time they were computed (`dashboard` module lifetimes).
    pub(crate) dashboard: moka::future::Cache<String, (std::time::Instant, serde_json::Value)>,
    /// API requests this node has served (the fleet worker yields to them, see
    /// [`crate::fleet::BUSY_REQUESTS_PER_SEC`]).
    pub(crate) requests: AtomicU64,
    /// Seconds a claimed queue record is held without a heartbeat (`QUEUE_LEASE_SECONDS`).
    pub(crate) queue_lease_secs: std::sync::atomic::AtomicU32,
    /// This node's fleet queue worker (started once, woken on new work).
    pub(crate) fleet_worker: crate::fleet::WorkerHandle,
}

/// Default number of instances a fleet sync works on at once (`SYNC_PARALLELISM`).
pub const DEFAULT_SYNC_PARALLELISM: usize = 4;

impl Services {
    /// Build the handle.
    pub fn new(db: Store, cipher: CredentialCipher, cache: AppCache, bcrypt_cost: u32) -> Self {
        let shared = db.get_database_backend() == sea_orm::DbBackend::Postgres;
        Services(Arc::new(ServicesInner {
            db,
            cipher,
            cache,
            bcrypt_cost,
            users: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
            list_counts: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(3_600))
                .build(),
            list_anchors: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(LIST_COUNT_MAX_TTL)
                .build(),
            local: Default::default(),
            shared,
            node_id: uuid::Uuid::new_v4().simple().to_string().into(),
            sync_parallelism: DEFAULT_SYNC_PARALLELISM.into(),
            scheduler: Default::default(),
            dashboard: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(Duration::from_secs(300))
                .build(),
            requests: AtomicU64::new(0),
            queue_lease_secs: (crate::fleet::CLAIM_TTL.num_seconds() as u32).into(),
            fleet_worker: Default::default(),
        }))
    }

    /// Set how many instances a fleet run works on at once on this node (at least 1).
    pub fn with_sync_parallelism(self, n: usize) -> Self {
        self.sync_parallelism.store(n.max(1), Ordering::Relaxed);
        self
    }

    /// Name this node (`WHALEFALL_NODE_ID`) instead of a random id; before the handle is
    /// shared.
    pub fn with_node_id(mut self, id: Option<&str>) -> Self {
        if let (Some(id), Some(inner)) = (id, Arc::get_mut(&mut self.0)) {
            inner.node_id = id.into();
        }
        self
    }

    /// Set how long a claimed queue record is held without a heartbeat (seconds, at least 3).
    pub fn with_queue_lease(self, secs: u32) -> Self {
        self.queue_lease_secs.store(secs.max(3), Ordering::Relaxed);
        self
    }

    /// How long a claimed queue record is held without a heartbeat.
    pub(crate) fn queue_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.queue_lease_secs.load(Ordering::Relaxed).into())
    }

    /// Count one API request (called by the HTTP layer once per request; the fleet worker
    /// halves its parallelism while the node serves many).
    pub fn note_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// This node's identity in lease holders and queue claims.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The store pool (tests seed rows through it; handlers never do).
    pub fn store(&self) -> &Store {
        &self.db
    }

    /// The credential cipher (tests decrypt stored ciphertexts with it).
    pub fn cipher(&self) -> &CredentialCipher {
        &self.cipher
    }

    /// This node's scheduler state (health checks).
    pub fn scheduler(&self) -> &crate::scheduler::SchedulerState {
        &self.scheduler
    }

    /// The application cache.
    pub fn cache(&self) -> &AppCache {
        &self.cache
    }

    /// The one change hook: every acknowledged write reports here before it answers. The
    /// areas of the change are bumped in this process and, on PostgreSQL, in the store (so
    /// every node's next request sees them); a failed store bump is logged as an error and
    /// the other nodes fall back on the caches' lifetimes ([`LIST_COUNT_MAX_TTL`]).
    pub async fn changed(&self, change: Change) {
        let areas = change.areas();
        for a in areas {
            self.local[a.index()].fetch_add(1, Ordering::SeqCst);
        }
        let _ = REQUEST.try_with(|r| r.generations.set(None));
        if self.shared {
            let names: Vec<&str> = areas.iter().map(|a| a.as_str()).collect();
            if let Err(e) = wf_store::repo::generations::bump(&self.db, &names).await {
                tracing::error!(areas = ?names, error = %e, "cache generation bump failed; other nodes see this write when their caches expire");
            }
        }
        match change {
            Change::InstancesRemoved(ids) => {
                for id in ids {
                    if let Err(e) = self.cache.invalidate_prefix(&instance_prefix(id)).await {
                        tracing::warn!(instance = id, error = %e, "cache invalidation failed");
                    }
                }
            }
            Change::User(id) => self.users.invalidate(&id).await,
            Change::Rules => {
                if let Err(e) = self
                    .cache
                    .invalidate_prefix(crate::classification_cache::PREFIX)
                    .await
                {
                    tracing::warn!(error = %e, "rule cache invalidation failed");
                }
            }
            _ => {}
        }
    }

    /// Every area's generation as this request sees it: this process's counters on SQLite; on
    /// PostgreSQL the store's (one statement, read once per request — see
    /// [`request_scope`]).
    pub async fn generations(&self) -> Result<Generations, sea_orm::DbErr> {
        let local = || std::array::from_fn(|i| self.local[i].load(Ordering::SeqCst));
        if !self.shared {
            return Ok(local());
        }
        if let Ok(Some(g)) = REQUEST.try_with(|r| r.generations.get()) {
            return Ok(g);
        }
        let rows = wf_store::repo::generations::read_all(&self.db).await?;
        let mut g: Generations = [0; 6];
        for (name, n) in rows {
            if let Some(a) = Area::ALL.iter().find(|a| a.as_str() == name) {
                g[a.index()] = n as u64;
            }
        }
        let _ = REQUEST.try_with(|r| r.generations.set(Some(g)));
        Ok(g)
    }

    /// One area's generation (see [`Services::generations`]).
    pub async fn generation(&self, area: Area) -> Result<u64, sea_orm::DbErr> {
        Ok(self.generations().await?[area.index()])
    }

    /// The total of a list filter of `area` (`count_key` = its count statement text), cached
    /// under the area's current generation (for at most [`LIST_COUNT_MAX_TTL`]); any write of
    /// the area on any node makes the next request recount. One request recounts while
    /// concurrent ones wait for that figure (no stampede).
    pub(crate) async fn cached_total<F>(
        &self,
        area: Area,
        count_key: String,
        count: F,
    ) -> Result<u64, sea_orm::DbErr>
    where
        F: std::future::Future<Output = Result<u64, sea_orm::DbErr>>,
    {
        let key = format!(
            "{}:{}:{count_key}",
            area.as_str(),
            self.generation(area).await?
        );
        match self.list_counts.get(&key).await {
            Some(c) => match c.usable() {
                Some(n) => Ok(n),
                // this request refreshes an old figure; the others keep using it meanwhile
                None => {
                    let n = count.await?;
                    self.list_counts.insert(key, CachedTotal::new(n)).await;
                    Ok(n)
                }
            },
            None => self
                .list_counts
                .try_get_with(key, async { count.await.map(CachedTotal::new) })
                .await
                .map(|c| c.total)
                .map_err(|e| sea_orm::DbErr::Custom(e.to_string())),
        }
    }

    /// Hash a password off the async runtime with the configured cost.
    pub(crate) async fn hash_password(&self, plain: String) -> crate::ServiceResult<String> {
        let cost = self.bcrypt_cost;
        tokio::task::spawn_blocking(move || crate::passwords::hash(&plain, cost))
            .await
            .map_err(|e| crate::ServiceError::Internal {
                public: "保存失败,请稍后再试",
                detail: e.to_string(),
            })
    }
}

/// Verify a bcrypt hash off the async runtime (false when the task fails).
pub async fn verify_password(plain: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || crate::passwords::verify(&plain, &hash))
        .await
        .unwrap_or(false)
}
