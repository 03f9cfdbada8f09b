//! Instances (`api-v1.md` §4.7): list, create, detail, replace-style update, soft delete and
//! restore. Rules and queries live in `wf_services::instances`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use wf_domain::Permission;
use wf_services::instances::{self as svc, InstanceData, InstancePage, ListQuery, SoftDeleted};
use wf_store::repo::instances::{InstanceFilter, InstanceSort};

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::{created, ok};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Instance routes (accounts sub-resources live in `routes::accounts`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances", get(list).post(create))
        .route("/api/v1/instances/{instance_id}", get(detail).put(update))
        .route("/api/v1/instances/{instance_id}/delete", post(delete))
        .route("/api/v1/instances/{instance_id}/restore", post(restore))
        .route(
            "/api/v1/instances/{instance_id}/actions/sync-capacity",
            post(sync_capacity),
        )
        .route(
            "/api/v1/instances/{instance_id}/databases/sizes",
            get(database_sizes),
        )
}

fn list_query(q: &Params) -> ListQuery {
    ListQuery {
        filter: InstanceFilter {
            search: q.trimmed("search"),
            db_type: q.filter("db_type"),
            active: q.status(),
            tags: q.all("tags"),
            include_deleted: q.bool("include_deleted"),
        },
        sort: match q.sort().as_str() {
            "name" => InstanceSort::Name,
            "db_type" => InstanceSort::DbType,
            "host" => InstanceSort::Host,
            "last_sync_time" => InstanceSort::LastSyncTime,
            _ => InstanceSort::Id,
        },
        desc: q.desc(true),
        page: q.page(),
        size: q.page_size(20, 100),
    }
}

/// `GET /instances` — filters, sort and paging in SQL (one statement per page).
#[utoipa::path(get, path = "/api/v1/instances", tag = "instances", operation_id = "instances_list",
    responses((status = 200, body = InstancePage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let page = svc::list(&st.svc, &list_query(&q)).await?;
    Ok(ok("获取实例列表成功", &page))
}

/// `POST /instances`.
#[utoipa::path(post, path = "/api/v1/instances", tag = "instances", operation_id = "instances_create",
    request_body = crate::openapi::JsonObject, responses((status = 201, body = InstanceData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let instance = svc::create(&st.svc, &body).await?;
    Ok(created("实例创建成功", &InstanceData { instance }))
}

/// `GET /instances/{instance_id}`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}", tag = "instances", operation_id = "instances_detail",
    params(("instance_id" = i64, Path)), responses((status = 200, body = InstanceData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let instance = svc::detail(&st.svc, id.one()).await?;
    Ok(ok("获取实例详情成功", &InstanceData { instance }))
}

/// `PUT /instances/{instance_id}` — replace-style update (absent `tag_names` removes all tags).
#[utoipa::path(put, path = "/api/v1/instances/{instance_id}", tag = "instances", operation_id = "instances_update",
    params(("instance_id" = i64, Path)), request_body = crate::openapi::JsonObject,
    responses((status = 200, body = InstanceData)))]
pub async fn update(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let instance = svc::update(&st.svc, id.one(), &body).await?;
    Ok(ok("实例更新成功", &InstanceData { instance }))
}

/// `POST /instances/{instance_id}/delete` — soft delete (idempotent).
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/delete", tag = "instances", operation_id = "instances_delete",
    params(("instance_id" = i64, Path)), responses((status = 200, body = SoftDeleted)))]
pub async fn delete(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    let deleted = svc::soft_delete(&st.svc, id.one()).await?;
    Ok(ok("实例已移入回收站", &deleted))
}

/// `POST /instances/{instance_id}/restore`.
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/restore", tag = "instances", operation_id = "instances_restore",
    params(("instance_id" = i64, Path)), responses((status = 200, body = InstanceData)))]
pub async fn restore(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let (instance, restored) = svc::restore(&st.svc, id.one()).await?;
    let message = if restored {
        "实例恢复成功"
    } else {
        "实例未删除，无需恢复"
    };
    Ok(ok(message, &InstanceData { instance }))
}

/// `{result}` of a capacity sync.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CapacitySyncData {
    pub result: wf_services::capacity::CapacitySyncResult,
}

/// `POST /instances/{instance_id}/actions/sync-capacity` — inventory, sizes, today's totals.
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/actions/sync-capacity", tag = "instances",
    operation_id = "instances_sync_capacity", params(("instance_id" = i64, Path)),
    responses((status = 200, body = CapacitySyncData)))]
pub async fn sync_capacity(
    State(st): State<AppState>,
    ctx: Ctx,
    id: Ids,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, Permission::InstanceSyncCapacity, Some(&body))
        .await?;
    let result = wf_services::capacity::sync_instance_capacity(&st.svc, id.one()).await?;
    let message = format!("实例 {} 的容量同步任务已成功完成", result.instance_name);
    Ok(ok(&message, &CapacitySyncData { result }))
}

/// `GET /instances/{instance_id}/databases/sizes` — history rows or the latest per database.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/databases/sizes", tag = "instances",
    operation_id = "instances_database_sizes", params(("instance_id" = i64, Path)),
    responses((status = 200, body = wf_services::capacity_reads::DatabaseSizes)))]
pub async fn database_sizes(State(st): State<AppState>, ctx: Ctx, id: Ids, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let lenient = |k: &str| q.date(k).ok().flatten();
    let query = wf_services::capacity_reads::SizesQuery {
        start: lenient("start_date"),
        end: lenient("end_date"),
        name: q.trimmed("database_name"),
        latest_only: q.literal_true("latest_only"),
        include_inactive: q.literal_true("include_inactive"),
        limit: q.int_or("limit", "limit 必须为整数")?.unwrap_or(100).max(0) as u64,
        offset: q.int_or("offset", "offset 必须为整数")?.unwrap_or(0).max(0) as u64,
    };
    let data =
        wf_services::capacity_reads::instance_database_sizes(&st.svc, id.one(), &query).await?;
    Ok(ok("数据库大小数据获取成功", &data))
}
