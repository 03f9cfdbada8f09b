//! Account classifications (`api-v1.md` §4.11): classification CRUD and the DSL v4
//! expression check. Rules and queries live in `wf_services::classifications`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::classification_rules::{self as rules, RuleStat, RuleView};
use wf_services::classifications::{self as svc, ClassificationView, ColorOptions, PermissionItem};
use wf_services::classify::{self, AssignmentView, ClassifyResult};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::{created, ok, ok_empty};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Classification routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts/classifications", get(list).post(create))
        .route("/api/v1/accounts/classifications/colors", get(colors))
        .route(
            "/api/v1/accounts/classifications/permissions/{db_type}",
            get(permissions),
        )
        .route(
            "/api/v1/accounts/classifications/{classification_id}",
            get(detail).put(update).delete(delete),
        )
        .route(
            "/api/v1/accounts/classifications/rules/actions/validate-expression",
            post(validate_expression),
        )
        .route(
            "/api/v1/accounts/classifications/rules",
            get(rules_list).post(rules_create),
        )
        .route(
            "/api/v1/accounts/classifications/rules/filter",
            get(rules_filter),
        )
        .route(
            "/api/v1/accounts/classifications/rules/stats",
            get(rules_stats),
        )
        .route(
            "/api/v1/accounts/classifications/rules/{rule_id}",
            get(rule_detail).put(rule_update).delete(rule_delete),
        )
        .route(
            "/api/v1/accounts/classifications/assignments",
            get(assignments),
        )
        .route(
            "/api/v1/accounts/classifications/assignments/{assignment_id}",
            axum::routing::delete(remove_assignment),
        )
        .route(
            "/api/v1/accounts/classifications/actions/auto-classify",
            post(auto_classify),
        )
}

/// `{classifications}`.
#[derive(Serialize, ToSchema)]
pub struct ClassificationList {
    pub classifications: Vec<ClassificationView>,
}

/// `{classification}`.
#[derive(Serialize, ToSchema)]
pub struct ClassificationData {
    pub classification: ClassificationView,
}

/// `{rule_expression}`: the parsed, valid expression.
#[derive(Serialize, ToSchema)]
pub struct ExpressionData {
    #[schema(value_type = Object)]
    pub rule_expression: Value,
}

/// `GET /accounts/classifications` — active classifications by priority.
#[utoipa::path(get, path = "/api/v1/accounts/classifications", tag = "classifications", operation_id = "classifications_list",
    responses((status = 200, body = ClassificationList)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let classifications = svc::list(&st.svc).await?;
    Ok(ok(
        "账户分类获取成功",
        &ClassificationList { classifications },
    ))
}

/// `GET /accounts/classifications/colors` — the theme colours and the form choices.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/colors", tag = "classifications", operation_id = "classifications_colors",
    responses((status = 200, body = ColorOptions)))]
pub async fn colors(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    Ok(ok("颜色选项获取成功", &svc::colors()))
}

/// `{permissions}`: catalogue items by category.
#[derive(Serialize, ToSchema)]
pub struct PermissionCatalogue {
    pub permissions: indexmap::IndexMap<String, Vec<PermissionItem>>,
}

/// `GET /accounts/classifications/permissions/{db_type}` — the permission catalogue of one
/// db type (exact match; unknown → `{}`).
#[utoipa::path(get, path = "/api/v1/accounts/classifications/permissions/{db_type}", tag = "classifications",
    operation_id = "classifications_permissions", params(("db_type" = String, Path)),
    responses((status = 200, body = PermissionCatalogue)))]
pub async fn permissions(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(db_type): Path<String>,
) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let permissions = svc::permission_catalogue(&st.svc, &db_type).await?;
    Ok(ok(
        "数据库权限获取成功",
        &PermissionCatalogue { permissions },
    ))
}

