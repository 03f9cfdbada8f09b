//! Sliding-window rate limiter (`domain.md` §9.6, `api-v1.md` §2.9): every attempt inside the
//! window counts; the attempt that would exceed the limit is rejected. Backends: in-process
//! (moka) or Redis (a sorted set per key, updated atomically by a Lua script, shared by all
//! nodes). A Redis failure falls back to the in-process backend for that call.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: usize,
    pub remaining: usize,
    /// Seconds until a retry may succeed (the window).
    pub retry_after: u64,
    /// Unix seconds when the window resets.
    pub reset_time: i64,
}

const SCRIPT: &str = r"
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then return {0, count} end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window))
return {1, count + 1}
";

/// The limiter shared by all requests.
pub struct RateLimiter {
    memory: moka::sync::Cache<String, Arc<Mutex<VecDeque<f64>>>>,
    redis: Option<redis::aio::ConnectionManager>,
}

impl RateLimiter {
    /// In-process limiter.
    pub fn memory() -> Self {
        RateLimiter {
            memory: moka::sync::Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(Duration::from_secs(2 * 3600))
                .build(),
            redis: None,
        }
    }

    /// Redis-backed limiter (falls back to memory per call when Redis fails).
    pub fn with_redis(conn: redis::aio::ConnectionManager) -> Self {
        RateLimiter {
            redis: Some(conn),
            ..Self::memory()
        }
    }

    /// Record one attempt for `rate_limit:<endpoint>:<identifier>`.
    pub async fn hit(
        &self,
        endpoint: &str,
        identifier: &str,
        limit: usize,
        window: u64,
    ) -> Decision {
        let key = format!("rate_limit:{endpoint}:{identifier}");
        let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        if let Some(conn) = &self.redis {
            let mut conn = conn.clone();
            let member = format!("{now}:{}", crate::session::random_hex(4));
            let res: Result<(i64, i64), _> = redis::Script::new(SCRIPT)
                .key(&key)
                .arg(now)
                .arg(window)
                .arg(limit)
                .arg(member)
                .invoke_async(&mut conn)
                .await;
            match res {
                Ok((allowed, count)) => {
                    return decision(allowed == 1, count as usize, limit, window, now);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "redis rate limiter failed; using in-process fallback")
                }
            }
        }
        let entry = self
            .memory
            .get_with(key, || Arc::new(Mutex::new(VecDeque::new())));
        let mut q = entry.lock().unwrap_or_else(|p| p.into_inner());
        while q.front().is_some_and(|t| *t <= now - window as f64) {
            q.pop_front();
        }
        if q.len() >= limit {
            return decision(false, q.len(), limit, window, now);
        }
        q.push_back(now);
        decision(true, q.len(), limit, window, now)
    }
}

fn decision(allowed: bool, count: usize, limit: usize, window: u64, now: f64) -> Decision {
    Decision {
        allowed,
        limit,
        remaining: limit.saturating_sub(count),
        retry_after: window,
        reset_time: now as i64 + window as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_window() {
        let rl = RateLimiter::memory();
        for i in 0..3 {
            let d = rl.hit("login_attempts", "a:127.0.0.1", 3, 60).await;
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        let d = rl.hit("login_attempts", "a:127.0.0.1", 3, 60).await;
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 60);
        assert!(rl.hit("login_attempts", "b:127.0.0.1", 3, 60).await.allowed);
    }
}
