//! The classification rule cache (`domain.md` §4.6, `api-v1.md` §4.21 #128–#130).
//!
//! Auto-classification reads the active rules through `classification_rules:all` (and writes
//! `classification_rules:<db_type>` beside it, which the statistics endpoint reports). Every
//! rule or classification mutation drops both (`Change::Rules`), so a run never evaluates a
//! deleted or edited rule — the original kept evaluating them after a delete (§13.5).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wf_domain::AppError;
use wf_store::repo::rules as rule_repo;

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// Namespace of the rule cache keys.
pub const PREFIX: &str = "classification_rules:";
/// Rule cache lifetime in seconds (`CACHE_RULE_TTL`, default 7200 s).
pub const RULE_TTL_SECS: u64 = 7_200;
/// The engines with a per-db-type rule entry (no aliases).
pub const DB_TYPES: [&str; 4] = ["mysql", "postgresql", "sqlserver", "oracle"];

/// One cached active rule (`domain.md` §4.6 shape); `created_at` UTC ISO-8601.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedRule {
    pub id: i32,
    pub classification_id: i32,
    /// Lower-case db type.
    pub db_type: String,
    pub rule_name: String,
    /// Canonical JSON text.
    pub rule_expression: String,
    pub created_at: Option<String>,
}

/// Active rules in creation order (oldest first), from the cache when present and built under
/// the current rules generation, else from the store (then cached under `all` as
/// `{"generation", "rules"}` and per db type).
pub async fn active_rules(svc: &Services, public: &'static str) -> ServiceResult<Vec<CachedRule>> {
    let all_key = format!("{PREFIX}all");
    // the `all` entry carries the rules generation it was built under: a rule written on any
    // node makes every node's next run reload, whatever cache backend a node has (issue 16)
    let generation = svc
        .generation(crate::context::Area::Rules)
        .await
        .public(public)?;
    if let Some(mut v) = svc.cache.get(&all_key).await
        && v.get("generation").and_then(Value::as_u64) == Some(generation)
        && let Ok(rules) = serde_json::from_value::<Vec<CachedRule>>(v["rules"].take())
    {
        return Ok(rules);
    }
    let mut rows = rule_repo::active(&svc.db, None, None)
        .await
        .public(public)?;
    rows.sort_by_key(|r| (r.created_at, r.id));
    let rules: Vec<CachedRule> = rows
        .into_iter()
        .map(|r| CachedRule {
            id: r.id,
            classification_id: r.classification_id,
            db_type: r.db_type.to_lowercase(),
            rule_name: r.rule_name,
            rule_expression: r.rule_expression,
            created_at: r.created_at.as_ref().map(wf_domain::time::iso),
        })
        .collect();
    svc.cache
        .set(
            &all_key,
            &json!({"generation": generation, "rules": rules}),
            RULE_TTL_SECS,
        )
        .await;
    let mut by_type: BTreeMap<&str, Vec<&CachedRule>> =
        DB_TYPES.iter().map(|t| (*t, Vec::new())).collect();
    for r in &rules {
        if let Some(v) = by_type.get_mut(r.db_type.as_str()) {
            v.push(r);
        }
    }
    for (t, rs) in by_type {
        svc.cache
            .set(&format!("{PREFIX}{t}"), &json!(rs), RULE_TTL_SECS)
            .await;
    }
    Ok(rules)
}

/// `POST /cache/classification/clear`: drop every rule cache entry.
pub async fn clear(svc: &Services) -> ServiceResult<()> {
    svc.cache
        .invalidate_prefix(PREFIX)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::warn!(error = %e, "classification cache clear failed");
            ServiceError::conflict("CONSTRAINT_VIOLATION", "分类缓存清除失败")
        })
}

/// `POST /cache/classification/clear/{db_type}`: the db type's entry and the `all` entry that
/// contains its rules. `db_type` case-insensitive, no aliases → 400
/// `不支持的数据库类型: <db_type>`.
pub async fn clear_db_type(svc: &Services, given: &str) -> ServiceResult<()> {
    let t = given.to_lowercase();
    if !DB_TYPES.contains(&t.as_str()) {
        return Err(AppError::validation(format!("不支持的数据库类型: {given}")).into());
    }
    for key in [format!("{PREFIX}{t}"), format!("{PREFIX}all")] {
        svc.cache.invalidate_prefix(&key).await.map_err(|e| {
            tracing::warn!(error = %e, "classification cache clear failed");
            ServiceError::conflict(
                "CONSTRAINT_VIOLATION",
                format!("数据库类型 {given} 缓存清除失败"),
            )
        })?;
    }
    Ok(())
}

/// Per-db-type entry state of `/cache/classification/stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DbTypeCacheStat {
    pub rules_cached: bool,
    pub rules_count: u64,
}

/// `GET /cache/classification/stats` data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationCacheStats {
    /// Same object as `/cache/stats` `data.stats`.
    #[schema(value_type = Object)]
    pub cache_stats: Value,
    /// Keyed by `mysql`, `postgresql`, `sqlserver`, `oracle`.
    pub db_type_stats: BTreeMap<String, DbTypeCacheStat>,
    /// Always true.
    pub cache_enabled: bool,
}

/// Cache backend state and, per db type, whether its rules are cached and how many.
pub async fn stats(svc: &Services) -> ClassificationCacheStats {
    let mut db_type_stats = BTreeMap::new();
    for t in DB_TYPES {
        let cached = svc.cache.get(&format!("{PREFIX}{t}")).await;
        db_type_stats.insert(
            t.to_string(),
            DbTypeCacheStat {
                rules_cached: cached.is_some(),
                rules_count: cached
                    .as_ref()
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.len() as u64),
            },
        );
    }
    ClassificationCacheStats {
        cache_stats: svc.cache.stats().await,
        db_type_stats,
        cache_enabled: true,
    }
}
