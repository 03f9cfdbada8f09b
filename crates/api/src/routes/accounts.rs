//! Accounts (`api-v1.md` §4.7 instance accounts, §4.10 ledgers and sync): per-instance
//! account lists, permission snapshots, change history, the account ledger and the
//! single-instance account sync.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use wf_domain::{AppError, snapshot, time};
use wf_services::accounts::{self as sync, SyncError};
use wf_store::entity::{account_change_log, account_permission, instance, instance_account};

use super::{Params, icontains, instances_with_tags};
use crate::ctx::{Ctx, bool_param, page_param, page_size_param, path_id};
use crate::envelope::{ok, page};
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::Payload;
use crate::routes::instances::{find as find_instance, tag_brief, tags_of};
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
}

fn active_inventory_ids(active: bool) -> sea_orm::sea_query::SelectStatement {
    let mut sub = Query::select();
    sub.column(instance_account::Column::Id)
        .from(instance_account::Entity)
        .and_where(Expr::col(instance_account::Column::IsActive).eq(active));
    sub
}

/// Remove null members of an object (`api-v1.md`: "fields whose value is null are omitted").
fn drop_nulls(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.retain(|_, x| !Value::is_null(x));
    }
    v
}

#[derive(FromQueryResult)]
struct Summary {
    total: i64,
    active: Option<i64>,
    superuser: Option<i64>,
}

/// `GET /instances/{instance_id}/accounts`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts", tag = "instances", params(("instance_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn instance_accounts(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    q: Params,
) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取实例账户数据失败";
    let inst = find_instance(&st, &id, false, PUB).await?;
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 20, 200);
    let mut cond = Condition::all().add(account_permission::Column::InstanceId.eq(inst.id));
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains(account_permission::Column::Username, &s));
    }
    if !bool_param(q.get("include_deleted")) {
        cond = cond.add(
            account_permission::Column::InstanceAccountId.in_subquery(active_inventory_ids(true)),
        );
    }
    let order = if q
        .get("order")
        .map(|o| o.trim().eq_ignore_ascii_case("desc"))
        .unwrap_or(false)
    {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let sort = match q.get("sort").map(|s| s.trim().to_lowercase()).as_deref() {
        Some("id") => account_permission::Column::Id,
        Some("is_superuser") => account_permission::Column::IsSuperuser,
        Some("is_locked") => account_permission::Column::IsLocked,
        Some("last_change_time") => account_permission::Column::LastChangeTime,
        _ => account_permission::Column::Username,
    };
    let (total, rows) = account_page(&st, cond, sort, order, page_no, size)
        .await
        .public(PUB)?;
    let include_permissions = bool_param(q.get("include_permissions"));
    if include_permissions
        && rows
            .iter()
            .any(|r| !r.permission_snapshot.as_ref().is_some_and(snapshot::is_v4))
    {
        return Err(snapshot_missing());
    }
    let inv_ids: Vec<i32> = rows.iter().map(|r| r.instance_account_id).collect();
    let active: HashMap<i32, bool> = instance_account::Entity::find()
        .filter(instance_account::Column::Id.is_in(inv_ids))
        .all(&st.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|a| (a.id, a.is_active))
        .collect();
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let ts = r.type_specific.clone().filter(Value::is_object).unwrap_or(json!({}));
            let mut item = json!({
                "id": r.id, "username": r.username, "is_superuser": r.is_superuser, "is_locked": r.is_locked,
                "is_deleted": !active.get(&r.instance_account_id).copied().unwrap_or(false),
                "last_change_time": time::iso_opt(r.last_change_time.as_ref()), "type_specific": ts.clone(),
            });
            match inst.db_type.as_str() {
                "mysql" => {
                    item["host"] = ts.get("host").cloned().filter(|v| !v.is_null()).unwrap_or(json!("%"));
                    item["plugin"] = ts.get("plugin").cloned().filter(|v| !v.is_null()).unwrap_or(json!(""));
                }
                "sqlserver" => {
                    item["password_change_time"] = ts.get("password_change_time").cloned().unwrap_or(Value::Null);
                    if include_permissions {
                        let cats = r.permission_snapshot.as_ref().and_then(|s| s.get("categories")).cloned().unwrap_or(json!({}));
                        item["server_roles"] = cats.get("server_roles").cloned().unwrap_or(json!([]));
                        item["server_permissions"] = cats.get("server_permissions").cloned().unwrap_or(json!([]));
                        item["database_roles"] = cats.get("database_roles").cloned().unwrap_or(json!({}));
                        item["database_permissions"] = cats.get("database_permissions").cloned().unwrap_or(json!({}));
                    }
                }
                "oracle" => {
                    for k in ["oracle_id", "authentication_type", "account_status", "lock_date", "expiry_date", "default_tablespace", "created"] {
                        item[k] = ts.get(k).cloned().unwrap_or(Value::Null);
                    }
                }
                _ => {}
            }
            drop_nulls(item)
        })
        .collect();
    let backend = st.db.get_database_backend();
    let summary = Summary::find_by_statement(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => "SELECT COUNT(*) AS total, SUM(CASE WHEN ia.is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN ap.is_superuser THEN 1 ELSE 0 END) AS superuser FROM account_permission ap JOIN instance_accounts ia ON ia.id = ap.instance_account_id WHERE ap.instance_id = $1",
            _ => "SELECT COUNT(*) AS total, SUM(CASE WHEN ia.is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN ap.is_superuser THEN 1 ELSE 0 END) AS superuser FROM account_permission ap JOIN instance_accounts ia ON ia.id = ap.instance_account_id WHERE ap.instance_id = ?",
        },
        [inst.id.into()],
    ))
    .one(&st.db)
    .await
    .public(PUB)?
    .unwrap_or(Summary { total: 0, active: None, superuser: None });
    let active_n = summary.active.unwrap_or(0);
    let mut data = page(items, total, page_no, size);
    data["summary"] = json!({"total": summary.total, "active": active_n, "deleted": summary.total - active_n, "superuser": summary.superuser.unwrap_or(0)});
    Ok(ok("获取实例账户数据成功", data))
}

