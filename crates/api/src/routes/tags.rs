//! Tags (`api-v1.md` §4.19) and bulk tag assignment (§4.20).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use wf_domain::{AppError, theme, time};
use wf_store::entity::{instance, instance_tag, tag};

use super::{Params, icontains_any, sanitize};
use crate::ctx::{Ctx, page_param, page_size_param, path_id};
use crate::envelope::{created, ok, page, with_status};
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::Payload;
use crate::state::AppState;

/// Fixed tag categories (`api-v1.md` §3.8), in order.
pub const CATEGORIES: [(&str, &str); 9] = [
    ("location", "地区标签"),
    ("company_type", "公司类型"),
    ("environment", "环境标签"),
    ("department", "部门标签"),
    ("project", "项目标签"),
    ("virtualization", "虚拟化类型"),
    ("deployment", "部署方式"),
    ("architecture", "架构类型"),
    ("other", "其他标签"),
];

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

/// Full tag object (`api-v1.md` §4.19).
pub fn tag_json(t: &tag::Model) -> Value {
    let (hex, name, css) = theme::resolve(&t.color);
    json!({
        "id": t.id, "name": t.name, "display_name": t.display_name, "category": t.category, "color": t.color,
        "color_value": hex, "color_name": name, "css_class": css, "is_active": t.is_active,
        "created_at": time::iso_opt(t.created_at.as_ref()), "updated_at": time::iso_opt(t.updated_at.as_ref()),
    })
}

fn category_names() -> Value {
    Value::Object(
        CATEGORIES
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

#[derive(FromQueryResult)]
struct UsageRow {
    tag_id: i32,
    n: i64,
}

/// Linked-instance counts (soft-deleted instances included) per tag.
async fn usage(st: &AppState, ids: Vec<i32>) -> Result<HashMap<i32, i64>, sea_orm::DbErr> {
    Ok(instance_tag::Entity::find()
        .select_only()
        .column(instance_tag::Column::TagId)
        .column_as(instance_tag::Column::InstanceId.count(), "n")
        .filter(instance_tag::Column::TagId.is_in(ids))
        .group_by(instance_tag::Column::TagId)
        .into_model::<UsageRow>()
        .all(&st.db)
        .await?
        .into_iter()
        .map(|r| (r.tag_id, r.n))
        .collect())
}

/// `GET /tags`.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取标签列表失败";
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 20, 200);
    let mut cond = Condition::all();
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains_any(
            &[
                tag::Column::Name,
                tag::Column::DisplayName,
                tag::Column::Category,
            ],
            &s,
        ));
    }
    if let Some(c) = q.trimmed("category") {
        cond = cond.add(tag::Column::Category.eq(c));
    }
    if let Some(c) = super::status_filter(&q, tag::Column::IsActive) {
        cond = cond.add(c);
    }
    let pager = tag::Entity::find()
        .filter(cond)
        .order_by_asc(tag::Column::Category)
        .order_by_asc(tag::Column::DisplayName)
        .order_by_asc(tag::Column::Name)
        .order_by_desc(tag::Column::CreatedAt)
        .paginate(&st.db, size);
    let (total, rows) = crate::envelope::fetch_page(pager, page_no, size)
        .await
        .public(PUB)?;
    let counts = usage(&st, rows.iter().map(|t| t.id).collect())
        .await
        .public(PUB)?;
    let items = rows
        .iter()
        .map(|t| {
            let mut v = tag_json(t);
            v["instance_count"] = json!(counts.get(&t.id).copied().unwrap_or(0));
            v
        })
        .collect();
    let all = tag::Entity::find().all(&st.db).await.public(PUB)?;
    let active = all.iter().filter(|t| t.is_active).count();
    let cats: BTreeSet<&str> = all.iter().map(|t| t.category.as_str()).collect();
    let mut data = page(items, total, page_no, size);
    data["stats"] = json!({"total": all.len(), "active": active, "inactive": all.len() - active, "category_count": cats.len()});
    Ok(ok("操作成功", data))
}

