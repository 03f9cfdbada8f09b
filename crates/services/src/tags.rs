//! Tags (`api-v1.md` §4.19) and bulk tag assignment (§4.20).

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use wf_domain::body::sanitize;
use wf_domain::{AppError, Body, theme};
use wf_store::repo::instances as instance_repo;
use wf_store::repo::tags::{self as repo, TagFields, TagFilter};

use crate::context::{Change, Services};
use crate::error::{Public, ServiceError, ServiceResult, constraint_or};
use crate::views::{TagView, require_strings};

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

/// Category key → label, in [`CATEGORIES`] order.
pub fn category_names() -> Map<String, Value> {
    CATEGORIES
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// A tag of the list, with the number of linked instances.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagListItem {
    #[serde(flatten)]
    pub tag: TagView,
    pub instance_count: i64,
}

/// Whole-table counters of `GET /tags`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagStats {
    pub total: u64,
    pub active: u64,
    pub inactive: u64,
    pub category_count: u64,
}

crate::page_type!(
    /// `GET /tags` page with table statistics.
    TagPage,
    TagListItem,
    stats: TagStats
);

/// `GET /tags`.
pub async fn list(svc: &Services, f: &TagFilter, page: u64, size: u64) -> ServiceResult<TagPage> {
    const PUB: &str = "获取标签列表失败";
    let p = repo::page(&svc.db, f, page, size).await.public(PUB)?;
    let counts = repo::usage(&svc.db, p.rows.iter().map(|t| t.id).collect())
        .await
        .public(PUB)?;
    let items = p
        .rows
        .iter()
        .map(|t| TagListItem {
            tag: TagView::from(t),
            instance_count: counts.get(&t.id).copied().unwrap_or(0),
        })
        .collect();
    let s = repo::stats(&svc.db).await.public(PUB)?;
    let stats = TagStats {
        total: s.total,
        active: s.active,
        inactive: s.total - s.active,
        category_count: s.category_count,
    };
    Ok(TagPage::new(items, p.total, page, size, stats))
}

fn read_input(body: &Body) -> Result<TagFields, AppError> {
    body.require_object()?;
    require_strings(body, &["name", "display_name", "category", "color"])?;
    let field = |k: &str| body.text(k).map(|s| sanitize(&s)).filter(|s| !s.is_empty());
    let name = field("name").ok_or_else(|| AppError::validation("name不能为空"))?;
    let display_name =
        field("display_name").ok_or_else(|| AppError::validation("display_name不能为空"))?;
    let category = field("category").ok_or_else(|| AppError::validation("category不能为空"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::validation(
            "标签代码仅支持字母、数字、下划线或中划线",
        ));
    }
    for (v, max, label) in [
        (&name, 50, "标签代码"),
        (&display_name, 100, "显示名称"),
        (&category, 50, "分类"),
    ] {
        if v.chars().count() > max {
            return Err(AppError::validation(format!(
                "{label}长度不能超过{max}个字符"
            )));
        }
    }
    let color = match field("color") {
        None => None,
        Some(c) if theme::COLORS.iter().any(|(k, _, _)| *k == c) => Some(c),
        Some(c) => return Err(AppError::validation(format!("无效的颜色选择: {c}"))),
    };
    let is_active = body.optional_bool("is_active")?;
    Ok(TagFields {
        name,
        display_name,
        category,
        color,
        is_active,
    })
}

fn name_exists() -> AppError {
    AppError::validation("标签代码已存在,请使用其他名称")
}

/// `POST /tags`.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<TagView> {
    let input = read_input(body)?;
    if repo::name_taken(&svc.db, &input.name, None).await? {
        return Err(name_exists().into());
    }
    let t = constraint_or(
        repo::insert(&svc.db, &input).await,
        AppError::validation("保存失败,请稍后再试"),
        "保存失败,请稍后再试",
    )?;
    Ok(TagView::from(&t))
}

/// `PUT /tags/{id}` (a rename changes which instances match tag filters).
pub async fn update(svc: &Services, id: Option<i32>, body: &Body) -> ServiceResult<TagView> {
    let current = find(svc, id, "标签更新失败")
        .await?
        .ok_or_else(|| ServiceError::not_found("标签不存在"))?;
    let input = read_input(body)?;
    if repo::name_taken(&svc.db, &input.name, Some(current.id)).await? {
        return Err(name_exists().into());
    }
    let t = constraint_or(
        repo::update(&svc.db, current, &input).await,
        AppError::validation("保存失败,请稍后再试"),
        "保存失败,请稍后再试",
    )?;
    svc.changed(Change::Instances).await;
    Ok(TagView::from(&t))
}

async fn find(
    svc: &Services,
    id: Option<i32>,
    public: &'static str,
) -> ServiceResult<Option<wf_store::entity::tag::Model>> {
    Ok(match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    })
}

