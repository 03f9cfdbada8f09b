//! Users (`api-v1.md` §4.18): CRUD with the password policy, role rules and last-admin
//! protection, plus statistics.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};
use wf_domain::{AppError, password};
use wf_store::entity::user;

use super::{Params, boolish, icontains, sanitize, status_filter};
use crate::ctx::{Ctx, page_param, page_size_param, path_id};
use crate::envelope::{created, ok, ok_empty, page};
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::{BodyKind, Payload};
use crate::state::AppState;

/// User routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/stats", get(stats))
        .route(
            "/api/v1/users/{user_id}",
            get(detail).put(update).delete(delete),
        )
}

/// User object: `created_at` and `created_at_display` are date-only.
pub fn user_json(u: &user::Model) -> Value {
    let date = u.created_at.format("%Y-%m-%d").to_string();
    json!({
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "created_at": date,
        "created_at_display": date,
        "last_login": wf_domain::time::iso_opt(u.last_login.as_ref()),
        "is_active": u.is_active,
    })
}

fn username_ok(s: &str) -> bool {
    (3..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `GET /users`.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn list(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 10, 200);
    let mut cond = Condition::all();
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains(user::Column::Username, &s));
    }
    if let Some(r) = q.trimmed("role") {
        cond = cond.add(user::Column::Role.eq(r));
    }
    if let Some(c) = status_filter(&q, user::Column::IsActive) {
        cond = cond.add(c);
    }
    let sort = match q.get("sort").map(|s| s.trim().to_lowercase()).as_deref() {
        Some("id") => user::Column::Id,
        Some("username") => user::Column::Username,
        Some("role") => user::Column::Role,
        Some("is_active") => user::Column::IsActive,
        _ => user::Column::CreatedAt,
    };
    let order = if q
        .get("order")
        .map(|o| o.trim().eq_ignore_ascii_case("asc"))
        .unwrap_or(false)
    {
        sea_orm::Order::Asc
    } else {
        sea_orm::Order::Desc
    };
    let pager = user::Entity::find()
        .filter(cond)
        .order_by(sort, order.clone())
        .order_by(user::Column::Id, order)
        .paginate(&st.db, size);
    let (total, rows) = crate::envelope::fetch_page(pager, page_no, size)
        .await
        .public("获取用户列表失败")?;
    Ok(ok(
        "获取用户列表成功",
        page(rows.iter().map(user_json).collect(), total, page_no, size),
    ))
}

/// Validated user input (create or merged update).
struct UserInput {
    username: String,
    role: String,
    password: Option<String>,
    is_active: bool,
}

fn validate(
    username: &str,
    role: &str,
    password: Option<&str>,
    require_password: bool,
) -> Result<(), ApiError> {
    if username.is_empty() {
        return Err(AppError::validation("用户名不能为空").into());
    }
    if !username_ok(username) {
        return Err(AppError::validation("用户名只能包含字母、数字和下划线,长度为3-20位").into());
    }
    if role != "admin" && role != "user" {
        return Err(AppError::validation("角色只能是管理员或普通用户").into());
    }
    match password {
        None if require_password => Err(AppError::validation("请设置初始密码").into()),
        None => Ok(()),
        Some(p) => password::check_strength(p)
            .map_err(|m| AppError::validation(m).code("PASSWORD_INVALID").into()),
    }
}

fn read_input(body: &Payload, current: Option<&user::Model>) -> Result<UserInput, ApiError> {
    body.require_object()?;
    // JSON only: a form body is treated as empty (api-v1.md §4.18).
    let json = body.kind == BodyKind::Json;
    let text = |k: &str| if json { body.text(k) } else { None };
    let username = match text("username") {
        Some(s) => sanitize(&s),
        None => current.map(|u| u.username.clone()).unwrap_or_default(),
    };
    let role = match text("role") {
        Some(s) => s.trim().to_string(),
        None => current.map(|u| u.role.clone()).unwrap_or_default(),
    };
    let password = text("password").filter(|p| !p.is_empty());
    let is_active = match body.get("is_active").filter(|_| json) {
        None | Some(Value::Null) => current.map(|u| u.is_active).unwrap_or(true),
        Some(v) => boolish(v).ok_or_else(|| AppError::validation("is_active 必须是布尔值"))?,
    };
    validate(&username, &role, password.as_deref(), current.is_none())?;
    Ok(UserInput {
        username,
        role,
        password,
        is_active,
    })
}

async fn username_taken(st: &AppState, name: &str, except: Option<i32>) -> Result<bool, ApiError> {
    Ok(super::taken_by_other::<user::Entity>(
        &st.db,
        user::Column::Username,
        user::Column::Id,
        name,
        except,
    )
    .await?)
}

