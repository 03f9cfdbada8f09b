//! Auto-classification (`domain.md` §4.4–§4.5, §13.5) and the assignments endpoints.
//! Rules are evaluated (pure `wf_domain::dsl`) in creation order against the facts of every
//! account in scope, read in keyset pages so memory does not grow with the fleet; the auto
//! assignments **of the accounts in scope** are replaced in one transaction — manual ones
//! survive. When two rules of a classification match an account, the later rule is recorded.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;
use wf_domain::{AppError, dsl, snapshot, time};
use wf_store::repo::assignments as repo;
use wf_store::repo::rules as rule_repo;

use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// A rule ready to evaluate: `(rule id, classification id, parsed document or why not)`.
type ParsedRule = (i32, i32, Result<serde_json::Value, String>);

/// Accounts read per page.
const PAGE: u64 = 2_000;

/// Result of a run (`api-v1.md` §4.11 auto-classify `data`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassifyResult {
    /// Distinct accounts that matched at least one rule.
    pub classified_accounts: u64,
    pub total_classifications_added: u64,
    /// Accounts a failing rule could not be evaluated for.
    pub failed_count: u64,
    pub message: String,
}

/// Rules (creation order) grouped by lower-case db type, each parsed once: a rule whose text
/// is not a DSL v4 document carries why.
fn parse_rules(
    rules: &[crate::classification_cache::CachedRule],
) -> HashMap<String, Vec<ParsedRule>> {
    let mut by_type: HashMap<String, Vec<ParsedRule>> = HashMap::new();
    for r in rules {
        let parsed = serde_json::from_str::<serde_json::Value>(&r.rule_expression)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                if dsl::is_v4(&d) {
                    Ok(d)
                } else {
                    Err("rule_expression 仅支持 DSL v4".into())
                }
            });
        by_type
            .entry(r.db_type.clone())
            .or_default()
            .push((r.id, r.classification_id, parsed));
    }
    by_type
}

/// Run auto-classification over every account in scope (all instances, or one).
pub async fn auto_classify(
    svc: &Services,
    instance_id: Option<i32>,
) -> ServiceResult<ClassifyResult> {
    const PUB: &str = "自动分类执行失败";
    let rules = crate::classification_cache::active_rules(svc, PUB).await?;
    if rules.is_empty() {
        return Err(ServiceError::validation("没有可用的分类规则"));
    }
    // parse once; a broken rule fails for every account of its engine (never silently)
    let by_type = parse_rules(&rules);
    let started = std::time::Instant::now();
    let txn = crate::begin(svc, PUB).await?;
    let mut winners: BTreeMap<(i32, i32), i32> = BTreeMap::new();
    let (mut seen, mut failed) = (0u64, 0u64);
    let mut after = 0;
    loop {
        let page = repo::classifiable_page(&txn, instance_id, after, PAGE)
            .await
            .public(PUB)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        seen += page.len() as u64;
        for a in page {
            let Some(rules) = by_type.get(&a.db_type) else {
                continue;
            };
            let facts = match a.permission_facts {
                Some(f) => f,
                None => match &a.permission_snapshot {
                    Some(s) => snapshot::build_facts(&a.db_type, s, chrono::Utc::now()),
                    None => continue,
                },
            };
            for (rule_id, cls_id, doc) in rules {
                match doc {
                    Ok(doc) => {
                        let ev = dsl::evaluate(doc, &facts);
                        if !ev.errors.is_empty() {
                            tracing::warn!(rule = rule_id, errors = ?ev.errors, "rule evaluation errors (fail closed)");
                        }
                        if ev.matched {
                            winners.insert((a.id, *cls_id), *rule_id);
                        }
                    }
                    Err(_) => failed += 1,
                }
            }
        }
    }
    if seen == 0 {
        return Err(ServiceError::validation("没有需要分类的账户"));
    }
    // write only the difference with the scope's current auto assignments: a re-run after a
    // sync that changed little writes little
    let existing = repo::auto_of_scope(&txn, instance_id).await.public(PUB)?;
    let mut keep = std::collections::BTreeSet::new();
    let mut stale = Vec::new();
    for (id, account, cls, rule, active) in existing {
        let current =
            active == Some(true) && rule.is_some() && winners.get(&(account, cls)) == rule.as_ref();
        if current && keep.insert((account, cls)) {
            continue;
        }
        stale.push(id);
    }
    let rows: Vec<(i32, i32, i32)> = winners
        .iter()
        .filter(|(k, _)| !keep.contains(*k))
        .map(|((a, c), r)| (*a, *c, *r))
        .collect();
    let (t_eval, t_write) = (started.elapsed(), std::time::Instant::now());
    repo::delete_ids(&txn, &stale).await.public(PUB)?;
    repo::insert_auto(&txn, &rows).await.public(PUB)?;
    txn.commit().await.public(PUB)?;
    svc.changed(crate::context::Change::Instances).await;
    if rows.len() + stale.len() > 1_000
        && let Err(e) = repo::analyze(&svc.db).await
    {
        tracing::warn!(error = %e, "ANALYZE after auto-classification failed");
    }
    tracing::info!(
        accounts = seen,
        assignments = winners.len(),
        written = rows.len(),
        removed = stale.len(),
        eval_ms = t_eval.as_millis() as u64,
        write_ms = t_write.elapsed().as_millis() as u64,
        "auto-classification finished"
    );
    let mut accounts: Vec<i32> = winners.keys().map(|(a, _)| *a).collect();
    accounts.dedup();
    Ok(ClassifyResult {
        classified_accounts: accounts.len() as u64,
        total_classifications_added: rows.len() as u64,
        failed_count: failed,
        message: "自动分类完成".into(),
    })
}

