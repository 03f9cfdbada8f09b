//! Common dropdown options (`api-v1.md` §4.5).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;
use wf_domain::{AppError, db_type, time};
use wf_store::entity::{instance, instance_database};

use super::Params;
use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::{ApiResult, PublicError};
use crate::state::AppState;

/// Common routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/common/instances/options", get(instance_options))
        .route("/api/v1/common/databases/options", get(database_options))
        .route(
            "/api/v1/common/database-types/options",
            get(database_type_options),
        )
}

/// `GET /common/instances/options` — active instances by name.
#[utoipa::path(get, path = "/api/v1/common/instances/options", tag = "common", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn instance_options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let mut sel = instance::Entity::find().filter(instance::Column::IsActive.eq(true));
    if let Some(t) = q.trimmed("db_type") {
        sel = sel.filter(Func::lower(Expr::col(instance::Column::DbType)).eq(t.to_lowercase()));
    }
    let rows = sel
        .order_by_asc(instance::Column::Name)
        .all(&st.db)
        .await
        .public("加载实例选项失败")?;
    let items: Vec<_> = rows
        .iter()
        .map(|i| json!({"id": i.id, "name": i.name, "db_type": i.db_type, "display_name": format!("{} ({})", i.name, i.db_type.to_uppercase())}))
        .collect();
    Ok(ok("实例选项获取成功", json!({"instances": items})))
}

/// `GET /common/databases/options` — inventory databases of one instance (`limit`/`offset`).
#[utoipa::path(get, path = "/api/v1/common/databases/options", tag = "common", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn database_options(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取实例数据库列表失败";
    let iid = q
        .trimmed("instance_id")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v != 0)
        .ok_or_else(|| AppError::validation("instance_id 为必填参数"))?;
    let int = |k: &str, d: i64| {
        q.trimmed(k)
            .map(|v| v.parse::<i64>().ok().filter(|n| *n >= 0))
            .unwrap_or(Some(d))
    };
    let (limit, offset) = match (int("limit", 100), int("offset", 0)) {
        (Some(l), Some(o)) => (l as u64, o as u64),
        _ => return Err(AppError::validation("limit/offset 必须为整数").into()),
    };
    let found = match i32::try_from(iid) {
        Ok(id) => instance::Entity::find_by_id(id)
            .one(&st.db)
            .await
            .public(PUB)?,
        Err(_) => None,
    };
    let inst = found.ok_or_else(|| AppError::not_found("实例不存在"))?;
    let base =
        instance_database::Entity::find().filter(instance_database::Column::InstanceId.eq(inst.id));
    let total = base.clone().count(&st.db).await.public(PUB)?;
    let rows = base
        .order_by_asc(instance_database::Column::DatabaseName)
        .limit(limit)
        .offset(offset)
        .all(&st.db)
        .await
        .public(PUB)?;
    let items: Vec<_> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "database_name": d.database_name, "is_active": d.is_active,
                "first_seen_date": d.first_seen_date.format("%Y-%m-%d").to_string(),
                "last_seen_date": d.last_seen_date.format("%Y-%m-%d").to_string(),
                "deleted_at": time::iso_opt(d.deleted_at.as_ref()),
            })
        })
        .collect();
    Ok(ok(
        "数据库选项获取成功",
        json!({"databases": items, "total_count": total, "limit": limit, "offset": offset}),
    ))
}

/// `GET /common/database-types/options`.
#[utoipa::path(get, path = "/api/v1/common/database-types/options", tag = "common", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn database_type_options(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let options: Vec<_> = db_type::SUPPORTED
        .iter()
        .map(|t| json!({"value": t, "text": db_type::display_name(t), "icon": db_type::icon(t), "color": db_type::color(t)}))
        .collect();
    Ok(ok("数据库类型选项获取成功", json!({"options": options})))
}