/// One page of account rows matching `cond`, sorted by `sort` with ties broken by id ascending.
async fn account_page(
    st: &AppState,
    cond: Condition,
    sort: account_permission::Column,
    order: sea_orm::Order,
    page_no: u64,
    size: u64,
) -> Result<(u64, Vec<account_permission::Model>), sea_orm::DbErr> {
    let pager = account_permission::Entity::find()
        .filter(cond)
        .order_by(sort, order)
        .order_by(account_permission::Column::Id, sea_orm::Order::Asc)
        .paginate(&st.db, size);
    crate::envelope::fetch_page(pager, page_no, size).await
}

fn snapshot_missing() -> ApiError {
    AppError::conflict("权限快照缺失,请稍后重试或触发重新同步")
        .code("SNAPSHOT_MISSING")
        .into()
}

/// `permissions` object shared by both permission endpoints.
fn permissions_json(db_type: &str, a: &account_permission::Model) -> Result<Value, ApiError> {
    let snap = a
        .permission_snapshot
        .clone()
        .filter(snapshot::is_v4)
        .ok_or_else(snapshot_missing)?;
    Ok(drop_nulls(json!({
        "db_type": db_type.to_uppercase(),
        "username": a.username,
        "is_superuser": a.is_superuser,
        "last_sync_time": time::china_display(a.last_sync_time.as_ref()),
        "snapshot": snap,
    })))
}

async fn account_of_instance(
    st: &AppState,
    inst: &instance::Model,
    raw: &str,
    public: &str,
) -> Result<account_permission::Model, ApiError> {
    let found = match path_id(raw)? {
        Some(id) => account_permission::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(public)?,
        None => None,
    };
    found
        .filter(|a| a.instance_id == inst.id)
        .ok_or_else(|| AppError::framework_not_found().into())
}

/// `GET /instances/{instance_id}/accounts/{account_id}/permissions`.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts/{account_id}/permissions", tag = "instances",
    params(("instance_id" = i64, Path), ("account_id" = i64, Path)), responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn instance_account_permissions(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((iid, aid)): Path<(String, String)>,
) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取账户权限失败";
    let inst = find_instance(&st, &iid, false, PUB).await?;
    let a = account_of_instance(&st, &inst, &aid, PUB).await?;
    Ok(ok(
        "获取账户权限成功",
        json!({
            "permissions": permissions_json(&inst.db_type, &a)?,
            "account": {"id": a.id, "instance_id": inst.id, "username": a.username, "instance_name": inst.name, "db_type": inst.db_type},
        }),
    ))
}

