//! Databases (`api-v1.md` §4.12): the database ledger (#73) and one database's capacity trend
//! (#74); both need `database_ledger.view` (admin only).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use wf_domain::Permission;
use wf_services::capacity_reads::{self as reads, CapacityTrend, DatabaseLedgerPage};
use wf_store::repo::capacity_reads::LedgerFilter;

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::state::AppState;

/// Database routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/databases/ledgers", get(ledgers))
        .route(
            "/api/v1/databases/ledgers/{database_id}/capacity-trend",
            get(capacity_trend),
        )
}

/// Ledger filters (shared with the export): `search`, `db_type` (case-insensitive, `all` =
/// none), `tags` (repeated or comma-separated).
pub(super) fn ledger_filter(q: &Params) -> LedgerFilter {
    LedgerFilter {
        search: q.trimmed("search"),
        db_type: q
            .trimmed("db_type")
            .map(|t| t.to_lowercase())
            .filter(|t| t != "all"),
        tags: q.tags(),
    }
}

/// `GET /databases/ledgers` — by instance name, then database name.
#[utoipa::path(get, path = "/api/v1/databases/ledgers", tag = "databases", operation_id = "databases_ledgers",
    responses((status = 200, body = DatabaseLedgerPage)))]
pub async fn ledgers(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::DatabaseLedgerView).await?;
    let page =
        reads::database_ledger(&st.svc, &ledger_filter(&q), q.page(), q.page_size(20, 200)).await?;
    Ok(ok("获取数据库台账成功", &page))
}

/// `GET /databases/ledgers/{database_id}/capacity-trend` — `days` 1–90 (default 30).
#[utoipa::path(get, path = "/api/v1/databases/ledgers/{database_id}/capacity-trend", tag = "databases",
    operation_id = "databases_capacity_trend", params(("database_id" = i64, Path)),
    responses((status = 200, body = CapacityTrend)))]
pub async fn capacity_trend(State(st): State<AppState>, ctx: Ctx, id: Ids, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::DatabaseLedgerView).await?;
    let days = q
        .trimmed("days")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|d| *d != 0)
        .unwrap_or(30);
    let trend = reads::capacity_trend(&st.svc, id.one(), days).await?;
    Ok(ok("获取容量走势成功", &trend))
}
