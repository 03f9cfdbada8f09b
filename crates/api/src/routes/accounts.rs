//! Accounts (`api-v1.md` §4.7 instance accounts, §4.10 ledgers and sync). Reads and the
//! single-instance sync live in `wf_services::account_reads`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::Value;
use wf_domain::{AppError, Permission};
use wf_services::account_reads::{
    self as svc, AccountHistory, AccountPermissions, InstanceAccountPage, InstanceAccountsQuery,
    LedgerPage, SyncResult,
};
use wf_store::repo::accounts::{AccountSort, LedgerFilter};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Account routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/instances/{instance_id}/accounts",
            get(instance_accounts),
        )
        .route(
            "/api/v1/instances/{instance_id}/accounts/{account_id}/permissions",
            get(instance_account_permissions),
        )
        .route(
            "/api/v1/instances/{instance_id}/accounts/{account_id}/change-history",
            get(instance_account_history),
        )
        .route("/api/v1/accounts/ledgers", get(ledgers))
        .route(
            "/api/v1/accounts/ledgers/{account_id}/permissions",
            get(ledger_permissions),
        )
        .route("/api/v1/accounts/actions/sync", post(sync_one))
        .route("/api/v1/accounts/actions/sync-all", post(sync_all))
        .route("/api/v1/accounts/statistics", get(statistics))
        .route(
            "/api/v1/accounts/statistics/summary",
            get(statistics_summary),
        )
        .route(
            "/api/v1/accounts/statistics/db-types",
            get(statistics_db_types),
        )
        .route(
            "/api/v1/accounts/statistics/classifications",
            get(statistics_classifications),
        )
}

/// `GET /instances/{instance_id}/accounts`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts", tag = "instances", operation_id = "instance_accounts_list",
    params(("instance_id" = i64, Path)), responses((status = 200, body = InstanceAccountPage)))]
pub async fn instance_accounts(
    State(st): State<AppState>,
    ctx: Ctx,
    id: Ids,
    q: Params,
) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let query = InstanceAccountsQuery {
        search: q.trimmed("search"),
        include_deleted: q.bool("include_deleted"),
        include_permissions: q.bool("include_permissions"),
        sort: match q.sort().as_str() {
            "id" => AccountSort::Id,
            "is_superuser" => AccountSort::IsSuperuser,
            "is_locked" => AccountSort::IsLocked,
            "last_change_time" => AccountSort::LastChangeTime,
            _ => AccountSort::Username,
        },
        desc: q
            .get("order")
            .is_some_and(|o| o.trim().eq_ignore_ascii_case("desc")),
        page: q.page(),
        size: q.page_size(20, 200),
    };
    let page = svc::instance_accounts(&st.svc, id.one(), &query).await?;
    Ok(ok("获取实例账户数据成功", &page))
}

/// `GET /instances/{instance_id}/accounts/{account_id}/permissions`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts/{account_id}/permissions", tag = "instances",
    operation_id = "instance_account_permissions",
    params(("instance_id" = i64, Path), ("account_id" = i64, Path)), responses((status = 200, body = AccountPermissions)))]
pub async fn instance_account_permissions(
    State(st): State<AppState>,
    ctx: Ctx,
    ids: Ids,
) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = svc::instance_account_permissions(&st.svc, ids.one(), ids.two()).await?;
    Ok(ok("获取账户权限成功", &data))
}

/// `GET /instances/{instance_id}/accounts/{account_id}/change-history` — 50 newest entries.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts/{account_id}/change-history", tag = "instances",
    operation_id = "instance_account_history",
    params(("instance_id" = i64, Path), ("account_id" = i64, Path)), responses((status = 200, body = AccountHistory)))]
pub async fn instance_account_history(State(st): State<AppState>, ctx: Ctx, ids: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = svc::instance_account_history(&st.svc, ids.one(), ids.two()).await?;
    Ok(ok("获取账户变更历史成功", &data))
}

/// `GET /accounts/ledgers` — accounts whose inventory row is active.
#[utoipa::path(get, path = "/api/v1/accounts/ledgers", tag = "accounts", operation_id = "accounts_ledgers",
    responses((status = 200, body = LedgerPage)))]
pub async fn ledgers(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = ledger_filter(&q);
    let sort = match q.get("sort").map(|s| s.trim()) {
        Some("db_type") => AccountSort::DbType,
        Some("is_locked") => AccountSort::IsLocked,
        Some("is_superuser") => AccountSort::IsSuperuser,
        _ => AccountSort::Username,
    };
    let desc = q.get("order").is_some_and(|o| o.trim() == "desc");
    let page = svc::ledgers(&st.svc, &f, sort, desc, q.page(), q.page_size(20, 200)).await?;
    Ok(ok("获取账户列表成功", &page))
}