/// `POST /accounts/classifications`.
#[utoipa::path(post, path = "/api/v1/accounts/classifications", tag = "classifications", operation_id = "classifications_create",
    request_body = crate::openapi::JsonObject, responses((status = 201, body = ClassificationData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let classification = svc::create(&st.svc, &body.json_only()).await?;
    Ok(created(
        "账户分类创建成功",
        &ClassificationData { classification },
    ))
}

/// `GET /accounts/classifications/{classification_id}`.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/{classification_id}", tag = "classifications",
    operation_id = "classifications_detail", params(("classification_id" = i64, Path)),
    responses((status = 200, body = ClassificationData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let classification = svc::detail(&st.svc, id.one()).await?;
    Ok(ok(
        "账户分类获取成功",
        &ClassificationData { classification },
    ))
}

/// `PUT /accounts/classifications/{classification_id}` — partial update.
#[utoipa::path(put, path = "/api/v1/accounts/classifications/{classification_id}", tag = "classifications",
    operation_id = "classifications_update", params(("classification_id" = i64, Path)),
    request_body = crate::openapi::JsonObject, responses((status = 200, body = ClassificationData)))]
pub async fn update(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let classification = svc::update(&st.svc, id.one(), &body.json_only()).await?;
    Ok(ok(
        "账户分类更新成功",
        &ClassificationData { classification },
    ))
}

/// `DELETE /accounts/classifications/{classification_id}`.
#[utoipa::path(delete, path = "/api/v1/accounts/classifications/{classification_id}", tag = "classifications",
    operation_id = "classifications_delete", params(("classification_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn delete(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    svc::delete(&st.svc, id.one()).await?;
    Ok(ok_empty("账户分类删除成功"))
}

/// `POST /accounts/classifications/rules/actions/validate-expression`.
#[utoipa::path(post, path = "/api/v1/accounts/classifications/rules/actions/validate-expression", tag = "classifications",
    operation_id = "classifications_validate_expression", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = ExpressionData)))]
pub async fn validate_expression(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let rule_expression = svc::validate_expression(&body.json_only())?;
    Ok(ok(
        "规则表达式校验通过",
        &ExpressionData { rule_expression },
    ))
}

/// `{rules_by_db_type}`.
#[derive(Serialize, ToSchema)]
pub struct RulesByDbType {
    pub rules_by_db_type: BTreeMap<String, Vec<RuleView>>,
}

/// `{rule_id}` of a created rule.
#[derive(Serialize, ToSchema)]
pub struct RuleCreated {
    pub rule_id: i32,
}

/// `{rules}` (expressions as JSON text).
#[derive(Serialize, ToSchema)]
pub struct RuleList {
    pub rules: Vec<RuleView>,
}

/// `{rule}`.
#[derive(Serialize, ToSchema)]
pub struct RuleData {
    pub rule: RuleView,
}

/// `{rule_stats}`.
#[derive(Serialize, ToSchema)]
pub struct RuleStats {
    pub rule_stats: Vec<RuleStat>,
}

/// `GET /accounts/classifications/rules` — active rules grouped by db type.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/rules", tag = "classifications", operation_id = "rules_list",
    responses((status = 200, body = RulesByDbType)))]
pub async fn rules_list(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let rules_by_db_type = rules::list_by_db_type(&st.svc).await?;
    Ok(ok(
        "分类规则列表获取成功",
        &RulesByDbType { rules_by_db_type },
    ))
}

/// `POST /accounts/classifications/rules` — the DSL v4 expression is validated and stored
/// canonically.
#[utoipa::path(post, path = "/api/v1/accounts/classifications/rules", tag = "classifications", operation_id = "rules_create",
    request_body = crate::openapi::JsonObject, responses((status = 201, body = RuleCreated)))]
pub async fn rules_create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let rule_id = rules::create(&st.svc, &body.json_only()).await?;
    Ok(created("分类规则创建成功", &RuleCreated { rule_id }))
}

/// `GET /accounts/classifications/rules/filter`.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/rules/filter", tag = "classifications", operation_id = "rules_filter",
    responses((status = 200, body = RuleList)))]
