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
