//! Instances (`api-v1.md` §4.7): list with filters/sort/paging computed in SQL, create,
//! detail, replace-style update, soft delete and restore.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use wf_domain::{AppError, db_type, password, time};
use wf_store::entity::{credential, instance, instance_tag, tag};

use super::{Params, icontains_any, instances_with_tags, order_param, sanitize, status_filter};
use crate::ctx::{Ctx, bool_param, page_param, page_size_param, path_id};
use crate::envelope::{Page, created, ok, ok_typed};
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::{BodyKind, Payload};
use crate::state::AppState;

/// Instance routes (accounts sub-resources live in `routes::accounts`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances", get(list).post(create))
        .route("/api/v1/instances/{instance_id}", get(detail).put(update))
        .route("/api/v1/instances/{instance_id}/delete", post(delete))
        .route("/api/v1/instances/{instance_id}/restore", post(restore))
}

/// Derived status (`api-v1.md` §3.3).
pub fn status(i: &instance::Model) -> &'static str {
    if i.deleted_at.is_some() {
        "deleted"
    } else if i.is_active {
        "active"
    } else {
        "inactive"
    }
}

pub use super::tags::tag_json;

/// Brief tag object of list items: `{name, display_name, color}` (colour key).
pub fn tag_brief(t: &tag::Model) -> Value {
    json!({"name": t.name, "display_name": t.display_name, "color": t.color})
}