/// `GET /tags/{id}` (framework 404 when missing).
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<TagView> {
    find(svc, id, "获取标签详情失败")
        .await?
        .map(|t| TagView::from(&t))
        .ok_or_else(ServiceError::framework_not_found)
}

/// `GET /tags/by-name/{name}` (404 `标签不存在`).
pub async fn by_name(svc: &Services, name: &str) -> ServiceResult<TagView> {
    repo::by_name(&svc.db, name)
        .await
        .public("获取标签详情失败")?
        .map(|t| TagView::from(&t))
        .ok_or_else(|| ServiceError::not_found("标签不存在"))
}

/// `GET /tags/options`: active tags of a category (or all).
pub async fn options(svc: &Services, category: Option<&str>) -> ServiceResult<Vec<TagView>> {
    Ok(repo::active_options(&svc.db, category)
        .await
        .public("获取标签列表失败")?
        .iter()
        .map(TagView::from)
        .collect())
}

/// Every tag by category and name (bulk pickers).
pub async fn all(svc: &Services) -> ServiceResult<Vec<TagView>> {
    Ok(repo::all(&svc.db)
        .await
        .public("获取标签列表失败")?
        .iter()
        .map(TagView::from)
        .collect())
}

fn in_use(display_name: &str, n: u64) -> ServiceError {
    ServiceError::conflict(
        "TAG_IN_USE",
        format!("标签 '{display_name}' 仍被 {n} 个实例使用,无法删除"),
    )
}

/// `POST /tags/{id}/delete`: refused (409 `TAG_IN_USE`) while linked to an instance.
pub async fn delete(svc: &Services, id: Option<i32>) -> ServiceResult<i32> {
    const PUB: &str = "删除标签失败";
    let t = find(svc, id, PUB)
        .await?
        .ok_or_else(|| ServiceError::not_found("标签不存在"))?;
    let n = repo::link_count(&svc.db, t.id).await.public(PUB)?;
    if n > 0 {
        return Err(in_use(&t.display_name, n));
    }
    let tid = t.id;
    repo::delete(&svc.db, t).await.public(PUB)?;
    Ok(tid)
}

/// One item of a batch tag delete.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagDeleteResult {
    /// The id as sent (number, or the raw value for `invalid_id`).
    pub tag_id: Value,
    /// `deleted`, `not_found`, `in_use`, `invalid_id` or `error`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST /tags/batch-delete`: per-item results in request order.
pub async fn batch_delete(svc: &Services, body: &Body) -> ServiceResult<Vec<TagDeleteResult>> {
    body.require_object()?;
    let ids = match body.get("tag_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(ServiceError::validation("tag_ids 不能为空")),
    };
    let mut results = Vec::with_capacity(ids.len());
    for raw in ids {
        let item = |tag_id: Value, status| TagDeleteResult {
            tag_id,
            status,
            instance_count: None,
            message: None,
        };
        let Some(id) = wf_domain::body::int_value(raw) else {
            results.push(item(raw.clone(), "invalid_id"));
            continue;
        };
        let outcome: Result<Option<u64>, wf_store::StoreError> = async {
            let Some(t) = (match i32::try_from(id) {
                Ok(i) => repo::find(&svc.db, i).await?,
                Err(_) => None,
            }) else {
                return Ok(None);
            };
            let n = repo::link_count(&svc.db, t.id).await?;
            if n == 0 {
                repo::delete(&svc.db, t).await?;
            }
            Ok(Some(n))
        }
        .await;
        results.push(match outcome {
            Ok(None) => item(id.into(), "not_found"),
            Ok(Some(0)) => item(id.into(), "deleted"),
            Ok(Some(n)) => TagDeleteResult {
                instance_count: Some(n),
                ..item(id.into(), "in_use")
            },
            Err(e) => TagDeleteResult {
                message: Some(e.to_string()),
                ..item(id.into(), "error")
            },
        });
    }
    Ok(results)
}

/// Parse an id list (integers or numeric strings; de-duplicated in order); absent/null →
/// empty; anything else → 400 `ID格式错误: <key> 必须是整数数组`.
fn id_list(body: &Body, key: &str) -> Result<Vec<i32>, AppError> {
    let bad = || AppError::validation(format!("ID格式错误: {key} 必须是整数数组"));
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => {
            let mut out: Vec<i32> = Vec::with_capacity(a.len());
            for v in a {
                let n = wf_domain::body::int_value(v).ok_or_else(bad)?;
                let n = i32::try_from(n).unwrap_or(-1);
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            Ok(out)
        }
        Some(_) => Err(bad()),
    }
}

