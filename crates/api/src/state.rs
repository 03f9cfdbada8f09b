//! Shared application state: one struct of `Arc`s handed to every handler.

use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Instant;
use wf_services::CredentialCipher;

use crate::cache::AppCache;
use crate::config::Settings;
use crate::ratelimit::RateLimiter;
use crate::session::Keys;

/// How long a loaded session user is reused on this node (seconds-level staleness bound for
/// changes made on other nodes; writes on this node invalidate immediately).
pub const USER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a cached instance-list total may be reused: writes on this node invalidate at
/// once (generation bump); writes on other nodes are seen within this bound.
pub const LIST_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// App store connection pool.
    pub db: DatabaseConnection,
    pub cipher: Arc<CredentialCipher>,
    pub keys: Arc<Keys>,
    pub limiter: Arc<RateLimiter>,
    /// Redis connection when `CACHE_TYPE=redis` (health checks).
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Application cache (memory or Redis).
    pub cache: Arc<AppCache>,
    /// Session users by id, kept briefly so authorisation costs no query per request;
    /// invalidated on every user write (`USER_CACHE_TTL`).
    pub users: moka::future::Cache<i32, wf_store::entity::user::Model>,
    /// Totals of instance-list filters, keyed by `<generation>:<count statement>`; see
    /// [`AppState::bump_instances`] and [`LIST_COUNT_TTL`].
    pub list_counts: moka::future::Cache<String, u64>,
    /// Bumped by every write that can change which instances match a list filter.
    pub instance_generation: Arc<std::sync::atomic::AtomicU64>,
    /// Process start, for `uptime`.
    pub started_at: Instant,
}

impl AppState {
    /// Build the state; connects to Redis when `CACHE_TYPE=redis` (a failure falls back to the
    /// in-process backend with a warning, so a Redis outage never blocks start-up).
    pub async fn new(settings: Settings, db: DatabaseConnection) -> Result<Self, String> {
        let cipher = CredentialCipher::new(&settings.password_encryption_key)
            .ok_or("PASSWORD_ENCRYPTION_KEY 不是有效的 Fernet 密钥")?;
        let keys = Keys::new(&settings.secret_key);
        let redis = if settings.cache_type == "redis" {
            match redis::Client::open(settings.cache_redis_url.as_str()) {
                Ok(client) => match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    redis::aio::ConnectionManager::new(client),
                )
                .await
                {
                    Ok(Ok(c)) => Some(c),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "redis unavailable; using the in-process cache");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("redis connect timed out; using the in-process cache");
                        None
                    }
                },
                Err(e) => return Err(format!("CACHE_REDIS_URL 无效: {e}")),
            }
        } else {
            None
        };
        let limiter = match &redis {
            Some(c) => RateLimiter::with_redis(c.clone()),
            None => RateLimiter::memory(),
        };
        let cache = AppCache::new(
            redis.clone(),
            std::time::Duration::from_secs(settings.cache_default_timeout),
        );
        Ok(AppState {
            list_counts: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LIST_COUNT_TTL)
                .build(),
            instance_generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            users: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
            cache: Arc::new(cache),
            settings: Arc::new(settings),
            db,
            cipher: Arc::new(cipher),
            keys: Arc::new(keys),
            limiter: Arc::new(limiter),
            redis,
            started_at: Instant::now(),
        })
    }

    /// Invalidate cached instance-list totals: call after any write to instances or their
    /// tag links (create, update, delete, restore, batch operations, tag assignment/rename).
    pub fn bump_instances(&self) {
        self.instance_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Current instance-list generation.
    pub fn instances_generation(&self) -> u64 {
        self.instance_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Cache backend health: Redis `PING` when configured, else always healthy.
    pub async fn cache_healthy(&self) -> bool {
        match &self.redis {
            None => self.settings.cache_type != "redis",
            Some(c) => {
                let mut c = c.clone();
                matches!(
                    tokio::time::timeout(
                        std::time::Duration::from_secs(2),
                        redis::cmd("PING").query_async::<String>(&mut c)
                    )
                    .await,
                    Ok(Ok(_))
                )
            }
        }
    }
}
