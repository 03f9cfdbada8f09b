//! Instances (`api-v1.md` §4.7, `domain.md` §1.3): the list with every filter, sort and page
//! rule in SQL (and its cached totals), input rules, create, detail, replace-style update,
//! soft delete and restore.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;
use wf_domain::body::{sanitize, truthy};
use wf_domain::db_type::DbType;
use wf_domain::{AppError, Body, BodyKind, InstanceStatus, password, time};
use wf_store::entity::instance;
use wf_store::repo::instances::{
    self as repo, InstanceChanges, InstanceFilter, InstanceSort, NewInstance,
};
use wf_store::repo::{credentials as credential_repo, tags as tag_repo};

use crate::context::{Area, Change, Services};
use crate::error::{Public, ServiceError, ServiceResult, constraint_or};
use crate::views::{TagBrief, TagView, require_strings};

/// One item of `GET /instances` (`api-v1.md` §4.7 list item).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceListItem {
    pub id: i32,
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub description: String,
    pub is_active: bool,
    /// UTC ISO-8601, null unless soft-deleted.
    pub deleted_at: Option<String>,
    /// `active`, `inactive` or `deleted`.
    pub status: &'static str,
    pub main_version: Option<String>,
    pub active_db_count: i64,
    pub active_account_count: i64,
    /// Latest completed account/capacity sync, UTC ISO-8601.
    pub last_sync_time: Option<String>,
    pub tags: Vec<TagBrief>,
}

crate::page_type!(
    /// `GET /instances` page.
    InstancePage,
    InstanceListItem
);

/// A list request: filter, sort, direction and page (already normalised by the caller).
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: InstanceFilter,
    pub sort: InstanceSort,
    pub desc: bool,
    pub page: u64,
    pub size: u64,
}

/// `GET /instances`: one statement per page; the total of a filter is cached for at most
/// [`crate::context::LIST_COUNT_MAX_TTL`] under the instances generation.
pub async fn list(svc: &Services, q: &ListQuery) -> ServiceResult<InstancePage> {
    const PUB: &str = "获取实例列表失败";
    let Some(offset) = (q.page - 1)
        .checked_mul(q.size)
        .filter(|o| *o <= i64::MAX as u64)
    else {
        let total = repo::count(&svc.db, &q.filter).await.public(PUB)?;
        return Ok(InstancePage::new(Vec::new(), total, q.page, q.size));
    };
    let generation = svc.generation(Area::Instances).await.public(PUB)?;
    let count = repo::count_statement(&svc.db, &q.filter);
    let key = format!("{generation}:{}:{:?}", count.sql, count.values);
    let cached = svc.list_counts.get(&key).await.and_then(|c| c.usable());
    // a deep page of the id order starts at the page anchor before it
    let (start_id, offset) = match offset / repo::ANCHOR_STEP {
        k @ 1.. if q.sort == repo::InstanceSort::Id => {
            let anchors = svc
                .list_anchors
                .try_get_with(format!("{key}:{}", q.desc), async {
                    repo::anchor_ids(&svc.db, &q.filter, q.desc)
                        .await
                        .map(Arc::new)
                })
                .await
                .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))
                .public(PUB)?;
            match anchors.get(k as usize - 1) {
                Some(id) => (Some(*id), offset - k * repo::ANCHOR_STEP),
                None => (None, offset),
            }
        }
        _ => (None, offset),
    };
    let rows = repo::page(
        &svc.db, &q.filter, q.sort, q.desc, offset, q.size, cached, start_id,
    )
    .await
    .public(PUB)?;
    let total = match rows.first() {
        Some(r) => {
            if cached.is_none() {
                svc.list_counts
                    .insert(key, crate::context::CachedTotal::new(r.total_count as u64))
                    .await;
            }
            r.total_count as u64
        }
        // past the last page: the page is empty, count on its own
        None if q.page > 1 => repo::count(&svc.db, &q.filter).await.public(PUB)?,
        None => 0,
    };
    let mut items: Vec<InstanceListItem> = Vec::with_capacity(q.size as usize);
    for r in rows {
        if items.last().map(|i| i.id) != Some(r.id) {
            items.push(InstanceListItem {
                id: r.id,
                status: InstanceStatus::of(r.is_active, r.deleted_at.is_some()).as_str(),
                name: r.name,
                db_type: r.db_type,
                host: r.host,
                port: r.port,
                description: r.description.unwrap_or_default(),
                is_active: r.is_active,
                deleted_at: r.deleted_at.as_ref().map(time::iso),
                main_version: r.main_version,
                active_db_count: r.active_db_count,
                active_account_count: r.active_account_count,
                last_sync_time: r.last_sync_time.as_ref().map(time::iso),
                tags: Vec::new(),
            });
        }
        if let (Some(name), Some(item)) = (r.tag_name, items.last_mut()) {
            item.tags.push(TagBrief {
                name,
                display_name: r.tag_display_name.unwrap_or_default(),
                color: r.tag_color.unwrap_or_default(),
            });
        }
    }
    Ok(InstancePage::new(items, total, q.page, q.size))
}