struct TagInput {
    name: String,
    display_name: String,
    category: String,
    color: Option<String>,
    is_active: Option<bool>,
}

fn read_input(body: &Payload) -> Result<TagInput, ApiError> {
    body.require_object()?;
    let field = |k: &str| body.text(k).map(|s| sanitize(&s)).filter(|s| !s.is_empty());
    let name = field("name").ok_or_else(|| AppError::validation("name不能为空"))?;
    let display_name =
        field("display_name").ok_or_else(|| AppError::validation("display_name不能为空"))?;
    let category = field("category").ok_or_else(|| AppError::validation("category不能为空"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::validation("标签代码仅支持字母、数字、下划线或中划线").into());
    }
    for (v, max, label) in [
        (&name, 50, "标签代码"),
        (&display_name, 100, "显示名称"),
        (&category, 50, "分类"),
    ] {
        if v.chars().count() > max {
            return Err(AppError::validation(format!("{label}长度不能超过{max}个字符")).into());
        }
    }
    let color = match field("color") {
        None => None,
        Some(c) if theme::COLORS.iter().any(|(k, _, _)| *k == c) => Some(c),
        Some(c) => return Err(AppError::validation(format!("无效的颜色选择: {c}")).into()),
    };
    let is_active = super::optional_bool(body, "is_active")?;
    Ok(TagInput {
        name,
        display_name,
        category,
        color,
        is_active,
    })
}

async fn name_taken(st: &AppState, name: &str, except: Option<i32>) -> Result<bool, ApiError> {
    Ok(super::taken_by_other::<tag::Entity>(
        &st.db,
        tag::Column::Name,
        tag::Column::Id,
        name,
        except,
    )
    .await?)
}

/// `POST /tags`.
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = crate::openapi::SuccessEnvelope)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let input = read_input(&body)?;
    if name_taken(&st, &input.name, None).await? {
        return Err(AppError::validation("标签代码已存在,请使用其他名称").into());
    }
    let now = Utc::now();
    let t = tag::ActiveModel {
        name: Set(input.name),
        display_name: Set(input.display_name),
        category: Set(input.category),
        color: Set(input.color.unwrap_or_else(|| "primary".into())),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&st.db)
    .await
    .map_err(|_| AppError::validation("保存失败,请稍后再试"))?;
    Ok(created("标签创建成功", json!({"tag": tag_json(&t)})))
}

/// `GET /tags/options`.
#[utoipa::path(get, path = "/api/v1/tags/options", tag = "tags", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let category = q.trimmed("category");
    let mut sel = tag::Entity::find().filter(tag::Column::IsActive.eq(true));
    if let Some(c) = &category {
        sel = sel.filter(tag::Column::Category.eq(c.as_str()));
    } else {
        sel = sel.order_by_asc(tag::Column::Category);
    }
    let rows = sel
        .order_by_asc(tag::Column::DisplayName)
        .order_by_asc(tag::Column::Name)
        .all(&st.db)
        .await
        .public("获取标签列表失败")?;
    Ok(ok(
        "操作成功",
        json!({"tags": rows.iter().map(tag_json).collect::<Vec<_>>(), "category": category}),
    ))
}

/// `GET /tags/categories`.
#[utoipa::path(get, path = "/api/v1/tags/categories", tag = "tags", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn categories(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    Ok(ok(
        "操作成功",
        json!({"categories": CATEGORIES.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()}),
    ))
}

/// `GET /tags/by-name/{tag_name}`.
#[utoipa::path(get, path = "/api/v1/tags/by-name/{tag_name}", tag = "tags", params(("tag_name" = String, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn by_name(State(st): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let t = tag::Entity::find()
        .filter(tag::Column::Name.eq(name))
        .one(&st.db)
        .await
        .public("获取标签详情失败")?;
    let t = t.ok_or_else(|| AppError::not_found("标签不存在"))?;
    Ok(ok("获取标签详情成功", json!({"tag": tag_json(&t)})))
}

