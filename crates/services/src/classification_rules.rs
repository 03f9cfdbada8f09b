//! Classification rules (`api-v1.md` §4.11, `domain.md` §4.3): DSL v4 validated on save and
//! stored canonically; non-v4 expressions are refused on save (`domain.md` §13.5, issue 9).

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wf_domain::body::{boolish, int_value, truthy};
use wf_domain::db_type::DbType;
use wf_domain::{AppError, Body, dsl, time};
use wf_store::entity::classification_rule as rule;
use wf_store::repo::classifications as cls_repo;
use wf_store::repo::rules::{self as repo, RuleFields};

use crate::classifications::parse_expression;
use crate::context::{Change, Services};
use crate::error::{Public, ServiceError, ServiceResult};

/// Rule object. `rule_expression` is the parsed object, or the canonical JSON text in
/// `/rules/filter`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub id: i32,
    pub rule_name: String,
    pub classification_id: i32,
    pub classification_name: Option<String>,
    pub db_type: String,
    #[schema(value_type = Object)]
    pub rule_expression: Value,
    pub is_active: bool,
    /// UTC ISO-8601.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Rules list only (always 0 there; see `/rules/stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_accounts_count: Option<i64>,
}

fn view(r: &rule::Model, name: Option<String>, parsed: bool, matched: Option<i64>) -> RuleView {
    let expr = if parsed {
        serde_json::from_str(&r.rule_expression).unwrap_or(Value::Object(Map::new()))
    } else {
        Value::String(r.rule_expression.clone())
    };
    RuleView {
        id: r.id,
        rule_name: r.rule_name.clone(),
        classification_id: r.classification_id,
        classification_name: name,
        db_type: r.db_type.clone(),
        rule_expression: expr,
        is_active: r.is_active,
        created_at: r.created_at.as_ref().map(time::iso),
        updated_at: r.updated_at.as_ref().map(time::iso),
        matched_accounts_count: matched,
    }
}

async fn views(
    svc: &Services,
    rows: &[rule::Model],
    parsed: bool,
    matched: Option<i64>,
    public: &'static str,
) -> ServiceResult<Vec<RuleView>> {
    let names =
        repo::classification_names(&svc.db, rows.iter().map(|r| r.classification_id).collect())
            .await
            .public(public)?;
    Ok(rows
        .iter()
        .map(|r| view(r, names.get(&r.classification_id).cloned(), parsed, matched))
        .collect())
}

/// `GET /accounts/classifications/rules`: active rules, newest first, grouped by engine.
pub async fn list_by_db_type(svc: &Services) -> ServiceResult<BTreeMap<String, Vec<RuleView>>> {
    const PUB: &str = "获取规则列表失败";
    let rows = repo::active(&svc.db, None, None).await.public(PUB)?;
    let mut out: BTreeMap<String, Vec<RuleView>> = BTreeMap::new();
    for v in views(svc, &rows, true, Some(0), PUB).await? {
        let key = if v.db_type.is_empty() {
            "unknown".to_string()
        } else {
            v.db_type.clone()
        };
        out.entry(key).or_default().push(v);
    }
    Ok(out)
}

/// `GET /accounts/classifications/rules/filter`: active rules, expression as JSON text.
pub async fn filter(
    svc: &Services,
    classification_id: Option<i32>,
    db_type: Option<&str>,
) -> ServiceResult<Vec<RuleView>> {
    const PUB: &str = "获取分类规则失败";
    let rows = repo::active(&svc.db, classification_id, db_type)
        .await
        .public(PUB)?;
    views(svc, &rows, false, None, PUB).await
}

/// `GET /accounts/classifications/rules/{id}` (inactive ones too).
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<RuleView> {
    const PUB: &str = "获取规则详情失败";
    let r = find(svc, id, PUB).await?;
    Ok(views(svc, std::slice::from_ref(&r), true, None, PUB)
        .await?
        .remove(0))
}

async fn find(svc: &Services, id: Option<i32>, public: &'static str) -> ServiceResult<rule::Model> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found.ok_or_else(ServiceError::framework_not_found)
}

/// The canonical text of a valid DSL v4 expression given as an object or JSON text.
fn canonical_expression(raw: &Value) -> Result<String, AppError> {
    let doc = match raw {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|e| AppError::validation(format!("规则表达式格式错误: {e}")))?,
        other => parse_expression(other)?,
    };
    if !doc.is_object() {
        return Err(AppError::validation("规则表达式必须为对象"));
    }
    if !dsl::is_v4(&doc) {
        return Err(AppError::validation("仅支持 DSL v4 表达式(version=4)").code("DSL_V4_REQUIRED"));
    }
    dsl::validate(&doc).map_err(|_| {
        AppError::validation("DSL v4 规则表达式校验失败").code("INVALID_DSL_EXPRESSION")
    })?;
    Ok(dsl::canonical(&doc))
}

