//! Tags (`api-v1.md` §4.19) and bulk tag assignment (§4.20). Rules and queries live in
//! `wf_services::tags`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use wf_domain::Permission;
use wf_services::tags::{self as svc, CATEGORIES, InstancePick, TagDeleteResult, TagPage};
use wf_services::views::TagView;
use wf_store::repo::tags::TagFilter;

use super::{Ids, Params};
use crate::ctx::Ctx;
use crate::envelope::{created, ok, with_status};
use crate::error::ApiResult;
use crate::payload::Payload;
use crate::state::AppState;

/// Tag routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tags", get(list).post(create))
        .route("/api/v1/tags/options", get(options))
        .route("/api/v1/tags/categories", get(categories))
        .route("/api/v1/tags/batch-delete", post(batch_delete))
        .route("/api/v1/tags/by-name/{tag_name}", get(by_name))
        .route("/api/v1/tags/{tag_id}", get(detail).put(update))
        .route("/api/v1/tags/{tag_id}/delete", post(delete))
        .route("/api/v1/tags/bulk/instances", get(bulk_instances))
        .route("/api/v1/tags/bulk/tags", get(bulk_tags))
        .route("/api/v1/tags/bulk/assign", post(bulk_assign))
        .route("/api/v1/tags/bulk/remove", post(bulk_remove))
        .route("/api/v1/tags/bulk/instance-tags", post(bulk_instance_tags))
        .route("/api/v1/tags/bulk/remove-all", post(bulk_remove_all))
}

/// `{tag}`.
#[derive(Serialize, ToSchema)]
pub struct TagData {
    pub tag: TagView,
}

/// `{tag_id}` of a delete.
#[derive(Serialize, ToSchema)]
pub struct TagDeleted {
    pub tag_id: i32,
}

/// `{tags, category}` of the options.
#[derive(Serialize, ToSchema)]
pub struct TagOptions {
    pub tags: Vec<TagView>,
    pub category: Option<String>,
}

/// `{categories: [[key, label], …]}`.
#[derive(Serialize, ToSchema)]
pub struct TagCategories {
    pub categories: Vec<(String, String)>,
}

/// `{tags, category_names, instance_ids?}` of the bulk pickers.
#[derive(Serialize, ToSchema)]
pub struct BulkTags {
    pub tags: Vec<TagView>,
    /// Category key → label.
    #[schema(value_type = Object)]
    pub category_names: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_ids: Option<Vec<i32>>,
}

/// `{instances}` of the bulk picker.
#[derive(Serialize, ToSchema)]
pub struct BulkInstances {
    pub instances: Vec<InstancePick>,
}

/// `{results}` of a batch delete.
#[derive(Serialize, ToSchema)]
pub struct TagBatchDeleted {
    pub results: Vec<TagDeleteResult>,
}

/// Result of a bulk assign.
#[derive(Serialize, ToSchema)]
pub struct BulkAssigned {
    pub assigned_count: u64,
    pub instance_ids: Vec<i32>,
    pub tag_ids: Vec<i32>,
}

/// Result of a bulk remove (`tag_ids` absent for remove-all).
#[derive(Serialize, ToSchema)]
pub struct BulkRemoved {
    pub removed_count: u64,
    pub instance_ids: Vec<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_ids: Option<Vec<i32>>,
}

/// `GET /tags`.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", operation_id = "tags_list", responses((status = 200, body = TagPage)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = TagFilter {
        search: q.trimmed("search"),
        category: q.trimmed("category"),
        active: q.status(),
    };
    let page = svc::list(&st.svc, &f, q.page(), q.page_size(20, 200)).await?;
    Ok(ok("操作成功", &page))
}

/// `POST /tags`.
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", operation_id = "tags_create", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = TagData)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let tag = svc::create(&st.svc, &body).await?;
    Ok(created("标签创建成功", &TagData { tag }))
}

/// `GET /tags/options`.
#[utoipa::path(get, path = "/api/v1/tags/options", tag = "tags", operation_id = "tags_options", responses((status = 200, body = TagOptions)))]
pub async fn options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let category = q.trimmed("category");
    let tags = svc::options(&st.svc, category.as_deref()).await?;
    Ok(ok("操作成功", &TagOptions { tags, category }))
}

/// `GET /tags/categories`.
#[utoipa::path(get, path = "/api/v1/tags/categories", tag = "tags", operation_id = "tags_categories",
    responses((status = 200, body = TagCategories)))]
pub async fn categories(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let categories = CATEGORIES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Ok(ok("操作成功", &TagCategories { categories }))
}

/// `GET /tags/by-name/{tag_name}`.
#[utoipa::path(get, path = "/api/v1/tags/by-name/{tag_name}", tag = "tags", operation_id = "tags_by_name",
    params(("tag_name" = String, Path)), responses((status = 200, body = TagData)))]
pub async fn by_name(State(st): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let tag = svc::by_name(&st.svc, &name).await?;
    Ok(ok("获取标签详情成功", &TagData { tag }))
}

/// `GET /tags/{tag_id}`.
#[utoipa::path(get, path = "/api/v1/tags/{tag_id}", tag = "tags", operation_id = "tags_detail",
    params(("tag_id" = i64, Path)), responses((status = 200, body = TagData)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, id: Ids) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let tag = svc::detail(&st.svc, id.one()).await?;
    Ok(ok("获取标签详情成功", &TagData { tag }))
}