pub async fn rules_filter(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let cid = q
        .trimmed("classification_id")
        .and_then(|v| v.parse::<i32>().ok());
    let db_type = q.trimmed("db_type");
    let list = rules::filter(&st.svc, cid, db_type.as_deref()).await?;
    Ok(ok("分类规则获取成功", &RuleList { rules: list }))
}

/// `GET /accounts/classifications/rules/stats`.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/rules/stats", tag = "classifications", operation_id = "rules_stats",
    responses((status = 200, body = RuleStats)))]
pub async fn rules_stats(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let ids = rules::parse_rule_ids(q.get("rule_ids").map(String::as_str))?;
    let rule_stats = rules::stats(&st.svc, ids).await?;
    Ok(ok("规则命中统计获取成功", &RuleStats { rule_stats }))
}

/// `GET /accounts/classifications/rules/{rule_id}`.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/rules/{rule_id}", tag = "classifications", operation_id = "rules_detail",
    params(("rule_id" = i64, Path)), responses((status = 200, body = RuleData)))]
pub async fn rule_detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let rule = rules::detail(&st.svc, id.one()).await?;
    Ok(ok("规则详情获取成功", &RuleData { rule }))
}

/// `PUT /accounts/classifications/rules/{rule_id}`.
#[utoipa::path(put, path = "/api/v1/accounts/classifications/rules/{rule_id}", tag = "classifications", operation_id = "rules_update",
    params(("rule_id" = i64, Path)), request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn rule_update(
    State(st): State<AppState>,
    ctx: Ctx,
    id: Ids,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    rules::update(&st.svc, id.one(), &body.json_only()).await?;
    Ok(ok_empty("分类规则更新成功"))
}

/// `DELETE /accounts/classifications/rules/{rule_id}`.
#[utoipa::path(delete, path = "/api/v1/accounts/classifications/rules/{rule_id}", tag = "classifications", operation_id = "rules_delete",
    params(("rule_id" = i64, Path)), responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn rule_delete(
    State(st): State<AppState>,
    ctx: Ctx,
    id: Ids,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    rules::delete(&st.svc, id.one()).await?;
    Ok(ok_empty("分类规则删除成功"))
}

/// `{assignments}`.
#[derive(Serialize, ToSchema)]
pub struct AssignmentList {
    pub assignments: Vec<AssignmentView>,
}

/// `GET /accounts/classifications/assignments` — every active assignment.
#[utoipa::path(get, path = "/api/v1/accounts/classifications/assignments", tag = "classifications",
    operation_id = "classification_assignments_list", responses((status = 200, body = AssignmentList)))]
pub async fn assignments(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let assignments = classify::assignments(&st.svc).await?;
    Ok(ok("账户分类分配获取成功", &AssignmentList { assignments }))
}

/// `DELETE /accounts/classifications/assignments/{assignment_id}` — soft removal.
#[utoipa::path(delete, path = "/api/v1/accounts/classifications/assignments/{assignment_id}", tag = "classifications",
    operation_id = "classification_assignments_remove", params(("assignment_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn remove_assignment(
    State(st): State<AppState>,
    ctx: Ctx,
    id: Ids,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    classify::remove_assignment(&st.svc, id.one()).await?;
    Ok(ok_empty("账户分类分配移除成功"))
}

/// `POST /accounts/classifications/actions/auto-classify` — evaluate the active rules against
/// the accounts in scope and replace their auto assignments (manual ones survive).
#[utoipa::path(post, path = "/api/v1/accounts/classifications/actions/auto-classify", tag = "classifications",
    operation_id = "classifications_auto_classify", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = ClassifyResult)))]
pub async fn auto_classify(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let instance_id = classify::read_request(&body.json_only())?;
    let result = classify::auto_classify(&st.svc, instance_id).await?;
    Ok(ok(&result.message.clone(), &result))
}
