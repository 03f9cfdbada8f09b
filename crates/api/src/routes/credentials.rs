//! Credentials (`api-v1.md` §4.9): the password is encrypted at rest (`domain.md` §9.2) and
//! only ever returned masked.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use wf_domain::{AppError, db_type, password, time};
use wf_store::entity::{credential, instance};

use super::{Params, icontains_any, instances_with_tags, order_param, sanitize, status_filter};
use crate::ctx::{Ctx, page_param, page_size_param, path_id};
use crate::envelope::{created, ok, page};
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::Payload;
use crate::state::AppState;

/// Credential routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credentials", get(list).post(create))
        .route(
            "/api/v1/credentials/{credential_id}",
            get(detail).put(update),
        )
        .route("/api/v1/credentials/{credential_id}/delete", post(delete))
}

const TYPES: [&str; 5] = ["database", "ssh", "windows", "api", "ldap"];

/// Credential object (masked password, no description/is_active).
pub fn credential_json(c: &credential::Model) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "credential_type": c.credential_type,
        "db_type": c.db_type,
        "username": c.username,
        "category_id": c.category_id,
        "created_at": time::iso_opt(c.created_at.as_ref()),
        "updated_at": time::iso_opt(c.updated_at.as_ref()),
        "password": password::mask(&c.password),
    })
}

#[derive(FromQueryResult)]
struct UsageRow {
    credential_id: Option<i32>,
    n: i64,
}

/// `GET /credentials`.
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取凭据列表失败";
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 20, 200);
    let mut cond = Condition::all();
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains_any(
            &[
                credential::Column::Name,
                credential::Column::Username,
                credential::Column::Description,
            ],
            &s,
        ));
    }
    for (param, col) in [
        ("credential_type", credential::Column::CredentialType),
        ("db_type", credential::Column::DbType),
    ] {
        if let Some(v) = q.trimmed(param).filter(|v| v != "all") {
            cond = cond.add(col.eq(v));
        }
    }
    if let Some(c) = status_filter(&q, credential::Column::IsActive) {
        cond = cond.add(c);
    }
    let tags = q.all("tags");
    if !tags.is_empty() {
        let mut sub = Query::select();
        sub.column(instance::Column::CredentialId)
            .from(instance::Entity)
            .and_where(Expr::col(instance::Column::Id).in_subquery(instances_with_tags(tags)))
            .and_where(Expr::col(instance::Column::CredentialId).is_not_null());
        cond = cond.add(credential::Column::Id.in_subquery(sub));
    }
    let order = order_param(q.get("order"), true);
    let sort = q
        .get("sort")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let mut select = credential::Entity::find().filter(cond);
    if sort == "instance_count" {
        let count = Expr::cust(
            "(SELECT COUNT(*) FROM instances WHERE instances.credential_id = credentials.id)",
        );
        select = select.order_by(count, order.clone());
    } else {
        let col = match sort.as_str() {
            "id" => credential::Column::Id,
            "name" => credential::Column::Name,
            "credential_type" => credential::Column::CredentialType,
            "db_type" => credential::Column::DbType,
            "username" => credential::Column::Username,
            "is_active" => credential::Column::IsActive,
            _ => credential::Column::CreatedAt,
        };
        select = select.order_by(col, order.clone());
    }
    let pager = select
        .order_by(credential::Column::Id, order)
        .paginate(&st.db, size);
    let (total, rows) = crate::envelope::fetch_page(pager, page_no, size)
        .await
        .public(PUB)?;
    let ids: Vec<i32> = rows.iter().map(|c| c.id).collect();
    let usage: HashMap<i32, i64> = instance::Entity::find()
        .select_only()
        .column(instance::Column::CredentialId)
        .column_as(instance::Column::Id.count(), "n")
        .filter(instance::Column::CredentialId.is_in(ids))
        .group_by(instance::Column::CredentialId)
        .into_model::<UsageRow>()
        .all(&st.db)
        .await
        .public(PUB)?
        .into_iter()
        .filter_map(|r| r.credential_id.map(|id| (id, r.n)))
        .collect();
    let items = rows
        .iter()
        .map(|c| {
            let mut v = credential_json(c);
            v["description"] = json!(c.description);
            v["is_active"] = json!(c.is_active);
            v["instance_count"] = json!(usage.get(&c.id).copied().unwrap_or(0));
            v["created_at_display"] = json!(
                c.created_at
                    .as_ref()
                    .map(|d| time::china_display(Some(d)))
                    .unwrap_or_default()
            );
            v
        })
        .collect();
    Ok(ok("操作成功", page(items, total, page_no, size)))
}

struct CredentialInput {
    name: String,
    credential_type: String,
    username: String,
    password: Option<String>,
    db_type: Option<Option<String>>,
    description: Option<Option<String>>,
    is_active: Option<bool>,
}