async fn find(st: &AppState, raw: &str, public: &str) -> Result<Option<tag::Model>, ApiError> {
    Ok(match path_id(raw)? {
        Some(id) => tag::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(public)?,
        None => None,
    })
}

/// `GET /tags/{tag_id}`.
#[utoipa::path(get, path = "/api/v1/tags/{tag_id}", tag = "tags", params(("tag_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let t = find(&st, &id, "获取标签详情失败")
        .await?
        .ok_or_else(|| ApiError(AppError::framework_not_found()))?;
    Ok(ok("获取标签详情成功", json!({"tag": tag_json(&t)})))
}

/// `PUT /tags/{tag_id}`.
#[utoipa::path(put, path = "/api/v1/tags/{tag_id}", tag = "tags", params(("tag_id" = i64, Path)), request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    let current = find(&st, &id, "标签更新失败")
        .await?
        .ok_or_else(|| AppError::not_found("标签不存在"))?;
    let input = read_input(&body)?;
    if name_taken(&st, &input.name, Some(current.id)).await? {
        return Err(AppError::validation("标签代码已存在,请使用其他名称").into());
    }
    let mut am: tag::ActiveModel = current.into();
    am.name = Set(input.name);
    am.display_name = Set(input.display_name);
    am.category = Set(input.category);
    if let Some(c) = input.color {
        am.color = Set(c);
    }
    if let Some(a) = input.is_active {
        am.is_active = Set(a);
    }
    am.updated_at = Set(Some(Utc::now()));
    let t = am
        .update(&st.db)
        .await
        .map_err(|_| AppError::validation("保存失败,请稍后再试"))?;
    st.bump_instances();
    Ok(ok("标签更新成功", json!({"tag": tag_json(&t)})))
}

async fn links(st: &AppState, tag_id: i32) -> Result<u64, sea_orm::DbErr> {
    instance_tag::Entity::find()
        .filter(instance_tag::Column::TagId.eq(tag_id))
        .count(&st.db)
        .await
}

/// `POST /tags/{tag_id}/delete` — refused while linked to an instance.
#[utoipa::path(post, path = "/api/v1/tags/{tag_id}/delete", tag = "tags", params(("tag_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "delete", Some(&body)).await?;
    const PUB: &str = "删除标签失败";
    let t = find(&st, &id, PUB)
        .await?
        .ok_or_else(|| AppError::not_found("标签不存在"))?;
    let n = links(&st, t.id).await.public(PUB)?;
    if n > 0 {
        return Err(AppError::conflict(format!(
            "标签 '{}' 仍被 {n} 个实例使用,无法删除",
            t.display_name
        ))
        .code("TAG_IN_USE")
        .into());
    }
    let tid = t.id;
    t.delete(&st.db).await.public(PUB)?;
    Ok(ok("标签删除成功", json!({"tag_id": tid})))
}

/// `POST /tags/batch-delete` — per-item results; 207 when any item failed.
#[utoipa::path(post, path = "/api/v1/tags/batch-delete", tag = "tags", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope), (status = 207, body = crate::openapi::SuccessEnvelope)))]
pub async fn batch_delete(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "delete", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    let ids = match body.get("tag_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => return Err(AppError::validation("tag_ids 不能为空").into()),
    };
    let mut results = Vec::with_capacity(ids.len());
    for raw in ids {
        let parsed = match &raw {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(id) = parsed else {
            results.push(json!({"tag_id": raw, "status": "invalid_id"}));
            continue;
        };
        let found = match i32::try_from(id) {
            Ok(i) => tag::Entity::find_by_id(i).one(&st.db).await,
            Err(_) => Ok(None),
        };
        let item = match found {
            Ok(None) => json!({"tag_id": id, "status": "not_found"}),
            Err(e) => json!({"tag_id": id, "status": "error", "message": e.to_string()}),
            Ok(Some(t)) => match links(&st, t.id).await {
                Ok(n) if n > 0 => json!({"tag_id": id, "status": "in_use", "instance_count": n}),
                Ok(_) => match t.delete(&st.db).await {
                    Ok(_) => json!({"tag_id": id, "status": "deleted"}),
                    Err(e) => json!({"tag_id": id, "status": "error", "message": e.to_string()}),
                },
                Err(e) => json!({"tag_id": id, "status": "error", "message": e.to_string()}),
            },
        };
        results.push(item);
    }
    let all_deleted = results.iter().all(|r| r["status"] == "deleted");
    let data = json!({"results": results});
    Ok(if all_deleted {
        ok("标签批量删除成功", data)
    } else {
        with_status(StatusCode::MULTI_STATUS, "部分标签未能删除", Some(data))
    })
}

/// `GET /tags/bulk/instances`.
#[utoipa::path(get, path = "/api/v1/tags/bulk/instances", tag = "tags_bulk", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_instances(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let rows = instance::Entity::find()
        .order_by_asc(instance::Column::Id)
        .all(&st.db)
        .await
        .public("获取实例列表失败")?;
    let items: Vec<Value> = rows.iter().map(|i| json!({"id": i.id, "name": i.name, "host": i.host, "port": i.port, "db_type": i.db_type})).collect();
    Ok(ok("操作成功", json!({"instances": items})))
}