/// The credential of an instance detail (password masked).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialBrief {
    pub id: i32,
    pub name: String,
    pub username: String,
    /// Masked (`********`-style), never the secret.
    pub password: String,
    pub credential_type: String,
}

/// Instance detail object (`api-v1.md` §4.7 shared object).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceView {
    pub id: i32,
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub database_name: Option<String>,
    pub database_version: Option<String>,
    pub main_version: Option<String>,
    pub detailed_version: Option<String>,
    pub credential_id: Option<i32>,
    pub description: Option<String>,
    pub tags: Vec<TagView>,
    pub is_active: bool,
    /// SQL Server only: connect without TLS (old servers that cannot negotiate TLS 1.2).
    pub insecure_tls: bool,
    /// UTC ISO-8601.
    pub last_connected: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// `active`, `inactive` or `deleted`.
    pub status: &'static str,
    /// Present when the instance has a credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialBrief>,
}

/// `{instance}` payload of create, detail, update and restore.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceData {
    pub instance: InstanceView,
}

/// Build the detail object (tags and credential looked up).
pub async fn view(
    svc: &Services,
    i: &instance::Model,
) -> Result<InstanceView, wf_store::StoreError> {
    let tags = tag_repo::of_instances(&svc.db, &[i.id])
        .await?
        .remove(&i.id)
        .unwrap_or_default();
    let credential = match i.credential_id {
        Some(cid) => credential_repo::find(&svc.db, cid)
            .await?
            .map(|c| CredentialBrief {
                id: c.id,
                name: c.name,
                username: c.username,
                password: password::mask(&c.password),
                credential_type: c.credential_type,
            }),
        None => None,
    };
    Ok(InstanceView {
        id: i.id,
        name: i.name.clone(),
        db_type: i.db_type.clone(),
        host: i.host.clone(),
        port: i.port,
        database_name: i.database_name.clone(),
        database_version: i.database_version.clone(),
        main_version: i.main_version.clone(),
        detailed_version: i.detailed_version.clone(),
        credential_id: i.credential_id,
        description: i.description.clone(),
        tags: tags.iter().map(TagView::from).collect(),
        is_active: i.is_active,
        insecure_tls: i.insecure_tls,
        last_connected: i.last_connected.as_ref().map(time::iso),
        created_at: i.created_at.as_ref().map(time::iso),
        updated_at: i.updated_at.as_ref().map(time::iso),
        status: InstanceStatus::of(i.is_active, i.deleted_at.is_some()).as_str(),
        credential,
    })
}

/// Validated instance fields (`api-v1.md` §4.7 create/update rules): the row fields as an
/// update applies them, and the tags to link.
#[derive(Debug, Clone)]
pub struct InstanceInput {
    pub fields: InstanceChanges,
    pub tag_names: Vec<String>,
}

