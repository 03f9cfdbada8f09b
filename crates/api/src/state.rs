//! Shared application state: one struct of cheap handles given to every handler.

use std::sync::Arc;
use std::time::Instant;
use wf_services::cache::AppCache;
use wf_services::{CredentialCipher, Services};

use crate::config::Settings;
use crate::ratelimit::RateLimiter;
use crate::session::Keys;

/// Application state: one `Arc`, so every extractor and middleware layer that clones it pays
/// one atomic increment (issue 16: cloning the whole struct and its caches per layer was a
/// third of the per-request CPU).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateInner {
    pub settings: Arc<Settings>,
    /// The use cases (store, cipher, caches); handlers call nothing else.
    pub svc: Services,
    pub keys: Arc<Keys>,
    pub limiter: Arc<RateLimiter>,
    /// Redis connection when `CACHE_TYPE=redis` (health checks).
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Process start, for `uptime`.
    pub started_at: Instant,
}

impl AppState {
    /// Build the state on an app-store pool; connects to Redis when `CACHE_TYPE=redis` (a
    /// failure falls back to the in-process backend with a warning, so a Redis outage never
    /// blocks start-up).
    pub async fn new(settings: Settings, store: wf_store::Store) -> Result<Self, String> {
        let cipher = CredentialCipher::new(&settings.password_encryption_key)
            .ok_or("PASSWORD_ENCRYPTION_KEY 不是有效的 Fernet 密钥")?;
        let keys = Keys::new(&settings.secret_key);
        let redis = if settings.cache_type == "redis" {
            connect_redis(&settings.cache_redis_url).await?
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
        Ok(AppState(Arc::new(AppStateInner {
            svc: Services::new(store, cipher, cache, settings.bcrypt_log_rounds)
                .with_sync_parallelism(settings.sync_parallelism as usize)
                .with_queue_lease(settings.queue_lease_seconds)
                .with_node_id(settings.node_id.as_deref()),
            settings: Arc::new(settings),
            keys: Arc::new(keys),
            limiter: Arc::new(limiter),
            redis,
            started_at: Instant::now(),
        })))
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

async fn connect_redis(url: &str) -> Result<Option<redis::aio::ConnectionManager>, String> {
    let client = redis::Client::open(url).map_err(|e| format!("CACHE_REDIS_URL 无效: {e}"))?;
    match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        // fail fast while Redis is away (the limiter and cache then fall back to this node's
        // memory): the defaults retry a reconnect six times with backoff, ~6 s per call
        redis::aio::ConnectionManager::new_with_config(
            client,
            redis::aio::ConnectionManagerConfig::new()
                .set_number_of_retries(1)
                .set_min_delay(std::time::Duration::from_millis(50))
                .set_max_delay(std::time::Duration::from_millis(200))
                .set_connection_timeout(Some(std::time::Duration::from_millis(500)))
                .set_response_timeout(Some(std::time::Duration::from_secs(1))),
        ),
    )
    .await
    {
        Ok(Ok(c)) => Ok(Some(c)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "redis unavailable; using the in-process cache");
            Ok(None)
        }
        Err(_) => {
            tracing::warn!("redis connect timed out; using the in-process cache");
            Ok(None)
        }
    }
}