/// `GET /tags/bulk/tags`.
#[utoipa::path(get, path = "/api/v1/tags/bulk/tags", tag = "tags_bulk", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_tags(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let rows = tag::Entity::find()
        .order_by_asc(tag::Column::Category)
        .order_by_asc(tag::Column::Name)
        .all(&st.db)
        .await
        .public("获取标签列表失败")?;
    Ok(ok(
        "操作成功",
        json!({"tags": rows.iter().map(tag_json).collect::<Vec<_>>(), "category_names": category_names()}),
    ))
}

/// Parse an id list (integers or numeric strings); absent/null → empty.
fn id_list(body: &Payload, key: &str) -> Result<Vec<i32>, ApiError> {
    let bad = || AppError::validation(format!("ID格式错误: {key} 必须是整数数组"));
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            let mut out: Vec<i32> = Vec::with_capacity(a.len());
            for v in a {
                let n = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                }
                .ok_or_else(bad)?;
                let n = i32::try_from(n).unwrap_or(-1);
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            Ok(out)
        }
        Some(_) => Err(bad().into()),
    }
}

fn require_body(body: &Payload) -> Result<(), ApiError> {
    body.require_object()?;
    if body.map.is_empty() {
        return Err(AppError::validation("请求数据不能为空")
            .code("REQUEST_DATA_EMPTY")
            .into());
    }
    Ok(())
}

async fn found_instances(st: &AppState, ids: &[i32]) -> Result<Vec<i32>, ApiError> {
    let found: Vec<i32> = instance::Entity::find()
        .select_only()
        .column(instance::Column::Id)
        .filter(instance::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(&st.db)
        .await?;
    if found.is_empty() {
        return Err(AppError::not_found("未找到任何实例").into());
    }
    Ok(found)
}

async fn pairs(
    st: &AppState,
    body: &Payload,
) -> Result<(Vec<i32>, Vec<i32>, Vec<i32>, Vec<i32>), ApiError> {
    require_body(body)?;
    let (instance_ids, tag_ids) = (id_list(body, "instance_ids")?, id_list(body, "tag_ids")?);
    if instance_ids.is_empty() || tag_ids.is_empty() {
        return Err(AppError::validation("缺少必需字段: instance_ids, tag_ids").into());
    }
    let insts = found_instances(st, &instance_ids).await?;
    let tags: Vec<i32> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Id)
        .filter(tag::Column::Id.is_in(tag_ids.clone()))
        .into_tuple()
        .all(&st.db)
        .await?;
    if tags.is_empty() {
        return Err(AppError::not_found("未找到任何标签").into());
    }
    Ok((instance_ids, tag_ids, insts, tags))
}