#[derive(FromQueryResult)]
struct TagRow {
    instance_id: i32,
    id: i32,
    name: String,
    display_name: String,
    category: String,
    color: String,
    is_active: bool,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

/// Tags of the given instances, by instance id, sorted by name (one query).
pub async fn tags_of(
    db: &DatabaseConnection,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<tag::Model>>, sea_orm::DbErr> {
    let mut out: HashMap<i32, Vec<tag::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT it.instance_id, t.id, t.name, t.display_name, t.category, t.color, t.is_active, t.created_at, t.updated_at \
FROM instance_tags it JOIN tags t ON t.id = it.tag_id WHERE it.instance_id IN ({list}) ORDER BY t.name"
    );
    for r in TagRow::find_by_statement(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .all(db)
    .await?
    {
        out.entry(r.instance_id).or_default().push(tag::Model {
            id: r.id,
            name: r.name,
            display_name: r.display_name,
            category: r.category,
            color: r.color,
            is_active: r.is_active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(out)
}

/// Instance detail object (`api-v1.md` §4.7 shared object).
pub async fn detail_json(
    db: &DatabaseConnection,
    i: &instance::Model,
) -> Result<Value, sea_orm::DbErr> {
    let tags = tags_of(db, &[i.id])
        .await?
        .remove(&i.id)
        .unwrap_or_default();
    let mut v = json!({
        "id": i.id, "name": i.name, "db_type": i.db_type, "host": i.host, "port": i.port,
        "database_name": i.database_name, "database_version": i.database_version, "main_version": i.main_version,
        "detailed_version": i.detailed_version, "credential_id": i.credential_id, "description": i.description,
        "tags": tags.iter().map(tag_json).collect::<Vec<_>>(), "is_active": i.is_active,
        "last_connected": time::iso_opt(i.last_connected.as_ref()),
        "created_at": time::iso_opt(i.created_at.as_ref()), "updated_at": time::iso_opt(i.updated_at.as_ref()),
        "status": status(i),
    });
    if let Some(cid) = i.credential_id
        && let Some(c) = credential::Entity::find_by_id(cid).one(db).await?
    {
        v["credential"] = json!({
            "id": c.id, "name": c.name, "username": c.username, "password": password::mask(&c.password),
            "credential_type": c.credential_type,
        });
    }
    Ok(v)
}

/// One row of the instance page statement: instance columns, the total of matching rows,
/// the per-instance aggregates and at most one tag (one row per tag of the instance).
#[derive(FromQueryResult)]
struct ListRow {
    id: i32,
    name: String,
    db_type: String,
    host: String,
    port: i32,
    description: Option<String>,
    is_active: bool,
    deleted_at: Option<DateTime<Utc>>,
    main_version: Option<String>,
    total_count: i64,
    active_db_count: i64,
    active_account_count: i64,
    last_sync_time: Option<DateTime<Utc>>,
    tag_name: Option<String>,
    tag_display_name: Option<String>,
    tag_color: Option<String>,
}

/// Latest completed account/capacity sync of the instance whose id is `{ID}`.
const LAST_SYNC_SQL: &str = "(SELECT MAX(r.completed_at) FROM sync_instance_records r WHERE r.instance_id = {ID} \
AND r.status = 'completed' AND r.sync_category IN ('account', 'capacity'))";
const ACTIVE_DBS_SQL: &str = "(SELECT COUNT(*) FROM instance_databases d WHERE d.instance_id = page.id AND d.is_active = true)";
const ACTIVE_ACCOUNTS_SQL: &str = "(SELECT COUNT(*) FROM instance_accounts a WHERE a.instance_id = page.id AND a.is_active = true)";

/// `GET /instances` — filters, sort and paging in SQL, as **one statement**: the filtered,
/// sorted page is a subquery; the total is an uncorrelated scalar subquery (evaluated once);
/// the aggregates are correlated to the page's rows only; tags are joined in.
#[utoipa::path(get, path = "/api/v1/instances", tag = "instances", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    use instance::Column as C;
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Order, Query, QueryStatementBuilder};
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取实例列表失败";
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 20, 100);
    let mut cond = Condition::all();
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains_any(&[C::Name, C::Host, C::Description], &s));
    }
    if let Some(t) = q.trimmed("db_type").filter(|t| t != "all") {
        cond = cond.add(C::DbType.eq(t));
    }
    if let Some(c) = status_filter(&q, C::IsActive) {
        cond = cond.add(c);
    }
    let tags = q.all("tags");
    if !tags.is_empty() {
        cond = cond.add(C::Id.in_subquery(instances_with_tags(tags)));
    }
    if !bool_param(q.get("include_deleted")) {
        cond = cond.add(C::DeletedAt.is_null());
    }
    let desc = matches!(order_param(q.get("order"), true), sea_orm::Order::Desc);
    let dir = if desc { Order::Desc } else { Order::Asc };
    let sort = match q.get("sort").map(|s| s.trim().to_lowercase()).as_deref() {
        Some("name") => Some("name"),
        Some("db_type") => Some("db_type"),
        Some("host") => Some("host"),
        Some("last_sync_time") => Some("last_sync_time"),
        _ => None,
    };
    let Some(offset) = (page_no - 1)
        .checked_mul(size)
        .filter(|o| *o <= i64::MAX as u64)
    else {
        let total = instance::Entity::find()
            .filter(cond)
            .count(&st.db)
            .await
            .public(PUB)?;
        return Ok(ok_typed(
            "获取实例列表成功",
            &Page::<ListItem>::new(Vec::new(), total, page_no, size),
        ));
    };
    let last_sync_inner = LAST_SYNC_SQL.replace("{ID}", "instances.id");
    let last_sync_outer = LAST_SYNC_SQL.replace("{ID}", "page.id");
    // inner: the page
    let mut inner = instance::Entity::find().filter(cond.clone());
    inner = match sort {
        Some("last_sync_time") => inner.order_by(
            Expr::cust(last_sync_inner),
            if desc {
                sea_orm::Order::Desc
            } else {
                sea_orm::Order::Asc
            },
        ),
        Some(col) => inner.order_by(
            Expr::col((instance::Entity, Alias::new(col))),
            if desc {
                sea_orm::Order::Desc
            } else {
                sea_orm::Order::Asc
            },
        ),
        None => inner,
    };
    let inner = inner
        .order_by(
            C::Id,
            if desc {
                sea_orm::Order::Desc
            } else {
                sea_orm::Order::Asc
            },
        )
        .select_only()
        .columns([
            C::Id,
            C::Name,
            C::DbType,
            C::Host,
            C::Port,
            C::Description,
            C::IsActive,
            C::DeletedAt,
            C::MainVersion,
        ])
        .limit(size)
        .offset(offset)
        .into_query();
    let count_cond = cond.clone();
    let generation = st.instances_generation();
    let total = instance::Entity::find()
        .filter(cond)
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_query();
    let count_stmt = st.db.get_database_backend().build(&total);
    let count_key = format!("{generation}:{}:{:?}", count_stmt.sql, count_stmt.values);
    let cached_total = st.list_counts.get(&count_key).await;
    // outer: total, aggregates and tags of the page's rows
    let page_alias = Alias::new("page");
    let mut outer = Query::select();
    outer
        .column((page_alias.clone(), Asterisk))
        .expr_as(
            match cached_total {
                // a known total is passed as a parameter: the statement text stays the same
                Some(n) => Expr::val(n as i64),
                None => sea_orm::sea_query::SimpleExpr::SubQuery(
                    None,
                    Box::new(total.into_sub_query_statement()),
                ),
            },
            Alias::new("total_count"),
        )
        .expr_as(Expr::cust(ACTIVE_DBS_SQL), Alias::new("active_db_count"))
        .expr_as(
            Expr::cust(ACTIVE_ACCOUNTS_SQL),
            Alias::new("active_account_count"),
        )
        .expr_as(
            Expr::cust(last_sync_outer.clone()),
            Alias::new("last_sync_time"),
        )
        .expr_as(
            Expr::col((Alias::new("t"), Alias::new("name"))),
            Alias::new("tag_name"),
        )
        .expr_as(
            Expr::col((Alias::new("t"), Alias::new("display_name"))),
            Alias::new("tag_display_name"),
        )
        .expr_as(
            Expr::col((Alias::new("t"), Alias::new("color"))),
            Alias::new("tag_color"),
        )
        .from_subquery(inner, page_alias.clone())
        .left_join(
            Alias::new("instance_tags"),
            Expr::col((Alias::new("instance_tags"), Alias::new("instance_id")))
                .equals((page_alias.clone(), Alias::new("id"))),
        )
        .join_as(
            sea_orm::JoinType::LeftJoin,
            Alias::new("tags"),
            Alias::new("t"),
            Expr::col((Alias::new("t"), Alias::new("id")))
                .equals((Alias::new("instance_tags"), Alias::new("tag_id"))),
        );
    match sort {
        Some("last_sync_time") => {
            outer.order_by_expr(Expr::cust(last_sync_outer), dir.clone());
        }
        Some(col) => {
            outer.order_by((page_alias.clone(), Alias::new(col)), dir.clone());
        }
        None => {}
    }
    outer
        .order_by((page_alias, Alias::new("id")), dir)
        .order_by((Alias::new("t"), Alias::new("name")), Order::Asc);
    let stmt = st.db.get_database_backend().build(&outer);
    let rows = ListRow::find_by_statement(stmt)
        .all(&st.db)
        .await
        .public(PUB)?;
    let total = match rows.first() {
        Some(r) => {
            if cached_total.is_none() && st.instances_generation() == generation {
                st.list_counts.insert(count_key, r.total_count as u64).await;
            }
            r.total_count as u64
        }
        // past the last page: the page is empty, count on its own
        None if page_no > 1 => instance::Entity::find()
            .filter(count_cond)
            .count(&st.db)
            .await
            .public(PUB)?,
        None => 0,
    };
    let mut items: Vec<ListItem> = Vec::with_capacity(size as usize);
    for r in rows {
        if items.last().map(|i| i.id) != Some(r.id) {
            let status = if r.deleted_at.is_some() {
                "deleted"
            } else if r.is_active {
                "active"
            } else {
                "inactive"
            };
            items.push(ListItem {
                id: r.id,
                name: r.name,
                db_type: r.db_type,
                host: r.host,
                port: r.port,
                description: r.description.unwrap_or_default(),
                is_active: r.is_active,
                deleted_at: r.deleted_at.as_ref().map(time::iso),
                status,
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
    Ok(ok_typed(
        "获取实例列表成功",
        &Page::new(items, total, page_no, size),
    ))
}

/// Brief tag of a list item: `{name, display_name, color}` (colour key).
#[derive(serde::Serialize)]
struct TagBrief {
    name: String,
    display_name: String,
    color: String,
}

/// One item of `GET /instances` (`api-v1.md` §4.7 list item).
#[derive(serde::Serialize)]
struct ListItem {
    id: i32,
    name: String,
    db_type: String,
    host: String,
    port: i32,
    description: String,
    is_active: bool,
    deleted_at: Option<String>,
    status: &'static str,
    main_version: Option<String>,
    active_db_count: i64,
    active_account_count: i64,
    last_sync_time: Option<String>,
    tags: Vec<TagBrief>,
}

/// Validated instance fields.
pub(crate) struct InstanceInput {
    pub(crate) name: String,
    pub(crate) db_type: String,
    pub(crate) host: String,
    pub(crate) port: i32,
    pub(crate) database_name: Option<Option<String>>,
    pub(crate) description: Option<Option<String>>,
    pub(crate) credential_id: Option<Option<i32>>,
    pub(crate) is_active: Option<bool>,
    pub(crate) tag_names: Vec<String>,
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().map(|f| f != 0.0).unwrap_or(false),
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
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

pub(crate) fn read_input(body: &Payload, update: bool) -> Result<InstanceInput, AppError> {
    if body.not_object {
        return Err(AppError::validation("请求数据格式必须是 JSON 对象"));
    }
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
    let db_type = db_type::normalize(&raw_type);
    if !db_type::is_supported(&db_type) {
        return Err(AppError::validation(format!(
            "不支持的数据库类型: {}.支持的类型: mysql, oracle, postgresql, sqlserver",
            raw_type.trim()
        )));
    }
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
        name,
        db_type,
        host,
        port,
        database_name,
        description,
        credential_id,
        is_active,
        tag_names,
    })
}

async fn check_refs(
    st: &AppState,
    input: &InstanceInput,
    except: Option<i32>,
) -> Result<(), ApiError> {
    if let Some(Some(cid)) = input.credential_id
        && credential::Entity::find_by_id(cid)
            .one(&st.db)
            .await?
            .is_none()
    {
        return Err(AppError::validation("凭据不存在").into());
    }
    if super::taken_by_other::<instance::Entity>(
        &st.db,
        instance::Column::Name,
        instance::Column::Id,
        &input.name,
        except,
    )
    .await?
    {
        return Err(AppError::conflict("实例名称已存在").into());
    }
    Ok(())
}

async fn replace_tags<C: sea_orm::ConnectionTrait>(
    db: &C,
    instance_id: i32,
    names: &[String],
) -> Result<(), sea_orm::DbErr> {
    instance_tag::Entity::delete_many()
        .filter(instance_tag::Column::InstanceId.eq(instance_id))
        .exec(db)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    let tags = tag::Entity::find()
        .filter(tag::Column::Name.is_in(names.to_vec()))
        .all(db)
        .await?;
    let now = Utc::now();
    for t in tags {
        instance_tag::ActiveModel {
            instance_id: Set(instance_id),
            tag_id: Set(t.id),
            created_at: Set(Some(now)),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// `POST /instances`.
#[utoipa::path(post, path = "/api/v1/instances", tag = "instances", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = crate::openapi::SuccessEnvelope)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let input = read_input(&body, false)?;
    check_refs(&st, &input, None).await?;
    let now = Utc::now();
    let txn = st.db.begin().await.public("创建实例失败")?;
    let inst = instance::ActiveModel {
        name: Set(input.name.clone()),
        db_type: Set(input.db_type.clone()),
        host: Set(input.host.clone()),
        port: Set(input.port),
        database_name: Set(input.database_name.clone().flatten()),
        sync_count: Set(0),
        credential_id: Set(input.credential_id.flatten()),
        description: Set(Some(
            input.description.clone().flatten().unwrap_or_default(),
        )),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        tracing::warn!(error = %e, "instance insert failed");
        AppError::conflict("实例名称已存在")
    })?;
    replace_tags(&txn, inst.id, &input.tag_names)
        .await
        .public("创建实例失败")?;
    txn.commit().await.public("创建实例失败")?;
    st.bump_instances();
    let v = detail_json(&st.db, &inst).await.public("创建实例失败")?;
    Ok(created("实例创建成功", json!({"instance": v})))
}

/// Existing instance by path id (framework 404 when missing; soft-deleted excluded unless asked).
pub async fn find(
    st: &AppState,
    raw: &str,
    include_deleted: bool,
    public: &str,
) -> Result<instance::Model, ApiError> {
    let found = match path_id(raw)? {
        Some(id) => instance::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(public)?,
        None => None,
    };
    found
        .filter(|i| include_deleted || i.deleted_at.is_none())
        .ok_or_else(|| AppError::framework_not_found().into())
}

/// `GET /instances/{instance_id}`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}", tag = "instances", params(("instance_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let inst = find(&st, &id, false, "获取实例详情失败").await?;
    Ok(ok(
        "获取实例详情成功",
        json!({"instance": detail_json(&st.db, &inst).await.public("获取实例详情失败")?}),
    ))
}

/// `PUT /instances/{instance_id}` — replace-style update (absent `tag_names` removes all tags).
#[utoipa::path(put, path = "/api/v1/instances/{instance_id}", tag = "instances", params(("instance_id" = i64, Path)),
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    let current = find(&st, &id, false, "更新实例失败").await?;
    let input = read_input(&body, true)?;
    check_refs(&st, &input, Some(current.id)).await?;
    let txn = st.db.begin().await.public("更新实例失败")?;
    let mut am: instance::ActiveModel = current.clone().into();
    am.name = Set(input.name.clone());
    am.db_type = Set(input.db_type.clone());
    am.host = Set(input.host.clone());
    am.port = Set(input.port);
    if let Some(d) = input.database_name.clone() {
        am.database_name = Set(d);
    }
    if let Some(d) = input.description.clone() {
        am.description = Set(d);
    }
    if let Some(c) = input.credential_id {
        am.credential_id = Set(c);
    }
    if let Some(a) = input.is_active {
        am.is_active = Set(a);
    }
    am.updated_at = Set(Some(Utc::now()));
    let inst = am
        .update(&txn)
        .await
        .map_err(|_| AppError::conflict("实例名称已存在"))?;
    replace_tags(&txn, inst.id, &input.tag_names)
        .await
        .public("更新实例失败")?;
    txn.commit().await.public("更新实例失败")?;
    st.bump_instances();
    Ok(ok(
        "实例更新成功",
        json!({"instance": detail_json(&st.db, &inst).await.public("更新实例失败")?}),
    ))
}

/// `POST /instances/{instance_id}/delete` — soft delete (idempotent).
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/delete", tag = "instances", params(("instance_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "delete", Some(&body)).await?;
    const PUB: &str = "移入回收站失败,请重试";
    let inst = find(&st, &id, true, PUB).await?;
    let deleted_at = match inst.deleted_at {
        Some(d) => d,
        None => {
            let now = Utc::now();
            let mut am: instance::ActiveModel = inst.clone().into();
            am.deleted_at = Set(Some(now));
            am.updated_at = Set(Some(now));
            am.update(&st.db).await.public(PUB)?;
            st.bump_instances();
            now
        }
    };
    Ok(ok(
        "实例已移入回收站",
        json!({"instance_id": inst.id, "deleted_at": time::iso(&deleted_at), "deletion_mode": "soft"}),
    ))
}

/// `POST /instances/{instance_id}/restore`.
#[utoipa::path(post, path = "/api/v1/instances/{instance_id}/restore", tag = "instances", params(("instance_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn restore(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    const PUB: &str = "恢复实例失败,请重试";
    let inst = find(&st, &id, true, PUB).await?;
    let (inst, message) = if inst.deleted_at.is_some() {
        let mut am: instance::ActiveModel = inst.into();
        am.deleted_at = Set(None);
        am.updated_at = Set(Some(Utc::now()));
        let restored = am.update(&st.db).await.public(PUB)?;
        st.bump_instances();
        (restored, "实例恢复成功")
    } else {
        (inst, "实例未删除，无需恢复")
    };
    Ok(ok(
        message,
        json!({"instance": detail_json(&st.db, &inst).await.public(PUB)?}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn hosts_and_ports() {
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
    }
}
