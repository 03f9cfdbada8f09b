//! Account classifications (`api-v1.md` §4.11, `domain.md` §4.3) and the rule-expression
//! check of the DSL v4 (`domain.md` §4.2).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use wf_domain::{AppError, Body, dsl, theme, time};
use wf_store::entity::account_classification as cls;
use wf_store::repo::classifications::{self as repo, ClassificationFields};

use crate::context::{Change, Services};
use crate::error::{Public, ServiceError, ServiceResult, constraint_or};
use crate::views::require_strings;

/// Risk levels (`api-v1.md` §3.7).
pub const RISK_LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];
/// Icons (`api-v1.md` §3.7).
pub const ICONS: [&str; 6] = [
    "fa-crown",
    "fa-shield-alt",
    "fa-exclamation-triangle",
    "fa-user",
    "fa-eye",
    "fa-tag",
];

/// Classification object: `color` is the hex value, `color_key` the theme key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClassificationView {
    pub id: i32,
    pub name: String,
    pub description: Option<String>,
    /// `low`, `medium`, `high`, `critical`.
    pub risk_level: String,
    /// Hex colour of `color_key`.
    pub color: String,
    pub color_key: String,
    pub icon_name: String,
    /// 0–100 (display order only).
    pub priority: i32,
    pub is_system: bool,
    /// UTC ISO-8601.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Active rules (list and detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_count: Option<i64>,
}

fn view(c: &cls::Model, rules_count: Option<i64>) -> ClassificationView {
    let key = c.color.clone().unwrap_or_else(|| "info".into());
    ClassificationView {
        id: c.id,
        name: c.name.clone(),
        description: c.description.clone(),
        risk_level: c.risk_level.clone(),
        color: theme::resolve(&key).0.to_string(),
        color_key: key,
        icon_name: c.icon_name.clone().unwrap_or_else(|| "fa-tag".into()),
        priority: c.priority.unwrap_or(0),
        is_system: c.is_system,
        created_at: c.created_at.as_ref().map(time::iso),
        updated_at: c.updated_at.as_ref().map(time::iso),
        rules_count,
    }
}

/// One colour option.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColorOption {
    /// Hex value, e.g. `#e74c3c`.
    pub value: String,
    pub name: String,
    pub description: String,
    /// `bg-<key>`.
    pub css_class: String,
}

/// `GET /accounts/classifications/colors` data: options keyed by colour key and the
/// `[key, "<name> - <description>"]` choices in colour-map order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ColorOptions {
    pub colors: indexmap::IndexMap<String, ColorOption>,
    pub choices: Vec<[String; 2]>,
}

/// The theme colours (`api-v1.md` §3.7) in colour-map order.
pub fn colors() -> ColorOptions {
    let mut colors = indexmap::IndexMap::new();
    let mut choices = Vec::new();
    for (key, hex, name) in theme::COLORS {
        let description = theme::description(key);
        colors.insert(
            key.to_string(),
            ColorOption {
                value: hex.to_string(),
                name: name.to_string(),
                description: description.to_string(),
                css_class: format!("bg-{key}"),
            },
        );
        choices.push([key.to_string(), format!("{name} - {description}")]);
    }
    ColorOptions { colors, choices }
}

/// One catalogue permission.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PermissionItem {
    pub name: String,
    pub description: Option<String>,
    /// Engine major version that introduced it (display only), e.g. `8.0`.
    pub introduced_in_major: Option<String>,
}

/// `GET /accounts/classifications/permissions/{db_type}`: active catalogue rows of the db
/// type (matched exactly) grouped by category, in (category, sort order, name) order; unknown
/// db types give an empty object (`domain.md` §1.20).
pub async fn permission_catalogue(
    svc: &Services,
    db_type: &str,
) -> ServiceResult<indexmap::IndexMap<String, Vec<PermissionItem>>> {
    let rows = wf_store::repo::permissions::active_of(&svc.db, db_type)
        .await
        .public("获取数据库权限失败")?;
    let mut out: indexmap::IndexMap<String, Vec<PermissionItem>> = indexmap::IndexMap::new();
    for r in rows {
        out.entry(r.category).or_default().push(PermissionItem {
            name: r.permission_name,
            description: r.description,
            introduced_in_major: r.introduced_in_major,
        });
    }
    Ok(out)
}

/// `GET /accounts/classifications`: active ones by priority with their active rule counts.
pub async fn list(svc: &Services) -> ServiceResult<Vec<ClassificationView>> {
    const PUB: &str = "获取账户分类失败";
    let rows = repo::list_active(&svc.db).await.public(PUB)?;
    let counts = repo::active_rule_counts(&svc.db, rows.iter().map(|c| c.id).collect())
        .await
        .public(PUB)?;
    Ok(rows
        .iter()
        .map(|c| view(c, Some(counts.get(&c.id).copied().unwrap_or(0))))
        .collect())
}