/// `GET /instances/{instance_id}/accounts/{account_id}/change-history` — 50 newest entries.
#[utoipa::path(get, path = "/api/v1/instances/{instance_id}/accounts/{account_id}/change-history", tag = "instances",
    params(("instance_id" = i64, Path), ("account_id" = i64, Path)), responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn instance_account_history(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((iid, aid)): Path<(String, String)>,
) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取变更历史失败";
    let inst = find_instance(&st, &iid, false, PUB).await?;
    let a = account_of_instance(&st, &inst, &aid, PUB).await?;
    let rows = account_change_log::Entity::find()
        .filter(account_change_log::Column::InstanceId.eq(inst.id))
        .filter(account_change_log::Column::Username.eq(a.username.as_str()))
        .filter(account_change_log::Column::DbType.eq(inst.db_type.as_str()))
        .order_by_desc(account_change_log::Column::ChangeTime)
        .order_by_desc(account_change_log::Column::Id)
        .limit(50)
        .all(&st.db)
        .await
        .public(PUB)?;
    let history: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "change_type": r.change_type, "change_time": time::china_display(r.change_time.as_ref()),
                "status": r.status, "message": r.message, "privilege_diff": r.privilege_diff, "other_diff": r.other_diff,
                "session_id": r.session_id,
            })
        })
        .collect();
    Ok(ok(
        "获取账户变更历史成功",
        json!({"account": {"id": a.id, "username": a.username, "db_type": inst.db_type}, "history": history}),
    ))
}

#[derive(FromQueryResult)]
struct ClassRow {
    account_id: i32,
    name: String,
    color: Option<String>,
}

/// `GET /accounts/ledgers` — accounts whose inventory row is active.
#[utoipa::path(get, path = "/api/v1/accounts/ledgers", tag = "accounts", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn ledgers(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取账户列表失败";
    let page_no = page_param(q.get("page"));
    let size = page_size_param(q.get("page_size"), 20, 200);
    let mut cond = Condition::all()
        .add(account_permission::Column::InstanceAccountId.in_subquery(active_inventory_ids(true)));
    if let Some(s) = q.trimmed("search") {
        let mut sub = Query::select();
        sub.column(instance::Column::Id)
            .from(instance::Entity)
            .cond_where(
                Condition::any()
                    .add(icontains(instance::Column::Name, &s))
                    .add(icontains(instance::Column::Host, &s)),
            );
        cond = cond.add(
            Condition::any()
                .add(icontains(account_permission::Column::Username, &s))
                .add(account_permission::Column::InstanceId.in_subquery(sub)),
        );
    }
    if let Some(t) = q.trimmed("db_type").filter(|t| t != "all") {
        cond = cond.add(account_permission::Column::DbType.eq(t));
    }
    if let Some(id) = q.trimmed("instance_id").and_then(|v| v.parse::<i64>().ok()) {
        cond = cond.add(account_permission::Column::InstanceId.eq(id));
    }
    for (param, col) in [
        ("is_locked", account_permission::Column::IsLocked),
        ("is_superuser", account_permission::Column::IsSuperuser),
    ] {
        match q.trimmed(param).as_deref() {
            Some("true") => cond = cond.add(col.eq(true)),
            Some("false") => cond = cond.add(col.eq(false)),
            _ => {}
        }
    }
    let tags = q.all("tags");
    if !tags.is_empty() {
        cond =
            cond.add(account_permission::Column::InstanceId.in_subquery(instances_with_tags(tags)));
    }
    if let Some(cid) = q
        .trimmed("classification")
        .and_then(|v| v.parse::<i64>().ok())
    {
        cond = cond.add(Expr::cust_with_values(
            "account_permission.id IN (SELECT account_id FROM account_classification_assignments WHERE classification_id = ? AND is_active = true)",
            [cid],
        ));
    }
    let order = if q.get("order").map(|o| o.trim() == "desc").unwrap_or(false) {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let sort = match q.get("sort").map(|s| s.trim()) {
        Some("db_type") => account_permission::Column::DbType,
        Some("is_locked") => account_permission::Column::IsLocked,
        Some("is_superuser") => account_permission::Column::IsSuperuser,
        _ => account_permission::Column::Username,
    };
    let (total, rows) = account_page(&st, cond, sort, order, page_no, size)
        .await
        .public(PUB)?;
    let inst_ids: Vec<i32> = rows.iter().map(|r| r.instance_id).collect();
    let instances: HashMap<i32, instance::Model> = instance::Entity::find()
        .filter(instance::Column::Id.is_in(inst_ids.clone()))
        .all(&st.db)
        .await
        .public(PUB)?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let tags = tags_of(&st.db, &inst_ids).await.public(PUB)?;
    let classes = classifications_of(&st, &rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .await
        .public(PUB)?;
    let items = rows
        .iter()
        .map(|r| {
            let inst = instances.get(&r.instance_id);
            json!({
                "id": r.id, "username": r.username,
                "instance_name": inst.map(|i| i.name.clone()).unwrap_or_else(|| "未知实例".into()),
                "instance_host": inst.map(|i| i.host.clone()).unwrap_or_else(|| "未知主机".into()),
                "db_type": r.db_type, "is_locked": r.is_locked, "is_superuser": r.is_superuser, "is_active": true, "is_deleted": false,
                "tags": tags.get(&r.instance_id).map(|ts| ts.iter().map(tag_brief).collect::<Vec<_>>()).unwrap_or_default(),
                "classifications": classes.get(&r.id).cloned().unwrap_or_default(),
            })
        })
        .collect();
    Ok(ok("获取账户列表成功", page(items, total, page_no, size)))
}

async fn classifications_of(
    st: &AppState,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<Value>>, sea_orm::DbErr> {
    let mut out: HashMap<i32, Vec<Value>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT a.account_id AS account_id, c.name AS name, c.color AS color FROM account_classification_assignments a \
JOIN account_classifications c ON c.id = a.classification_id WHERE a.is_active = true AND a.account_id IN ({list}) ORDER BY c.priority DESC, c.name"
    );
    let backend = st.db.get_database_backend();
    for r in ClassRow::find_by_statement(sea_orm::Statement::from_string(backend, sql))
        .all(&st.db)
        .await?
    {
        out.entry(r.account_id)
            .or_default()
            .push(json!({"name": r.name, "color": r.color}));
    }
    Ok(out)
}

/// `GET /accounts/ledgers/{account_id}/permissions`.
#[utoipa::path(get, path = "/api/v1/accounts/ledgers/{account_id}/permissions", tag = "accounts", params(("account_id" = i64, Path)),
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn ledger_permissions(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(aid): Path<String>,
) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取账户权限失败";
    let found = match path_id(&aid)? {
        Some(id) => account_permission::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(PUB)?,
        None => None,
    };
    let a = found.ok_or_else(|| ApiError(AppError::framework_not_found()))?;
    let inst = instance::Entity::find_by_id(a.instance_id)
        .one(&st.db)
        .await
        .public(PUB)?;
    let db_type = inst
        .as_ref()
        .map(|i| i.db_type.clone())
        .unwrap_or_else(|| a.db_type.clone());
    Ok(ok(
        "获取账户权限成功",
        json!({
            "permissions": permissions_json(&db_type, &a)?,
            "account": {"id": a.id, "username": a.username,
                "instance_name": inst.map(|i| i.name).unwrap_or_else(|| "未知实例".into()), "db_type": db_type},
        }),
    ))
}