/// One assignment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: i32,
    pub account_id: i32,
    /// User id of a manual assignment.
    pub assigned_by: Option<i32>,
    pub classification_id: i32,
    pub classification_name: String,
    /// UTC ISO-8601.
    pub assigned_at: Option<String>,
}

/// `GET /accounts/classifications/assignments`: every active assignment.
pub async fn assignments(svc: &Services) -> ServiceResult<Vec<AssignmentView>> {
    const PUB: &str = "获取账户分类分配失败";
    let rows = repo::active(&svc.db).await.public(PUB)?;
    let names = rule_repo::classification_names(
        &svc.db,
        rows.iter().map(|a| a.classification_id).collect(),
    )
    .await
    .public(PUB)?;
    Ok(rows
        .into_iter()
        .map(|a| AssignmentView {
            id: a.id,
            account_id: a.account_id,
            assigned_by: a.assigned_by,
            classification_name: names.get(&a.classification_id).cloned().unwrap_or_default(),
            classification_id: a.classification_id,
            assigned_at: Some(time::iso(&a.assigned_at)),
        })
        .collect())
}

/// `DELETE /accounts/classifications/assignments/{id}`: soft removal, idempotent.
pub async fn remove_assignment(svc: &Services, id: Option<i32>) -> ServiceResult<()> {
    const PUB: &str = "移除分配失败";
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(PUB)?,
        None => None,
    };
    let a = found.ok_or_else(ServiceError::framework_not_found)?;
    repo::deactivate(&svc.db, a.id).await.public(PUB)?;
    svc.changed(crate::context::Change::Instances).await;
    Ok(())
}

/// Parse the auto-classify body: `instance_id` (integer or numeric string; null/""/absent =
/// all) and `use_optimized` (boolean-ish; both values run the same engine).
pub fn read_request(body: &wf_domain::Body) -> Result<Option<i32>, AppError> {
    body.require_object()?;
    let instance_id = match body.get("instance_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(serde_json::Value::Bool(_)) => {
            return Err(AppError::validation("instance_id 参数无效"));
        }
        Some(v) => Some(
            wf_domain::body::int_value(v)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| AppError::validation("instance_id 必须为整数"))?,
        ),
    };
    body.optional_bool("use_optimized")
        .map_err(|_| AppError::validation("use_optimized 参数无效"))?;
    Ok(instance_id)
}