fn read_input(body: &Payload, update: bool) -> Result<CredentialInput, ApiError> {
    body.require_object()?;
    let field = |k: &str| body.text(k).map(|s| sanitize(&s)).filter(|s| !s.is_empty());
    let name = field("name").ok_or_else(|| AppError::validation("name不能为空"))?;
    if name.chars().count() > 255 {
        return Err(AppError::validation("name长度不能超过255个字符").into());
    }
    let credential_type =
        field("credential_type").ok_or_else(|| AppError::validation("credential_type不能为空"))?;
    let username = field("username").ok_or_else(|| AppError::validation("username不能为空"))?;
    // The password is never HTML-escaped (docs/decisions.md); it is used verbatim.
    let password = body.text("password").filter(|p| !p.is_empty());
    if password.is_none() && !update {
        return Err(AppError::validation("password不能为空").into());
    }
    if !TYPES.contains(&credential_type.to_lowercase().as_str()) {
        return Err(AppError::validation(format!("不支持的凭据类型: {credential_type}")).into());
    }
    let ulen = username.chars().count();
    if ulen < 3 {
        return Err(AppError::validation("用户名长度至少3个字符").into());
    }
    if ulen > 50 {
        return Err(AppError::validation("用户名长度不能超过50个字符").into());
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(AppError::validation("用户名只能包含字母、数字、下划线、连字符和点").into());
    }
    if let Some(p) = &password {
        password::check_length(p).map_err(AppError::validation)?;
    }
    let db_type = if body.has("db_type") {
        match field("db_type") {
            None => Some(None),
            Some(raw) => {
                let n = db_type::normalize(&raw);
                if !db_type::is_supported(&n) {
                    return Err(AppError::validation(format!("不支持的数据库类型: {raw}")).into());
                }
                Some(Some(n))
            }
        }
    } else {
        None
    };
    let description = if body.has("description") {
        Some(field("description"))
    } else {
        None
    };
    let is_active = super::optional_bool(body, "is_active")?;
    Ok(CredentialInput {
        name,
        credential_type,
        username,
        password,
        db_type,
        description,
        is_active,
    })
}

async fn name_taken(st: &AppState, name: &str, except: Option<i32>) -> Result<bool, ApiError> {
    Ok(super::taken_by_other::<credential::Entity>(
        &st.db,
        credential::Column::Name,
        credential::Column::Id,
        name,
        except,
    )
    .await?)
}

/// `POST /credentials`.
#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = crate::openapi::SuccessEnvelope)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let body = body.json_only();
    let input = read_input(&body, false)?;
    if name_taken(&st, &input.name, None).await? {
        return Err(AppError::validation("凭据名称已存在,请使用其他名称").into());
    }
    let now = Utc::now();
    let c = credential::ActiveModel {
        name: Set(input.name),
        credential_type: Set(input.credential_type),
        db_type: Set(input.db_type.flatten()),
        username: Set(input.username),
        password: Set(st.cipher.encrypt(&input.password.unwrap_or_default())),
        description: Set(input.description.flatten()),
        category_id: Set(None),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(&st.db)
    .await
    .map_err(|_| AppError::database("创建凭据失败,请稍后重试"))?;
    Ok(created(
        "数据保存成功",
        json!({"credential": credential_json(&c)}),
    ))
}

async fn find(st: &AppState, raw: &str, public: &str) -> Result<credential::Model, ApiError> {
    let found = match path_id(raw)? {
        Some(id) => credential::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(public)?,
        None => None,
    };
    found.ok_or_else(|| AppError::not_found("凭据不存在").into())
}

/// `GET /credentials/{credential_id}`.
#[utoipa::path(get, path = "/api/v1/credentials/{credential_id}", tag = "credentials", params(("credential_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn detail(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let c = find(&st, &id, "获取凭据详情失败").await?;
    Ok(ok("操作成功", json!({"credential": credential_json(&c)})))
}

/// `PUT /credentials/{credential_id}`.
#[utoipa::path(put, path = "/api/v1/credentials/{credential_id}", tag = "credentials", params(("credential_id" = i64, Path)),
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    let body = body.json_only();
    let current = find(&st, &id, "更新凭据失败").await?;
    let input = read_input(&body, true)?;
    if name_taken(&st, &input.name, Some(current.id)).await? {
        return Err(AppError::validation("凭据名称已存在,请使用其他名称").into());
    }
    let mut am: credential::ActiveModel = current.into();
    am.name = Set(input.name);
    am.credential_type = Set(input.credential_type);
    am.username = Set(input.username);
    if let Some(p) = input.password {
        am.password = Set(st.cipher.encrypt(&p));
    }
    if let Some(d) = input.db_type {
        am.db_type = Set(d);
    }
    if let Some(d) = input.description {
        am.description = Set(d);
    }
    if let Some(a) = input.is_active {
        am.is_active = Set(a);
    }
    am.updated_at = Set(Some(Utc::now()));
    let c = am
        .update(&st.db)
        .await
        .map_err(|_| AppError::database("更新凭据失败,请稍后重试"))?;
    Ok(ok(
        "数据更新成功",
        json!({"credential": credential_json(&c)}),
    ))
}

/// `POST /credentials/{credential_id}/delete` — hard delete; instances keep existing with
/// `credential_id` null.
#[utoipa::path(post, path = "/api/v1/credentials/{credential_id}/delete", tag = "credentials", params(("credential_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "delete", Some(&body)).await?;
    let c = find(&st, &id, "删除凭据失败").await?;
    let cid = c.id;
    instance::Entity::update_many()
        .col_expr(
            instance::Column::CredentialId,
            Expr::value(Option::<i32>::None),
        )
        .filter(instance::Column::CredentialId.eq(cid))
        .exec(&st.db)
        .await
        .map_err(|_| AppError::database("删除凭据失败,请稍后重试"))?;
    c.delete(&st.db)
        .await
        .map_err(|_| AppError::database("删除凭据失败,请稍后重试"))?;
    Ok(ok("数据删除成功", json!({"credential_id": cid})))
}