/// Rule input (`api-v1.md` §4.11): required fields by truthiness, the classification must
/// exist, the expression is validated and canonicalised (absent on update = keep).
async fn read_input(
    svc: &Services,
    body: &Body,
    current: Option<&rule::Model>,
) -> ServiceResult<RuleFields> {
    body.require_object()?;
    let missing: Vec<&str> = ["rule_name", "classification_id", "db_type", "operator"]
        .into_iter()
        .filter(|k| !truthy(body.get(k)))
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::validation(format!(
            "缺少必填字段: {}",
            missing.join(", ")
        )));
    }
    crate::views::require_strings(body, &["rule_name", "db_type", "operator"])?;
    let rule_name = body.trimmed("rule_name").unwrap_or_default();
    let classification_id = body
        .get("classification_id")
        .and_then(int_value)
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| AppError::validation("选择的分类不存在"))?;
    if cls_repo::find(&svc.db, classification_id).await?.is_none() {
        return Err(ServiceError::not_found("选择的分类不存在"));
    }
    let db_type = DbType::parse(&body.text("db_type").unwrap_or_default())
        .ok_or_else(|| AppError::validation("数据库类型取值无效"))?;
    if !matches!(body.text("operator").as_deref(), Some("OR" | "AND")) {
        return Err(ServiceError::validation("匹配逻辑取值无效"));
    }
    let raw = body.get("rule_expression").filter(|v| truthy(Some(v)));
    let rule_expression = match (raw, current) {
        (Some(v), _) => canonical_expression(v)?,
        (None, Some(c)) => c.rule_expression.clone(),
        (None, None) => canonical_expression(&Value::Object(Map::new()))?,
    };
    let is_active = match body.get("is_active") {
        None | Some(Value::Null) => true,
        Some(v) => boolish(v).ok_or_else(|| AppError::validation("is_active 必须是布尔值"))?,
    };
    Ok(RuleFields {
        classification_id,
        db_type: db_type.as_str().to_string(),
        rule_name,
        rule_expression,
        is_active,
    })
}

async fn check_unique(
    svc: &Services,
    f: &RuleFields,
    except: Option<i32>,
    public: &'static str,
) -> ServiceResult<()> {
    if repo::name_taken(
        &svc.db,
        f.classification_id,
        &f.db_type,
        &f.rule_name,
        except,
    )
    .await
    .public(public)?
    {
        return Err(AppError::validation("同一数据库类型下规则名称重复")
            .code("NAME_EXISTS")
            .into());
    }
    if repo::expression_taken(&svc.db, f.classification_id, &f.rule_expression, except)
        .await
        .public(public)?
    {
        return Err(AppError::validation("规则表达式重复")
            .code("EXPRESSION_DUPLICATED")
            .into());
    }
    Ok(())
}

/// `POST /accounts/classifications/rules`: returns the new rule's id.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<i32> {
    const PUB: &str = "创建分类规则失败";
    let f = read_input(svc, body, None).await?;
    check_unique(svc, &f, None, PUB).await?;
    let id = repo::insert(&svc.db, &f).await.public(PUB)?.id;
    svc.changed(Change::Rules).await;
    Ok(id)
}

/// `PUT /accounts/classifications/rules/{id}`.
pub async fn update(svc: &Services, id: Option<i32>, body: &Body) -> ServiceResult<()> {
    const PUB: &str = "更新分类规则失败";
    let current = find(svc, id, PUB).await?;
    let f = read_input(svc, body, Some(&current)).await?;
    check_unique(svc, &f, Some(current.id), PUB).await?;
    repo::update(&svc.db, current, &f).await.public(PUB)?;
    svc.changed(Change::Rules).await;
    Ok(())
}

/// `DELETE /accounts/classifications/rules/{id}`: hard delete.
pub async fn delete(svc: &Services, id: Option<i32>) -> ServiceResult<()> {
    const PUB: &str = "删除分类规则失败";
    let r = find(svc, id, PUB).await?;
    let txn = crate::begin(svc, PUB).await?;
    repo::delete(&txn, r).await.public(PUB)?;
    txn.commit().await.public(PUB)?;
    // assignments made by the rule keep existing (rule_id → NULL); the cache must forget it
    svc.changed(Change::Rules).await;
    Ok(())
}

/// One rule's hits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleStat {
    pub rule_id: i32,
    /// Distinct accounts with an active assignment made by the rule.
    pub matched_accounts_count: i64,
}

/// Parse `rule_ids=1,2,,3` (blank entries ignored); anything else is the contract's 400.
pub fn parse_rule_ids(raw: Option<&str>) -> Result<Option<Vec<i32>>, AppError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>()
                .map_err(|_| AppError::validation("rule_ids 参数必须为整数ID,使用逗号分隔"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `GET /accounts/classifications/rules/stats`: every active rule (or those asked for), by id.
pub async fn stats(svc: &Services, rule_ids: Option<Vec<i32>>) -> ServiceResult<Vec<RuleStat>> {
    const PUB: &str = "获取规则命中统计失败";
    let mut ids: Vec<i32> = repo::active(&svc.db, None, None)
        .await
        .public(PUB)?
        .into_iter()
        .map(|r| r.id)
        .filter(|id| rule_ids.as_ref().is_none_or(|wanted| wanted.contains(id)))
        .collect();
    ids.sort_unstable();
    let hits = repo::hits(&svc.db, ids.clone()).await.public(PUB)?;
    Ok(ids
        .into_iter()
        .map(|rule_id| RuleStat {
            rule_id,
            matched_accounts_count: hits.get(&rule_id).copied().unwrap_or(0),
        })
        .collect())
}