/// `POST /accounts/actions/sync` — synchronous single-instance account sync.
#[utoipa::path(post, path = "/api/v1/accounts/actions/sync", tag = "accounts", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope), (status = 400, body = crate::openapi::ErrorEnvelope)))]
pub async fn sync_one(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "update", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    const PUB: &str = "账户同步失败,请重试";
    let raw = body
        .get("instance_id")
        .filter(|v| !v.is_null() && v.as_str().map(|s| !s.trim().is_empty()).unwrap_or(true));
    let raw = raw.ok_or_else(|| AppError::validation("缺少实例ID"))?;
    let id = match raw {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| AppError::validation("实例ID必须为整数"))?;
    let found = match i32::try_from(id) {
        Ok(id) => instance::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(PUB)?,
        Err(_) => None,
    };
    let inst = found.ok_or_else(|| AppError::not_found("实例不存在"))?;
    match sync::sync_instance(&st.db, &st.cipher, &inst, None).await {
        Ok(outcome) => {
            sync::record_manual_success(&st.db, inst.id)
                .await
                .public(PUB)?;
            let result = outcome.manual_result();
            let message = result["message"]
                .as_str()
                .unwrap_or("账户同步完成")
                .to_string();
            Ok(ok(&message, json!({"result": result})))
        }
        Err(SyncError::Store(e)) => {
            tracing::error!(error = %e, "account sync store failure");
            Err(AppError::system(PUB).into())
        }
        Err(e) => {
            let message = format!("同步失败: {e}");
            tracing::warn!(instance = %inst.name, error = %e, "account sync failed");
            let mut result = sync::failed_result(&message);
            if let Value::Object(o) = &mut result {
                o.insert("details".into(), Value::Object(Map::new()));
            }
            Err(AppError::endpoint(400, "INVALID_REQUEST", message)
                .with_extra(json!({"result": result, "instance_id": inst.id}))
                .into())
        }
    }
}