/// The ledger filters of `/accounts/ledgers` (and of the account export): `search`, `db_type`
/// (blank/`all` = none), `instance_id`, `is_locked`/`is_superuser` (`true`/`false`), `tags`
/// (repeated or comma-separated) and `classification` (id; non-integer = none).
pub(super) fn ledger_filter(q: &Params) -> LedgerFilter {
    let int = |k: &str| q.trimmed(k).and_then(|v| v.parse::<i64>().ok());
    LedgerFilter {
        search: q.trimmed("search"),
        db_type: q.filter("db_type"),
        instance_id: int("instance_id"),
        is_locked: q.flag("is_locked"),
        is_superuser: q.flag("is_superuser"),
        tags: q.tags(),
        classification_id: int("classification"),
    }
}

/// `GET /accounts/ledgers/{account_id}/permissions`.
#[utoipa::path(get, path = "/api/v1/accounts/ledgers/{account_id}/permissions", tag = "accounts",
    operation_id = "accounts_ledger_permissions",
    params(("account_id" = i64, Path)), responses((status = 200, body = AccountPermissions)))]
pub async fn ledger_permissions(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = svc::ledger_permissions(&st.svc, id.one()).await?;
    Ok(ok("获取账户权限成功", &data))
}

/// `POST /accounts/actions/sync` — synchronous single-instance account sync.
#[utoipa::path(post, path = "/api/v1/accounts/actions/sync", tag = "accounts", operation_id = "accounts_sync",
    request_body = crate::openapi::JsonObject,
    responses((status = 200, body = SyncResult), (status = 400, body = crate::openapi::ErrorEnvelope)))]
pub async fn sync_one(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let body = body.json_only();
    body.require_object()?;
    let raw = body
        .get("instance_id")
        .filter(|v| !v.is_null() && v.as_str().map(|s| !s.trim().is_empty()).unwrap_or(true))
        .ok_or_else(|| AppError::validation("缺少实例ID"))?;
    let id = match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| AppError::validation("实例ID必须为整数"))?;
    let (message, result) = svc::sync_one(&st.svc, i32::try_from(id).ok()).await?;
    Ok(ok(&message, &result))
}

/// `{session_id}` of a started fleet sync.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SyncStarted {
    /// UUID of the sync session (`/history/sessions/{session_id}`).
    pub session_id: String,
}

/// `POST /accounts/actions/sync-all` — every active instance in the background under one
/// sync session; answers at once with the session id.
#[utoipa::path(post, path = "/api/v1/accounts/actions/sync-all", tag = "accounts", operation_id = "accounts_sync_all",
    responses((status = 200, body = SyncStarted)))]
pub async fn sync_all(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let me = ctx
        .authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let session_id =
        wf_services::fleet::start_sync_all(&st.svc, "manual_task", Some(me.id)).await?;
    Ok(ok(
        "批量账户同步任务已在后台启动,请稍后在会话中心查看进度.",
        &SyncStarted { session_id },
    ))
}

/// `{stats}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StatisticsData {
    pub stats: wf_services::account_stats::AccountStatistics,
}

/// `{<classification name>: {account_count, color, display_name}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ClassificationStats(
    pub std::collections::BTreeMap<String, wf_services::account_stats::ClassificationCount>,
);

/// `GET /accounts/statistics`.
#[utoipa::path(get, path = "/api/v1/accounts/statistics", tag = "accounts", operation_id = "accounts_statistics",
    responses((status = 200, body = StatisticsData)))]
pub async fn statistics(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let stats = wf_services::account_stats::statistics(&st.svc).await?;
    Ok(ok("获取账户统计信息成功", &StatisticsData { stats }))
}

/// `GET /accounts/statistics/summary` — optional `instance_id` and `db_type`.
#[utoipa::path(get, path = "/api/v1/accounts/statistics/summary", tag = "accounts", operation_id = "accounts_statistics_summary",
    responses((status = 200, body = wf_services::account_stats::AccountSummary)))]
pub async fn statistics_summary(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let iid = q.trimmed("instance_id").and_then(|v| v.parse::<i32>().ok());
    let db_type = q.trimmed("db_type");
    let data = wf_services::account_stats::summary_of(&st.svc, iid, db_type.as_deref()).await?;
    Ok(ok("获取账户统计汇总成功", &data))
}

/// `GET /accounts/statistics/db-types`.
#[utoipa::path(get, path = "/api/v1/accounts/statistics/db-types", tag = "accounts", operation_id = "accounts_statistics_db_types",
    responses((status = 200, body = wf_services::account_stats::DbTypeStats)))]
pub async fn statistics_db_types(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = wf_services::account_stats::db_types(&st.svc, "获取数据库类型统计失败").await?;
    Ok(ok("获取数据库类型统计成功", &data))
}

/// `GET /accounts/statistics/classifications`.
#[utoipa::path(get, path = "/api/v1/accounts/statistics/classifications", tag = "accounts",
    operation_id = "accounts_statistics_classifications", responses((status = 200, body = ClassificationStats)))]
pub async fn statistics_classifications(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let data = wf_services::account_stats::classifications(&st.svc, "获取账户分类统计失败").await?;
    Ok(ok("获取账户分类统计成功", &ClassificationStats(data)))
}