/// `PUT /tags/{tag_id}`.
#[utoipa::path(put, path = "/api/v1/tags/{tag_id}", tag = "tags", operation_id = "tags_update",
    params(("tag_id" = i64, Path)), request_body = crate::openapi::JsonObject, responses((status = 200, body = TagData)))]
pub async fn update(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Update, Some(&body))
        .await?;
    let tag = svc::update(&st.svc, id.one(), &body).await?;
    Ok(ok("标签更新成功", &TagData { tag }))
}

/// `POST /tags/{tag_id}/delete` — refused while linked to an instance.
#[utoipa::path(post, path = "/api/v1/tags/{tag_id}/delete", tag = "tags", operation_id = "tags_delete",
    params(("tag_id" = i64, Path)), responses((status = 200, body = TagDeleted)))]
pub async fn delete(State(st): State<AppState>, ctx: Ctx, id: Ids, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    let tag_id = svc::delete(&st.svc, id.one()).await?;
    Ok(ok("标签删除成功", &TagDeleted { tag_id }))
}

/// `POST /tags/batch-delete` — per-item results; 207 when any item failed.
#[utoipa::path(post, path = "/api/v1/tags/batch-delete", tag = "tags", operation_id = "tags_batch_delete",
    request_body = crate::openapi::JsonObject,
    responses((status = 200, body = TagBatchDeleted), (status = 207, body = TagBatchDeleted)))]
pub async fn batch_delete(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Delete, Some(&body))
        .await?;
    let results = svc::batch_delete(&st.svc, &body.json_only()).await?;
    let all_deleted = results.iter().all(|r| r.status == "deleted");
    let data = TagBatchDeleted { results };
    Ok(if all_deleted {
        ok("标签批量删除成功", &data)
    } else {
        with_status(StatusCode::MULTI_STATUS, "部分标签未能删除", Some(&data))
    })
}

/// `GET /tags/bulk/instances`.
#[utoipa::path(get, path = "/api/v1/tags/bulk/instances", tag = "tags_bulk", operation_id = "tags_bulk_instances",
    responses((status = 200, body = BulkInstances)))]
pub async fn bulk_instances(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let instances = svc::bulk_instances(&st.svc).await?;
    Ok(ok("操作成功", &BulkInstances { instances }))
}

/// `GET /tags/bulk/tags`.
#[utoipa::path(get, path = "/api/v1/tags/bulk/tags", tag = "tags_bulk", operation_id = "tags_bulk_tags",
    responses((status = 200, body = BulkTags)))]
pub async fn bulk_tags(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let tags = svc::all(&st.svc).await?;
    let data = BulkTags {
        tags,
        category_names: svc::category_names(),
        instance_ids: None,
    };
    Ok(ok("操作成功", &data))
}

/// `POST /tags/bulk/assign`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/assign", tag = "tags_bulk", operation_id = "tags_bulk_assign",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = BulkAssigned)))]
pub async fn bulk_assign(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let r = svc::bulk_assign(&st.svc, &body.json_only()).await?;
    let message = format!("标签批量分配成功,共分配 {} 个标签关系", r.count);
    let data = BulkAssigned {
        assigned_count: r.count,
        instance_ids: r.instance_ids,
        tag_ids: r.tag_ids,
    };
    Ok(ok(&message, &data))
}

/// `POST /tags/bulk/remove`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/remove", tag = "tags_bulk", operation_id = "tags_bulk_remove",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = BulkRemoved)))]
pub async fn bulk_remove(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let r = svc::bulk_remove(&st.svc, &body.json_only()).await?;
    let message = format!("标签批量移除成功,共移除 {} 个标签关系", r.count);
    let data = BulkRemoved {
        removed_count: r.count,
        instance_ids: r.instance_ids,
        tag_ids: Some(r.tag_ids),
    };
    Ok(ok(&message, &data))
}

/// `POST /tags/bulk/instance-tags` — a read that uses POST.
#[utoipa::path(post, path = "/api/v1/tags/bulk/instance-tags", tag = "tags_bulk", operation_id = "tags_bulk_instance_tags",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = BulkTags)))]
pub async fn bulk_instance_tags(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::View, Some(&body))
        .await?;
    let (tags, ids) = svc::bulk_instance_tags(&st.svc, &body.json_only()).await?;
    let data = BulkTags {
        tags,
        category_names: svc::category_names(),
        instance_ids: Some(ids),
    };
    Ok(ok("操作成功", &data))
}

/// `POST /tags/bulk/remove-all`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/remove-all", tag = "tags_bulk", operation_id = "tags_bulk_remove_all",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = BulkRemoved)))]
pub async fn bulk_remove_all(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, Permission::Create, Some(&body))
        .await?;
    let (n, instance_ids) = svc::bulk_remove_all(&st.svc, &body.json_only()).await?;
    let data = BulkRemoved {
        removed_count: n,
        instance_ids,
        tag_ids: None,
    };
    Ok(ok(&format!("批量移除成功,共移除 {n} 个标签关系"), &data))
}