/// `POST /tags/bulk/assign`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/assign", tag = "tags_bulk", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_assign(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let body = body.json_only();
    const PUB: &str = "批量分配标签失败";
    let (instance_ids, tag_ids, insts, tags) = pairs(&st, &body).await?;
    let existing: BTreeSet<(i32, i32)> = instance_tag::Entity::find()
        .filter(instance_tag::Column::InstanceId.is_in(insts.clone()))
        .filter(instance_tag::Column::TagId.is_in(tags.clone()))
        .all(&st.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|l| (l.instance_id, l.tag_id))
        .collect();
    let now = Utc::now();
    let new: Vec<instance_tag::ActiveModel> = insts
        .iter()
        .flat_map(|i| tags.iter().map(move |t| (*i, *t)))
        .filter(|p| !existing.contains(p))
        .map(|(i, t)| instance_tag::ActiveModel {
            instance_id: Set(i),
            tag_id: Set(t),
            created_at: Set(Some(now)),
        })
        .collect();
    let n = new.len();
    if n > 0 {
        let txn = st.db.begin().await.public(PUB)?;
        for chunk in new.chunks(500) {
            instance_tag::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .public(PUB)?;
        }
        txn.commit().await.public(PUB)?;
        st.bump_instances();
    }
    Ok(ok(
        &format!("标签批量分配成功,共分配 {n} 个标签关系"),
        json!({"assigned_count": n, "instance_ids": instance_ids, "tag_ids": tag_ids}),
    ))
}

/// `POST /tags/bulk/remove`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/remove", tag = "tags_bulk", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_remove(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let body = body.json_only();
    let (instance_ids, tag_ids, insts, tags) = pairs(&st, &body).await?;
    let res = instance_tag::Entity::delete_many()
        .filter(instance_tag::Column::InstanceId.is_in(insts))
        .filter(instance_tag::Column::TagId.is_in(tags))
        .exec(&st.db)
        .await
        .public("批量移除标签失败")?;
    let n = res.rows_affected;
    st.bump_instances();
    Ok(ok(
        &format!("标签批量移除成功,共移除 {n} 个标签关系"),
        json!({"removed_count": n, "instance_ids": instance_ids, "tag_ids": tag_ids}),
    ))
}

async fn instances_only(st: &AppState, body: &Payload) -> Result<(Vec<i32>, Vec<i32>), ApiError> {
    require_body(body)?;
    let ids = id_list(body, "instance_ids")?;
    if ids.is_empty() {
        return Err(AppError::validation("缺少必需字段: instance_ids").into());
    }
    let found = found_instances(st, &ids).await?;
    Ok((ids, found))
}

/// `POST /tags/bulk/instance-tags` — a read that uses POST.
#[utoipa::path(post, path = "/api/v1/tags/bulk/instance-tags", tag = "tags_bulk", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_instance_tags(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "view", Some(&body)).await?;
    let body = body.json_only();
    const PUB: &str = "获取实例标签失败";
    let (ids, found) = instances_only(&st, &body).await?;
    let tag_ids: BTreeSet<i32> = instance_tag::Entity::find()
        .filter(instance_tag::Column::InstanceId.is_in(found))
        .all(&st.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|l| l.tag_id)
        .collect();
    let tags = tag::Entity::find()
        .filter(tag::Column::Id.is_in(tag_ids))
        .all(&st.db)
        .await
        .public(PUB)?;
    Ok(ok(
        "操作成功",
        json!({"tags": tags.iter().map(tag_json).collect::<Vec<_>>(), "category_names": category_names(), "instance_ids": ids}),
    ))
}

/// `POST /tags/bulk/remove-all`.
#[utoipa::path(post, path = "/api/v1/tags/bulk/remove-all", tag = "tags_bulk", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn bulk_remove_all(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let body = body.json_only();
    let (ids, found) = instances_only(&st, &body).await?;
    let res = instance_tag::Entity::delete_many()
        .filter(instance_tag::Column::InstanceId.is_in(found))
        .exec(&st.db)
        .await
        .public("批量移除所有标签失败")?;
    let n = res.rows_affected;
    st.bump_instances();
    Ok(ok(
        &format!("批量移除成功,共移除 {n} 个标签关系"),
        json!({"removed_count": n, "instance_ids": ids}),
    ))
}
