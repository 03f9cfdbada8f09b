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

/// How long a loaded session user is reused on this node (seconds-level staleness bound for
/// changes made on other nodes; writes on this node invalidate immediately).
pub const USER_CACHE_TTL: Duration = Duration::from_secs(5);

/// How long a cached instance-list total may be reused: writes on this node invalidate at
/// once (generation bump); writes on other nodes are seen within this bound.
pub const LIST_COUNT_TTL: Duration = Duration::from_secs(2);

/// Longest reuse of an expensive total (issue 12): a total that took `t` to count is kept for
/// `clamp(100 × t, LIST_COUNT_TTL, LIST_COUNT_MAX_TTL)` — a 1,000,000-account ledger count
/// (~0.9 s) is not redone every 2 s, a 5 ms count still is. Writes on this node still
/// invalidate at once; writes on other nodes are seen within this bound.
pub const LIST_COUNT_MAX_TTL: Duration = Duration::from_secs(60);

/// A cached list total and how long it may be reused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachedTotal {
    pub(crate) total: u64,
    ttl: Duration,
}

impl CachedTotal {
    /// A total that took `cost` to count.
    pub(crate) fn new(total: u64, cost: Duration) -> Self {
        CachedTotal {
            total,
            ttl: (cost * 100).clamp(LIST_COUNT_TTL, LIST_COUNT_MAX_TTL),
        }
    }
}

struct TotalExpiry;

impl moka::Expiry<String, CachedTotal> for TotalExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &CachedTotal,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// What a write changed (the argument of [`Services::changed`]).
#[derive(Debug, Clone)]
pub enum Change {
    /// Which rows match a list filter may have changed (instance, tag-link, account-sync or
    /// classification writes): cached list totals are dropped.
    Instances,
    /// Instances were hard- or soft-deleted in bulk: list totals and their cached data.
    InstancesRemoved(Vec<i32>),
    /// A user row changed (session user cache).
    User(i32),
    /// A classification rule or a classification changed: the rule cache is dropped
    /// (`domain.md` §4.6).
    Rules,
}

/// The services handle (cheap to clone).
#[derive(Clone)]
pub struct Services {
    pub(crate) db: Store,
    pub(crate) cipher: Arc<CredentialCipher>,
    pub(crate) cache: Arc<AppCache>,
    /// bcrypt cost of new hashes (`BCRYPT_LOG_ROUNDS`).
    pub(crate) bcrypt_cost: u32,
    pub(crate) users: moka::future::Cache<i32, SessionUser>,
    pub(crate) list_counts: moka::future::Cache<String, CachedTotal>,
    /// Page anchors of list filters (instance ids every `ANCHOR_STEP` rows), same lifetime and
    /// generation keys as the totals.
    pub(crate) list_anchors: moka::future::Cache<String, Arc<Vec<i32>>>,
    generation: Arc<AtomicU64>,
    /// This process's identity in lease holders (`<uuid>`).
    pub(crate) node_id: Arc<str>,
    /// How many instances a fleet sync works on at once.
    pub(crate) sync_parallelism: usize,
    /// This node's scheduler state (enabled, leader, heartbeat).
    pub(crate) scheduler: crate::scheduler::SharedState,
    /// Dashboard results with the time they were computed (`dashboard` module lifetimes).
    pub(crate) dashboard: moka::future::Cache<String, (std::time::Instant, serde_json::Value)>,
}

/// Default number of instances a fleet sync works on at once (`SYNC_PARALLELISM`).
pub const DEFAULT_SYNC_PARALLELISM: usize = 4;

impl Services {
    /// Build the handle.
    pub fn new(db: Store, cipher: CredentialCipher, cache: AppCache, bcrypt_cost: u32) -> Self {
        Services {
            db,
            cipher: Arc::new(cipher),
            cache: Arc::new(cache),
            bcrypt_cost,
            users: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
            list_counts: moka::future::Cache::builder()
                .max_capacity(10_000)
                .expire_after(TotalExpiry)
                .build(),
            list_anchors: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(LIST_COUNT_TTL)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
            node_id: uuid::Uuid::new_v4().simple().to_string().into(),
            sync_parallelism: DEFAULT_SYNC_PARALLELISM,
            scheduler: Default::default(),
            dashboard: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(Duration::from_secs(300))
                .build(),
        }
    }

    /// Set how many instances a fleet sync works on at once (at least 1).
    pub fn with_sync_parallelism(mut self, n: usize) -> Self {
        self.sync_parallelism = n.max(1);
        self
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

    /// The one change hook: every write that affects a cache reports here.
    pub async fn changed(&self, change: Change) {
        match change {
            Change::Instances => {
                self.generation.fetch_add(1, Ordering::SeqCst);
            }
            Change::InstancesRemoved(ids) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
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
        }
    }

    /// The total of a list filter (`count_key` = its count statement text), cached for
    /// [`LIST_COUNT_TTL`] — longer for expensive counts, see [`CachedTotal`] — under the
    /// current write generation; when it expires one request
    /// recounts while concurrent ones wait for that figure (no stampede).
    pub(crate) async fn cached_total<F>(
        &self,
        count_key: String,
        count: F,
    ) -> Result<u64, sea_orm::DbErr>
    where
        F: std::future::Future<Output = Result<u64, sea_orm::DbErr>>,
    {
        let key = format!("{}:{count_key}", self.generation());
        self.list_counts
            .try_get_with(key, async {
                let started = std::time::Instant::now();
                count.await.map(|n| CachedTotal::new(n, started.elapsed()))
            })
            .await
            .map(|c| c.total)
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))
    }

    /// Current instance-list generation (part of cached-total keys).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
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