/// Classification input rules (`api-v1.md` §4.11): create fills defaults, update keeps the
/// current value of every absent field.
fn read_input(body: &Body, current: Option<&cls::Model>) -> Result<ClassificationFields, AppError> {
    body.require_object()?;
    require_strings(
        body,
        &["name", "description", "risk_level", "color", "icon_name"],
    )?;
    let text = |k: &str| body.text(k).map(|s| s.trim().to_string());
    let name = match (text("name"), current) {
        (Some(n), _) => n,
        (None, Some(c)) => c.name.clone(),
        (None, None) => String::new(),
    };
    if name.is_empty() {
        return Err(AppError::validation("分类名称不能为空"));
    }
    let pick = |k: &str, cur: Option<String>, default: &str| {
        text(k).unwrap_or_else(|| cur.unwrap_or_else(|| default.to_string()))
    };
    let risk_level = pick(
        "risk_level",
        current.map(|c| c.risk_level.clone()),
        "medium",
    );
    if !RISK_LEVELS.contains(&risk_level.as_str()) {
        return Err(AppError::validation("风险等级取值无效"));
    }
    let color = pick("color", current.and_then(|c| c.color.clone()), "info");
    if !theme::COLORS.iter().any(|(k, _, _)| *k == color) {
        return Err(AppError::validation("无效的颜色选择"));
    }
    let icon_name = pick(
        "icon_name",
        current.and_then(|c| c.icon_name.clone()),
        "fa-tag",
    );
    if !ICONS.contains(&icon_name.as_str()) {
        return Err(AppError::validation("图标取值无效"));
    }
    let description = pick(
        "description",
        current.and_then(|c| c.description.clone()),
        "",
    );
    let current_priority = current.and_then(|c| c.priority).unwrap_or(0);
    let priority = match body.get("priority") {
        Some(v) => wf_domain::body::int_value(v)
            .filter(|_| !v.is_f64())
            .map(|p| p.clamp(0, 100) as i32)
            .unwrap_or(if current.is_some() {
                current_priority
            } else {
                0
            }),
        None => current_priority,
    };
    Ok(ClassificationFields {
        name,
        description,
        risk_level,
        color,
        icon_name,
        priority,
    })
}

fn name_exists() -> ServiceError {
    AppError::validation("分类名称已存在")
        .code("NAME_EXISTS")
        .into()
}

/// `POST /accounts/classifications`.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<ClassificationView> {
    const PUB: &str = "创建账户分类失败";
    let f = read_input(body, None)?;
    if repo::name_taken(&svc.db, &f.name, None).await.public(PUB)? {
        return Err(name_exists());
    }
    let c = constraint_or(
        repo::insert(&svc.db, &f).await,
        AppError::validation("分类名称已存在").code("NAME_EXISTS"),
        PUB,
    )?;
    svc.changed(Change::Rules).await;
    Ok(view(&c, None))
}

async fn find(svc: &Services, id: Option<i32>, public: &'static str) -> ServiceResult<cls::Model> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found.ok_or_else(ServiceError::framework_not_found)
}

/// `GET /accounts/classifications/{id}` (inactive ones too), with the active rule count.
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<ClassificationView> {
    const PUB: &str = "获取账户分类失败";
    let c = find(svc, id, PUB).await?;
    let counts = repo::active_rule_counts(&svc.db, vec![c.id])
        .await
        .public(PUB)?;
    Ok(view(&c, Some(counts.get(&c.id).copied().unwrap_or(0))))
}

/// `PUT /accounts/classifications/{id}`: partial update.
pub async fn update(
    svc: &Services,
    id: Option<i32>,
    body: &Body,
) -> ServiceResult<ClassificationView> {
    const PUB: &str = "更新账户分类失败";
    let current = find(svc, id, PUB).await?;
    let f = read_input(body, Some(&current))?;
    if repo::name_taken(&svc.db, &f.name, Some(current.id))
        .await
        .public(PUB)?
    {
        return Err(name_exists());
    }
    let c = constraint_or(
        repo::update(&svc.db, current, &f).await,
        AppError::validation("分类名称已存在").code("NAME_EXISTS"),
        PUB,
    )?;
    svc.changed(Change::Rules).await;
    Ok(view(&c, None))
}

/// `DELETE /accounts/classifications/{id}`: never a system classification, never one that
/// still has rules (any state) or active assignments.
pub async fn delete(svc: &Services, id: Option<i32>) -> ServiceResult<()> {
    const PUB: &str = "删除账户分类失败";
    let c = find(svc, id, PUB).await?;
    if c.is_system {
        return Err(AppError::validation("系统分类不能删除")
            .code("SYSTEM_CLASSIFICATION")
            .into());
    }
    let (rules, assignments) = repo::usage(&svc.db, c.id).await.public(PUB)?;
    if rules > 0 || assignments > 0 {
        return Err(ServiceError::conflict(
            "CLASSIFICATION_IN_USE",
            "分类仍在使用,请先迁移关联规则/账户后再删除",
        ));
    }
    let txn = crate::begin(svc, PUB).await?;
    repo::delete(&txn, c).await.public(PUB)?;
    txn.commit().await.public(PUB)?;
    svc.changed(Change::Rules).await;
    Ok(())
}

/// Parse `rule_expression` given as an object or as JSON text.
pub fn parse_expression(v: &Value) -> Result<Value, AppError> {
    match v {
        Value::String(s) => serde_json::from_str(s)
            .map_err(|e| AppError::validation(format!("规则表达式 JSON 解析失败: {e}"))),
        other => Ok(other.clone()),
    }
}

/// `POST /accounts/classifications/rules/actions/validate-expression`: the parsed document
/// when it is a valid DSL v4 expression.
pub fn validate_expression(body: &Body) -> Result<Value, AppError> {
    body.require_object()?;
    let raw = body
        .get("rule_expression")
        .filter(|v| !v.is_null())
        .ok_or_else(|| AppError::validation("缺少 rule_expression 字段"))?;
    let doc = parse_expression(raw)?;
    if doc.get("version").and_then(Value::as_i64) != Some(4) {
        return Err(AppError::validation("仅支持 DSL v4 表达式(version=4)").code("DSL_V4_REQUIRED"));
    }
    dsl::validate(&doc).map_err(|errors| {
        tracing::debug!(?errors, "rule expression rejected");
        AppError::validation("DSL v4 表达式校验失败").code("INVALID_DSL_EXPRESSION")
    })?;
    Ok(doc)
}