async fn found_instances(svc: &Services, ids: &[i32]) -> ServiceResult<Vec<i32>> {
    let found = instance_repo::existing_ids(&svc.db, ids).await?;
    if found.is_empty() {
        return Err(ServiceError::not_found("未找到任何实例"));
    }
    Ok(found)
}

/// The instances and tags named by a bulk body, as sent and as found.
struct Pairs {
    instance_ids: Vec<i32>,
    tag_ids: Vec<i32>,
    instances: Vec<i32>,
    tags: Vec<i32>,
}

async fn pairs(svc: &Services, body: &Body) -> ServiceResult<Pairs> {
    body.require_fields(true)?;
    let (instance_ids, tag_ids) = (id_list(body, "instance_ids")?, id_list(body, "tag_ids")?);
    if instance_ids.is_empty() || tag_ids.is_empty() {
        return Err(ServiceError::validation(
            "缺少必需字段: instance_ids, tag_ids",
        ));
    }
    let instances = found_instances(svc, &instance_ids).await?;
    let tags = repo::existing_ids(&svc.db, &tag_ids).await?;
    if tags.is_empty() {
        return Err(ServiceError::not_found("未找到任何标签"));
    }
    Ok(Pairs {
        instance_ids,
        tag_ids,
        instances,
        tags,
    })
}

/// Result of a bulk assign or remove.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkResult {
    /// Links created (assign) or removed (remove).
    pub count: u64,
    pub instance_ids: Vec<i32>,
    pub tag_ids: Vec<i32>,
}

/// `POST /tags/bulk/assign`: link every found instance to every found tag (existing links
/// kept), in one transaction.
pub async fn bulk_assign(svc: &Services, body: &Body) -> ServiceResult<BulkResult> {
    const PUB: &str = "批量分配标签失败";
    let p = pairs(svc, body).await?;
    let txn = crate::begin(svc, PUB).await?;
    let n = repo::assign(&txn, &p.instances, &p.tags)
        .await
        .public(PUB)?;
    txn.commit().await.public(PUB)?;
    if n > 0 {
        svc.changed(Change::Instances).await;
    }
    Ok(BulkResult {
        count: n as u64,
        instance_ids: p.instance_ids,
        tag_ids: p.tag_ids,
    })
}

/// `POST /tags/bulk/remove`.
pub async fn bulk_remove(svc: &Services, body: &Body) -> ServiceResult<BulkResult> {
    let p = pairs(svc, body).await?;
    let n = repo::unlink(&svc.db, p.instances, Some(p.tags))
        .await
        .public("批量移除标签失败")?;
    svc.changed(Change::Instances).await;
    Ok(BulkResult {
        count: n,
        instance_ids: p.instance_ids,
        tag_ids: p.tag_ids,
    })
}

async fn instances_only(svc: &Services, body: &Body) -> ServiceResult<(Vec<i32>, Vec<i32>)> {
    body.require_fields(true)?;
    let ids = id_list(body, "instance_ids")?;
    if ids.is_empty() {
        return Err(ServiceError::validation("缺少必需字段: instance_ids"));
    }
    let found = found_instances(svc, &ids).await?;
    Ok((ids, found))
}

/// `POST /tags/bulk/instance-tags`: the tags linked to any of the instances.
pub async fn bulk_instance_tags(
    svc: &Services,
    body: &Body,
) -> ServiceResult<(Vec<TagView>, Vec<i32>)> {
    const PUB: &str = "获取实例标签失败";
    let (ids, found) = instances_only(svc, body).await?;
    let tag_ids = repo::ids_of_instances(&svc.db, found).await.public(PUB)?;
    let tags = repo::find_many(&svc.db, tag_ids.into_iter().collect())
        .await
        .public(PUB)?;
    Ok((tags.iter().map(TagView::from).collect(), ids))
}

/// `POST /tags/bulk/remove-all`: every tag link of the instances.
pub async fn bulk_remove_all(svc: &Services, body: &Body) -> ServiceResult<(u64, Vec<i32>)> {
    let (ids, found) = instances_only(svc, body).await?;
    let n = repo::unlink(&svc.db, found, None)
        .await
        .public("批量移除所有标签失败")?;
    svc.changed(Change::Instances).await;
    Ok((n, ids))
}

/// An instance of the bulk picker.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstancePick {
    pub id: i32,
    pub name: String,
    pub host: String,
    pub port: i32,
    pub db_type: String,
}

/// `GET /tags/bulk/instances`: every instance by id.
pub async fn bulk_instances(svc: &Services) -> ServiceResult<Vec<InstancePick>> {
    Ok(instance_repo::all_by_id(&svc.db, None, None)
        .await
        .public("获取实例列表失败")?
        .into_iter()
        .map(|i| InstancePick {
            id: i.id,
            name: i.name,
            host: i.host,
            port: i.port,
            db_type: i.db_type,
        })
        .collect())
}