fn name_ok(name: &str) -> bool {
    name.chars().all(|c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '-' || ('\u{4e00}'..='\u{9fff}').contains(&c)
    })
}

/// Dotted IPv4 with octets 0–255, or hostname labels joined by dots.
pub fn host_ok(host: &str) -> bool {
    if host.is_empty() || host.len() > 255 {
        return false;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return parts
            .iter()
            .all(|p| p.len() <= 3 && p.parse::<u16>().map(|n| n <= 255).unwrap_or(false));
    }
    parts.iter().all(|l| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// Port: integer or numeric string in 1–65535 (`api-v1.md` §4.7 messages).
fn parse_port(v: &Value) -> Result<i32, AppError> {
    let n: i64 = match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().unwrap_or(i64::MAX),
        Value::Number(_) => return Err(AppError::validation("端口号格式不正确")),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::validation("端口号必须是整数"))?,
        _ => return Err(AppError::validation("端口号必须是整数")),
    };
    if !(1..=65535).contains(&n) {
        return Err(AppError::validation("端口号必须在1-65535之间"));
    }
    Ok(n as i32)
}

fn parse_credential_id(v: &Value, update: bool) -> Result<Option<i32>, AppError> {
    let not_int = || {
        AppError::validation(if update {
            "credential_id 必须为整数"
        } else {
            "凭据ID必须是整数"
        })
    };
    let n: i64 = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => {
            return if update {
                Ok(None)
            } else {
                Err(AppError::validation("无效的凭据ID"))
            };
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().ok_or_else(not_int)?,
        Value::Number(_) => return Err(AppError::validation("无效的凭据ID")),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| not_int())?,
        _ => return Err(not_int()),
    };
    if n <= 0 {
        return Err(AppError::validation("凭据ID必须是正整数"));
    }
    i32::try_from(n)
        .map(Some)
        .map_err(|_| AppError::validation("凭据不存在"))
}

/// The instance input rules of `api-v1.md` §4.7 (create, update and each CSV row). Form
/// bodies are HTML-sanitised; JSON string fields must be strings.
pub fn read_input(body: &Body, update: bool) -> Result<InstanceInput, AppError> {
    body.require_object()?;
    let form = body.kind == BodyKind::Form;
    let clean = |s: &str| {
        if form {
            sanitize(s)
        } else {
            s.trim().to_string()
        }
    };
    let missing: Vec<&str> = ["name", "db_type", "host", "port"]
        .into_iter()
        .filter(|k| !truthy(body.get(k)))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::validation(format!(
            "字段 '{}' 是必填的",
            missing.join(", ")
        )));
    }
    require_strings(
        body,
        &["name", "db_type", "host", "database_name", "description"],
    )?;
    let name = clean(&body.text("name").unwrap_or_default());
    if name.chars().count() > 100 {
        return Err(AppError::validation("实例名称长度不能超过100个字符"));
    }
    if name.is_empty() || !name_ok(&name) {
        return Err(AppError::validation(
            "实例名称只能包含字母、数字、下划线、连字符和中文字符",
        ));
    }
    let raw_type = body.text("db_type").unwrap_or_default();
    let db_type = DbType::parse(&raw_type).ok_or_else(|| {
        AppError::validation(format!(
            "不支持的数据库类型: {}.支持的类型: mysql, oracle, postgresql, sqlserver",
            raw_type.trim()
        ))
    })?;
    let host = clean(&body.text("host").unwrap_or_default());
    if !host_ok(&host) {
        return Err(AppError::validation(
            "主机地址格式无效,请输入有效的IP地址或域名",
        ));
    }
    let port = parse_port(body.get("port").unwrap_or(&Value::Null))?;
    let database_name = if body.has("database_name") {
        match body
            .text("database_name")
            .map(|s| clean(&s))
            .filter(|s| !s.is_empty())
        {
            None => Some(None),
            Some(d) => {
                if d.chars().count() > 64 {
                    return Err(AppError::validation("数据库名称长度不能超过64个字符"));
                }
                if !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(AppError::validation(
                        "数据库名称只能包含字母、数字、下划线和连字符",
                    ));
                }
                Some(Some(d))
            }
        }
    } else {
        None
    };
    let description = if body.has("description") {
        let d = body
            .text("description")
            .map(|s| clean(&s))
            .unwrap_or_default();
        if d.chars().count() > 500 {
            return Err(AppError::validation("描述长度不能超过500个字符"));
        }
        Some(Some(d))
    } else {
        None
    };
    let credential_id = match body.get("credential_id") {
        None => None,
        Some(v) => Some(parse_credential_id(v, update)?),
    };
    let is_active = match body.get("is_active") {
        None => None,
        Some(Value::Bool(b)) if !form => Some(*b),
        Some(_) => return Err(AppError::validation("is_active 仅支持布尔类型")),
    };
    let insecure_tls = body.optional_bool("insecure_tls")?;
    let tag_names = match body.get("tag_names") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(_) => return Err(AppError::validation("tag_names 必须为数组")),
    };
    Ok(InstanceInput {
        fields: InstanceChanges {
            name,
            db_type: db_type.as_str().to_string(),
            host,
            port,
            database_name,
            description,
            credential_id,
            is_active,
            insecure_tls,
        },
        tag_names,
    })
}

