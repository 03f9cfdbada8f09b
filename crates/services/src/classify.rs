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
use wf_store::repo::match_stats;
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

/// Evaluate every account in scope (keyset pages by id) against the rules of its engine and
/// hand `on_account` the `(rule_id, classification_id)` of the rules it matched, in rule
/// creation order. Facts come from `permission_facts`, else are rebuilt from the snapshot.
/// Returns `(accounts seen, evaluations of rules that could not be parsed)`.
async fn evaluate_scope(
    db: &impl sea_orm::ConnectionTrait,
    instance_id: Option<i32>,
    by_type: &HashMap<String, Vec<ParsedRule>>,
    mut on_account: impl FnMut(&repo::ClassifiableAccount, &[(i32, i32)]),
) -> Result<(u64, u64), sea_orm::DbErr> {
    let (mut seen, mut failed) = (0u64, 0u64);
    let mut after = 0;
    let mut matched = Vec::new();
    loop {
        let page = repo::classifiable_page(db, instance_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        seen += page.len() as u64;
        for a in &page {
            let Some(rules) = by_type.get(&a.db_type) else {
                continue;
            };
            let built;
            let facts = match (&a.permission_facts, &a.permission_snapshot) {
                (Some(f), _) => f,
                (None, Some(s)) => {
                    built = snapshot::build_facts(&a.db_type, s, chrono::Utc::now());
                    &built
                }
                (None, None) => continue,
            };
            matched.clear();
            for (rule_id, cls_id, doc) in rules {
                match doc {
                    Ok(doc) => {
                        let ev = dsl::evaluate(doc, facts);
                        if !ev.errors.is_empty() {
                            tracing::warn!(rule = rule_id, errors = ?ev.errors, "rule evaluation errors (fail closed)");
                        }
                        if ev.matched {
                            matched.push((*rule_id, *cls_id));
                        }
                    }
                    Err(_) => failed += 1,
                }
            }
            on_account(a, &matched);
        }
    }
    Ok((seen, failed))
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
    let (seen, failed) = evaluate_scope(&txn, instance_id, &by_type, |a, matched| {
        // creation order: the last matching rule of a classification is recorded
        for (rule_id, cls_id) in matched {
            winners.insert((a.id, *cls_id), *rule_id);
        }
    })
    .await
    .public(PUB)?;
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
    svc.changed(crate::context::Change::Accounts).await;
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

/// What a daily statistics run wrote (`domain.md` §1.10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyMatchStats {
    /// China date, `YYYY-MM-DD`.
    pub stat_date: String,
    pub accounts: u64,
    pub rules: u64,
    pub rule_rows: u64,
    pub classification_rows: u64,
}

/// Compute the daily match statistics of `stat_date` (China date; the scheduled job passes
/// today): for every active rule, one row per instance holding accounts of the rule's engine
/// with the number of matched accounts (0 included); per (classification, engine, instance)
/// the number of distinct accounts any of its rules matched. Upserted, so a re-run of the day
/// replaces its figures; assignments are not touched.
pub async fn daily_match_stats(
    svc: &Services,
    stat_date: chrono::NaiveDate,
) -> ServiceResult<DailyMatchStats> {
    use std::collections::{BTreeSet, HashSet};
    const PUB: &str = "计算分类统计失败";
    let rules = crate::classification_cache::active_rules(svc, PUB).await?;
    let by_type = parse_rules(&rules);
    // (db_type, instance) scopes with accounts; hits per (rule, instance); distinct accounts
    // per (classification, db_type, instance)
    let mut scopes: BTreeSet<(String, i32)> = BTreeSet::new();
    let mut rule_hits: HashMap<(i32, i32), i32> = HashMap::new();
    let mut class_hits: HashMap<(i32, String, i32), HashSet<i32>> = HashMap::new();
    let (seen, _failed) = evaluate_scope(&svc.db, None, &by_type, |a, matched| {
        if !scopes.contains(&(a.db_type.clone(), a.instance_id)) {
            scopes.insert((a.db_type.clone(), a.instance_id));
        }
        for (rule_id, cls_id) in matched {
            *rule_hits.entry((*rule_id, a.instance_id)).or_default() += 1;
            class_hits
                .entry((*cls_id, a.db_type.clone(), a.instance_id))
                .or_default()
                .insert(a.id);
        }
    })
    .await
    .public(PUB)?;
    let mut rule_rows = Vec::new();
    let mut class_rows: BTreeMap<(i32, String, i32), i32> = BTreeMap::new();
    for r in &rules {
        for (t, inst) in scopes.iter().filter(|(t, _)| *t == r.db_type) {
            let n = rule_hits.get(&(r.id, *inst)).copied().unwrap_or(0);
            rule_rows.push((r.id, r.classification_id, t.clone(), *inst, n));
            let distinct = class_hits
                .get(&(r.classification_id, t.clone(), *inst))
                .map_or(0, |s| s.len() as i32);
            class_rows.insert((r.classification_id, t.clone(), *inst), distinct);
        }
    }
    let class_rows: Vec<(i32, String, i32, i32)> = class_rows
        .into_iter()
        .map(|((c, t, i), n)| (c, t, i, n))
        .collect();
    let txn = crate::begin(svc, PUB).await?;
    let written_rules = match_stats::upsert_rule_counts(&txn, stat_date, &rule_rows)
        .await
        .public(PUB)?;
    let written_classes = match_stats::upsert_classification_counts(&txn, stat_date, &class_rows)
        .await
        .public(PUB)?;
    txn.commit().await.public(PUB)?;
    Ok(DailyMatchStats {
        stat_date: stat_date.to_string(),
        accounts: seen,
        rules: rules.len() as u64,
        rule_rows: written_rules,
        classification_rows: written_classes,
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
    svc.changed(crate::context::Change::Accounts).await;
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
