//! Application cache (`api-v1.md` §4.21): in-process (moka) or Redis (`CACHE_TYPE=redis`),
//! keyed `whalefall:<namespace>:…`. Per-instance data lives under `instance:<id>:` so it can be
//! invalidated per instance or per account.

use serde_json::{Value, json};
use std::time::Duration;

const PREFIX: &str = "whalefall:";

/// The cache shared by all requests.
pub struct AppCache {
    memory: moka::future::Cache<String, String>,
    redis: Option<redis::aio::ConnectionManager>,
}

impl AppCache {
    /// Build with an optional Redis backend; entries expire after `ttl`.
    pub fn new(redis: Option<redis::aio::ConnectionManager>, ttl: Duration) -> Self {
        AppCache {
            memory: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            redis,
        }
    }

    /// Read a JSON value.
    pub async fn get(&self, key: &str) -> Option<Value> {
        let k = format!("{PREFIX}{key}");
        let raw = match &self.redis {
            Some(c) => redis::cmd("GET")
                .arg(&k)
                .query_async::<Option<String>>(&mut c.clone())
                .await
                .ok()
                .flatten(),
            None => self.memory.get(&k).await,
        };
        raw.and_then(|r| serde_json::from_str(&r).ok())
    }

    /// Store a JSON value with a TTL in seconds (Redis) or the cache-wide TTL (memory).
    pub async fn set(&self, key: &str, value: &Value, ttl_secs: u64) {
        let k = format!("{PREFIX}{key}");
        let v = value.to_string();
        match &self.redis {
            Some(c) => {
                let _: Result<(), _> = redis::cmd("SET")
                    .arg(&k)
                    .arg(v)
                    .arg("EX")
                    .arg(ttl_secs)
                    .query_async(&mut c.clone())
                    .await;
            }
            None => self.memory.insert(k, v).await,
        }
    }

    /// Delete every key under `prefix`; returns how many were removed.
    pub async fn invalidate_prefix(&self, prefix: &str) -> Result<u64, String> {
        let pattern = format!("{PREFIX}{prefix}");
        match &self.redis {
            Some(c) => {
                let mut conn = c.clone();
                let mut cursor: u64 = 0;
                let mut removed = 0u64;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{pattern}*"))
                        .arg("COUNT")
                        .arg(500)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !keys.is_empty() {
                        removed += redis::cmd("DEL")
                            .arg(&keys)
                            .query_async::<u64>(&mut conn)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
                Ok(removed)
            }
            None => {
                self.memory.run_pending_tasks().await;
                let before = self.memory.entry_count();
                let p = pattern.clone();
                self.memory
                    .invalidate_entries_if(move |k, _| k.starts_with(&p))
                    .map_err(|e| e.to_string())?;
                self.memory.run_pending_tasks().await;
                Ok(before.saturating_sub(self.memory.entry_count()))
            }
        }
    }

    /// `{status, info}` for `/cache/stats` (`connected` / `error`).
    pub async fn stats(&self) -> Value {
        match &self.redis {
            Some(c) => {
                let mut conn = c.clone();
                let info: Result<String, _> = redis::cmd("INFO")
                    .arg("memory")
                    .query_async(&mut conn)
                    .await;
                let keys: Result<u64, _> = redis::cmd("DBSIZE").query_async(&mut conn).await;
                match (info, keys) {
                    (Ok(info), Ok(keys)) => {
                        let used = info
                            .lines()
                            .find_map(|l| l.strip_prefix("used_memory_human:"))
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        json!({"status": "connected", "info": {"backend": "redis", "keys": keys, "used_memory_human": used}})
                    }
                    (Err(e), _) | (_, Err(e)) => json!({"status": "error", "error": e.to_string()}),
                }
            }
            None => {
                self.memory.run_pending_tasks().await;
                json!({"status": "connected", "info": {"backend": "memory", "entries": self.memory.entry_count()}})
            }
        }
    }
}

/// Cache namespace of one instance.
pub fn instance_prefix(instance_id: i32) -> String {
    format!("instance:{instance_id}:")
}

/// Cache namespace of one account of one instance.
pub fn account_prefix(instance_id: i32, username: &str) -> String {
    format!("instance:{instance_id}:account:{username}:")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[tokio::test]
    async fn memory_prefix_invalidation() {
        let c = AppCache::new(None, Duration::from_secs(60));
        c.set("instance:1:account:a:x", &json!(1), 60).await;
        c.set("instance:1:summary", &json!(2), 60).await;
        c.set("instance:2:summary", &json!(3), 60).await;
        assert_eq!(c.get("instance:1:summary").await, Some(json!(2)));
        assert_eq!(
            c.invalidate_prefix(&account_prefix(1, "a")).await.unwrap(),
            1
        );
        assert_eq!(c.invalidate_prefix(&instance_prefix(1)).await.unwrap(), 1);
        assert_eq!(c.get("instance:2:summary").await, Some(json!(3)));
        assert_eq!(c.stats().await["info"]["entries"], 1);
    }
}