async fn check_refs(
    svc: &Services,
    input: &InstanceInput,
    except: Option<i32>,
) -> ServiceResult<()> {
    if let Some(Some(cid)) = input.fields.credential_id
        && credential_repo::find(&svc.db, cid).await?.is_none()
    {
        return Err(ServiceError::validation("凭据不存在"));
    }
    if repo::name_taken(&svc.db, &input.fields.name, except).await? {
        return Err(name_exists());
    }
    Ok(())
}

fn name_exists() -> ServiceError {
    ServiceError::conflict("CONSTRAINT_VIOLATION", "实例名称已存在")
}

/// The row write of a create or an update.
enum Write {
    Insert(NewInstance),
    Update(Box<(instance::Model, InstanceChanges)>),
}

/// Write the instance and replace its tags in one transaction; a unique-name violation (a
/// concurrent duplicate) is 409 `实例名称已存在`, any other failure the public error.
async fn save(
    svc: &Services,
    write: Write,
    tag_names: &[String],
    public: &'static str,
) -> ServiceResult<InstanceView> {
    let txn = crate::begin(svc, public).await?;
    let written = match write {
        Write::Insert(new) => repo::insert(&txn, &new).await,
        Write::Update(update) => {
            let (current, changes) = *update;
            repo::update(&txn, current, &changes).await
        }
    };
    let inst = constraint_or(written, AppError::conflict("实例名称已存在"), public)?;
    repo::replace_tags(&txn, inst.id, tag_names)
        .await
        .public(public)?;
    txn.commit().await.public(public)?;
    svc.changed(Change::Instances).await;
    view(svc, &inst).await.public(public)
}

/// `POST /instances`: validate, check the credential and the unique name, insert with its
/// tags in one transaction.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<InstanceView> {
    const PUB: &str = "创建实例失败";
    let input = read_input(body, false)?;
    check_refs(svc, &input, None).await?;
    let new = input.fields.new_instance();
    save(svc, Write::Insert(new), &input.tag_names, PUB).await
}

/// Instance by id; soft-deleted ones only when `include_deleted`; framework 404 otherwise.
/// `id` is `None` for path ids beyond 32 bits.
pub async fn find(
    svc: &Services,
    id: Option<i32>,
    include_deleted: bool,
    public: &'static str,
) -> ServiceResult<instance::Model> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found
        .filter(|i| include_deleted || i.deleted_at.is_none())
        .ok_or_else(ServiceError::framework_not_found)
}