/// `POST /users`.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = crate::openapi::JsonObject,
    responses((status = 201, body = crate::openapi::SuccessEnvelope)))]
pub async fn create(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "create", Some(&body)).await?;
    let input = read_input(&body, None)?;
    if username_taken(&st, &input.username, None).await? {
        return Err(AppError::conflict("用户名已存在")
            .code("USERNAME_EXISTS")
            .into());
    }
    let hash = crate::routes::auth::hash_password(&st, input.password.unwrap_or_default()).await;
    let u = user::ActiveModel {
        username: Set(input.username),
        password: Set(hash),
        role: Set(input.role),
        created_at: Set(Utc::now()),
        last_login: Set(None),
        is_active: Set(input.is_active),
        ..Default::default()
    }
    .insert(&st.db)
    .await
    .map_err(|_| AppError::validation("保存失败,请稍后再试"))?;
    Ok(created("用户创建成功", json!({"user": user_json(&u)})))
}

async fn find(st: &AppState, raw: &str, public: &str) -> Result<user::Model, ApiError> {
    let id = path_id(raw)?;
    let found = match id {
        Some(id) => user::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(public)?,
        None => None,
    };
    found.ok_or_else(|| AppError::not_found("用户不存在").into())
}

/// `GET /users/{user_id}`.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn detail(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<String>,
) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let u = find(&st, &user_id, "获取用户信息失败").await?;
    Ok(ok("获取用户信息成功", json!({"user": user_json(&u)})))
}

async fn other_active_admins(st: &AppState, except: i32) -> Result<u64, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::Id.ne(except))
        .count(&st.db)
        .await?)
}

/// `PUT /users/{user_id}` — partial update.
#[utoipa::path(put, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = i64, Path)),
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<String>,
    body: Payload,
) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    let current = find(&st, &user_id, "用户更新失败").await?;
    let input = read_input(&body, Some(&current))?;
    if current.role == "admin"
        && (input.role != "admin" || !input.is_active)
        && other_active_admins(&st, current.id).await? == 0
    {
        return Err(AppError::validation("系统至少需要一位活跃管理员")
            .code("LAST_ADMIN_REQUIRED")
            .into());
    }
    if username_taken(&st, &input.username, Some(current.id)).await? {
        return Err(AppError::conflict("用户名已存在")
            .code("USERNAME_EXISTS")
            .into());
    }
    let hash = match input.password {
        Some(p) => Some(crate::routes::auth::hash_password(&st, p).await),
        None => None,
    };
    let mut am: user::ActiveModel = current.into();
    am.username = Set(input.username);
    am.role = Set(input.role);
    am.is_active = Set(input.is_active);
    if let Some(h) = hash {
        am.password = Set(h);
    }
    let u = am
        .update(&st.db)
        .await
        .map_err(|_| AppError::validation("保存失败,请稍后再试"))?;
    st.users.invalidate(&u.id).await;
    Ok(ok("用户更新成功", json!({"user": user_json(&u)})))
}

/// `DELETE /users/{user_id}` — hard delete.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn delete(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<String>,
    body: Payload,
) -> ApiResult {
    let me = ctx.authorize_write(&st, "delete", Some(&body)).await?;
    let target = find(&st, &user_id, "删除用户失败").await?;
    if target.id == me.id {
        return Err(AppError::validation("不能删除自己的账户").into());
    }
    if target.role == "admin"
        && user::Entity::find()
            .filter(user::Column::Role.eq("admin"))
            .count(&st.db)
            .await?
            <= 1
    {
        return Err(AppError::validation("不能删除最后一个管理员账户").into());
    }
    let tid = target.id;
    target.delete(&st.db).await.public("删除用户失败")?;
    st.users.invalidate(&tid).await;
    Ok(ok_empty("用户删除成功"))
}

/// `GET /users/stats`.
#[utoipa::path(get, path = "/api/v1/users/stats", tag = "users", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn stats(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let count = |c: Condition| {
        let db = st.db.clone();
        async move { user::Entity::find().filter(c).count(&db).await }
    };
    let total = count(Condition::all())
        .await
        .public("获取用户统计信息失败")?;
    let active = count(Condition::all().add(user::Column::IsActive.eq(true)))
        .await
        .public("获取用户统计信息失败")?;
    let admin = count(Condition::all().add(user::Column::Role.eq("admin")))
        .await
        .public("获取用户统计信息失败")?;
    let users = count(Condition::all().add(user::Column::Role.eq("user")))
        .await
        .public("获取用户统计信息失败")?;
    Ok(ok(
        "获取用户统计成功",
        json!({"total": total, "active": active, "inactive": total - active, "admin": admin, "user": users}),
    ))
}