/// `GET /instances/{id}`.
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<InstanceView> {
    const PUB: &str = "获取实例详情失败";
    let inst = find(svc, id, false, PUB).await?;
    view(svc, &inst).await.public(PUB)
}

/// `PUT /instances/{id}`: replace-style (absent `tag_names` removes every tag), one
/// transaction.
pub async fn update(svc: &Services, id: Option<i32>, body: &Body) -> ServiceResult<InstanceView> {
    const PUB: &str = "更新实例失败";
    let current = find(svc, id, false, PUB).await?;
    let input = read_input(body, true)?;
    check_refs(svc, &input, Some(current.id)).await?;
    save(
        svc,
        Write::Update(Box::new((current, input.fields))),
        &input.tag_names,
        PUB,
    )
    .await
}

/// Result of a soft delete.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SoftDeleted {
    pub instance_id: i32,
    /// UTC ISO-8601.
    pub deleted_at: String,
    /// Always `soft`.
    pub deletion_mode: &'static str,
}

/// `POST /instances/{id}/delete`: soft delete, idempotent (a deleted instance keeps its
/// `deleted_at`).
pub async fn soft_delete(svc: &Services, id: Option<i32>) -> ServiceResult<SoftDeleted> {
    const PUB: &str = "移入回收站失败,请重试";
    let inst = find(svc, id, true, PUB).await?;
    let instance_id = inst.id;
    let deleted_at = match inst.deleted_at {
        Some(d) => d,
        None => {
            let now = chrono::Utc::now();
            repo::set_deleted(&svc.db, inst, Some(now))
                .await
                .public(PUB)?;
            svc.changed(Change::Instances).await;
            now
        }
    };
    Ok(SoftDeleted {
        instance_id,
        deleted_at: time::iso(&deleted_at),
        deletion_mode: "soft",
    })
}

/// `POST /instances/{id}/restore`: returns the instance and whether it was deleted.
pub async fn restore(svc: &Services, id: Option<i32>) -> ServiceResult<(InstanceView, bool)> {
    const PUB: &str = "恢复实例失败,请重试";
    let inst = find(svc, id, true, PUB).await?;
    let (inst, restored) = if inst.deleted_at.is_some() {
        let r = repo::set_deleted(&svc.db, inst, None).await.public(PUB)?;
        svc.changed(Change::Instances).await;
        (r, true)
    } else {
        (inst, false)
    };
    Ok((view(svc, &inst).await.public(PUB)?, restored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn hosts_ports_and_types() {
        assert!(host_ok("127.0.0.1"));
        assert!(host_ok("db-1.example.com"));
        assert!(!host_ok("256.1.1.1"));
        assert!(!host_ok("-bad.example"));
        assert!(!host_ok("a..b"));
        assert_eq!(parse_port(&json!("5432")).unwrap(), 5432);
        assert_eq!(
            parse_port(&json!(1.5)).unwrap_err().message,
            "端口号格式不正确"
        );
        assert_eq!(
            parse_port(&json!("x")).unwrap_err().message,
            "端口号必须是整数"
        );
        assert_eq!(
            parse_port(&json!(70000)).unwrap_err().message,
            "端口号必须在1-65535之间"
        );
        assert!(name_ok("生产库_01-a"));
        assert!(!name_ok("a b"));
        let body = |v: Value| Body::json(v.as_object().unwrap().clone());
        let e = read_input(
            &body(json!({"name": 123, "db_type": "mysql", "host": "h", "port": 1})),
            false,
        )
        .unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (400, "name 必须是字符串"));
        let e = read_input(&body(json!({"name": "a", "db_type": "mysql", "host": "h", "port": 1, "description": ["x"]})), false)
            .unwrap_err();
        assert_eq!(e.message, "description 必须是字符串");
    }
}
