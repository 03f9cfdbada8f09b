//! Instance batch operations and statistics (`api-v1.md` §4.7): CSV batch create, batch soft
//! or hard delete, statistics.

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QuerySelect, Set, Statement, TransactionTrait,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use wf_domain::AppError;
use wf_store::entity::instance;

use crate::ctx::Ctx;
use crate::envelope::ok;
use crate::error::{ApiError, ApiResult, PublicError};
use crate::payload::{BodyKind, Payload, multipart_parts};
use crate::state::AppState;

/// Batch routes (literal paths win over `/instances/{instance_id}`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instances/batch-create", post(batch_create))
        .route("/api/v1/instances/batch-delete", post(batch_delete))
        .route("/api/v1/instances/statistics", get(statistics))
}

const CSV_COLUMNS: [&str; 7] = [
    "name",
    "db_type",
    "host",
    "port",
    "database_name",
    "description",
    "credential_id",
];
const REQUIRED: [&str; 4] = ["name", "db_type", "host", "port"];

/// Parse the uploaded CSV into row objects (recognised, non-empty cells only).
pub fn parse_csv(data: &[u8]) -> Result<Vec<Map<String, Value>>, AppError> {
    let text = std::str::from_utf8(data)
        .map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?
        .iter()
        .map(|h| {
            h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .to_lowercase()
        })
        .collect();
    let missing: BTreeSet<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !headers.iter().any(|h| h == r))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::validation(format!(
            "CSV文件缺少必填列: {}",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| AppError::validation(format!("CSV文件处理失败: {e}")))?;
        let mut row = Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            let v = v.trim();
            if CSV_COLUMNS.contains(&h.as_str()) && !v.is_empty() && !row.contains_key(h) {
                let v = if h == "db_type" {
                    v.to_lowercase()
                } else {
                    v.to_string()
                };
                row.insert(h.clone(), Value::String(v));
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err(AppError::validation("CSV文件为空或未包含有效数据"));
    }
    Ok(rows)
}

/// `POST /instances/batch-create` — multipart `file` (CSV).
#[utoipa::path(post, path = "/api/v1/instances/batch-create", tag = "instances",
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn batch_create(State(st): State<AppState>, ctx: Ctx, req: Request) -> ApiResult {
    let ct = crate::payload::content_type(req.headers());
    let body = axum::body::to_bytes(req.into_body(), st.settings.max_content_length)
        .await
        .map_err(|_| ApiError(AppError::framework(413, wf_domain::error::MSG_TOO_LARGE)))?;
    let parts = if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        multipart_parts(&ct, body)
    } else {
        Vec::new()
    };
    let mut fields = Map::new();
    for p in parts.iter().filter(|p| p.filename.is_none()) {
        fields.insert(
            p.name.clone(),
            Value::String(String::from_utf8_lossy(&p.data).into_owned()),
        );
    }
    let form = Payload {
        map: fields,
        kind: BodyKind::Form,
        not_object: false,
        empty: false,
    };
    ctx.authorize_write(&st, "create", Some(&form)).await?;
    let file = parts
        .iter()
        .find(|p| {
            p.name == "file"
                && p.filename
                    .as_deref()
                    .is_some_and(|f| f.to_lowercase().ends_with(".csv"))
        })
        .ok_or_else(|| AppError::validation("请上传CSV格式文件"))?;
    let rows = parse_csv(&file.data)?;
    create_rows(&st, rows).await
}

async fn create_rows(st: &AppState, rows: Vec<Map<String, Value>>) -> ApiResult {
    const PUB: &str = "批量创建实例失败";
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (n, row) in rows.into_iter().enumerate() {
        let payload = Payload {
            map: row,
            kind: BodyKind::Json,
            not_object: false,
            empty: false,
        };
        match super::instances::read_input(&payload, false) {
            Ok(input) => valid.push(input),
            Err(e) => errors.push(format!("第{}条数据: {}", n + 1, e.message)),
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in &valid {
        *counts.entry(v.name.clone()).or_default() += 1;
    }
    let duplicates: Vec<String> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| n.clone())
        .collect();
    if !duplicates.is_empty() {
        errors.push(format!("存在重复实例名称: {}", duplicates.join(", ")));
    }
    valid.retain(|v| counts[&v.name] == 1);
    let mut existing: BTreeSet<String> = BTreeSet::new();
    for chunk in valid.chunks(500) {
        let names: Vec<String> = chunk.iter().map(|v| v.name.clone()).collect();
        let found: Vec<String> = instance::Entity::find()
            .select_only()
            .column(instance::Column::Name)
            .filter(instance::Column::Name.is_in(names))
            .into_tuple()
            .all(&st.db)
            .await
            .public(PUB)?;
        existing.extend(found);
    }
    if !existing.is_empty() {
        errors.push(format!(
            "以下实例名称已存在: {}",
            existing.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    valid.retain(|v| !existing.contains(&v.name));
    let now = Utc::now();
    let models: Vec<instance::ActiveModel> = valid
        .iter()
        .map(|v| instance::ActiveModel {
            name: Set(v.name.clone()),
            db_type: Set(v.db_type.clone()),
            host: Set(v.host.clone()),
            port: Set(v.port),
            database_name: Set(v.database_name.clone().flatten()),
            sync_count: Set(0),
            credential_id: Set(None),
            description: Set(Some(v.description.clone().flatten().unwrap_or_default())),
            is_active: Set(true),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            ..Default::default()
        })
        .collect();
    // credential ids are only checked for format; link only those that exist so the
    // foreign key never fails the whole import.
    let wanted: Vec<i32> = valid
        .iter()
        .filter_map(|v| v.credential_id.flatten())
        .collect();
    let known: BTreeSet<i32> = if wanted.is_empty() {
        BTreeSet::new()
    } else {
        wf_store::entity::credential::Entity::find()
            .select_only()
            .column(wf_store::entity::credential::Column::Id)
            .filter(wf_store::entity::credential::Column::Id.is_in(wanted))
            .into_tuple::<i32>()
            .all(&st.db)
            .await
            .public(PUB)?
            .into_iter()
            .collect()
    };
    let models: Vec<instance::ActiveModel> = models
        .into_iter()
        .zip(valid.iter())
        .map(|(mut m, v)| {
            m.credential_id = Set(v.credential_id.flatten().filter(|c| known.contains(c)));
            m
        })
        .collect();
    let created = models.len();
    if created > 0 {
        let txn = st.db.begin().await.public(PUB)?;
        for chunk in models.chunks(200) {
            instance::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await
                .public(PUB)?;
        }
        txn.commit().await.public(PUB)?;
        st.bump_instances();
        refresh_statistics(st).await;
    }
    let dups: Vec<&String> = duplicates.iter().collect();
    Ok(ok(
        &format!("成功创建 {created} 个实例"),
        json!({"created_count": created, "errors": errors, "duplicate_names": dups, "skipped_existing_names": existing}),
    ))
}

/// After a large import on PostgreSQL, refresh the planner statistics of `instances` so the
/// list keeps using the primary-key order instead of a plan made for an empty table
/// (autovacuum would do it too, up to a minute later).
async fn refresh_statistics(st: &AppState) {
    if st.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let _ = st.db.execute_unprepared("ANALYZE instances").await;
    }
}

/// Tables cleared by a hard delete, children first, with their response counter.
const HARD_DELETE: [(&str, &str); 11] = [
    (
        "deleted_assignments",
        "DELETE FROM account_classification_assignments WHERE account_id IN (SELECT id FROM account_permission WHERE instance_id IN ({ids}))",
    ),
    (
        "deleted_account_permissions",
        "DELETE FROM account_permission WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_sync_records",
        "DELETE FROM sync_instance_records WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_change_logs",
        "DELETE FROM account_change_log WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_accounts",
        "DELETE FROM instance_accounts WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_databases",
        "DELETE FROM instance_databases WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_size_stats",
        "DELETE FROM instance_size_stats WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_size_aggregations",
        "DELETE FROM instance_size_aggregations WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_database_size_stats",
        "DELETE FROM database_size_stats WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_database_size_aggregations",
        "DELETE FROM database_size_aggregations WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_tag_links",
        "DELETE FROM instance_tags WHERE instance_id IN ({ids})",
    ),
];

/// `POST /instances/batch-delete` — soft (default) or hard.
#[utoipa::path(post, path = "/api/v1/instances/batch-delete", tag = "instances", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn batch_delete(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.authorize_write(&st, "delete", Some(&body)).await?;
    let body = body.json_only();
    body.require_object()?;
    const PUB: &str = "批量删除实例失败";
    let raw = match body.get("instance_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => return Err(AppError::validation("请选择要删除的实例").into()),
    };
    let mut ids: Vec<i64> = Vec::new();
    for v in raw {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| AppError::validation("实例ID列表无效"))?;
        if !ids.contains(&n) {
            ids.push(n);
        }
    }
    let hard = body
        .text("deletion_mode")
        .map(|m| m.trim().eq_ignore_ascii_case("hard"))
        .unwrap_or(false);
    let lookup: Vec<i32> = ids.iter().filter_map(|i| i32::try_from(*i).ok()).collect();
    let found: Vec<instance::Model> = instance::Entity::find()
        .filter(instance::Column::Id.is_in(lookup))
        .all(&st.db)
        .await
        .public(PUB)?;
    let found_ids: BTreeSet<i64> = found.iter().map(|i| i64::from(i.id)).collect();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|i| !found_ids.contains(i))
        .collect();
    let mut data = json!({
        "deleted_count": found.len(),
        "missing_instance_ids": missing,
        "deletion_mode": if hard { "hard" } else { "soft" },
    });
    for (k, _) in HARD_DELETE {
        data[k] = json!(0);
    }
    if !found.is_empty() {
        let id_list = found
            .iter()
            .map(|i| i.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let txn = st.db.begin().await.public(PUB)?;
        let backend = txn.get_database_backend();
        if hard {
            for (k, sql) in HARD_DELETE {
                let res = txn
                    .execute_raw(Statement::from_string(
                        backend,
                        sql.replace("{ids}", &id_list),
                    ))
                    .await
                    .public(PUB)?;
                data[k] = json!(res.rows_affected());
            }
            txn.execute_raw(Statement::from_string(
                backend,
                format!("DELETE FROM instances WHERE id IN ({id_list})"),
            ))
            .await
            .public(PUB)?;
        } else {
            let now = Utc::now();
            instance::Entity::update_many()
                .col_expr(
                    instance::Column::DeletedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .col_expr(
                    instance::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(instance::Column::Id.is_in(found.iter().map(|i| i.id).collect::<Vec<_>>()))
                .filter(instance::Column::DeletedAt.is_null())
                .exec(&txn)
                .await
                .public(PUB)?;
        }
        txn.commit().await.public(PUB)?;
        st.bump_instances();
        for i in &found {
            let _ = st
                .cache
                .invalidate_prefix(&crate::cache::instance_prefix(i.id))
                .await;
        }
    }
    data["deleted_sync_data"] = data["deleted_account_permissions"].clone();
    let n = found.len();
    let message = if hard {
        format!("成功删除 {n} 个实例")
    } else {
        format!("成功移入回收站 {n} 个实例")
    };
    Ok(ok(&message, data))
}

#[derive(FromQueryResult)]
struct GroupRow {
    key: Option<String>,
    db_type: Option<String>,
    n: i64,
}

/// `GET /instances/statistics`.
#[utoipa::path(get, path = "/api/v1/instances/statistics", tag = "instances", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn statistics(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "获取实例统计信息失败";
    let db = &st.db;
    let total = instance::Entity::find().count(db).await.public(PUB)?;
    let live = || instance::Entity::find().filter(instance::Column::DeletedAt.is_null());
    let active = live()
        .filter(instance::Column::IsActive.eq(true))
        .count(db)
        .await
        .public(PUB)?;
    let disabled = live()
        .filter(instance::Column::IsActive.eq(false))
        .count(db)
        .await
        .public(PUB)?;
    let deleted = instance::Entity::find()
        .filter(instance::Column::DeletedAt.is_not_null())
        .count(db)
        .await
        .public(PUB)?;
    let backend = db.get_database_backend();
    let q = |sql: &str| {
        GroupRow::find_by_statement(Statement::from_string(backend, sql.to_string())).all(db)
    };
    let types = q("SELECT db_type AS key, NULL AS db_type, COUNT(*) AS n FROM instances GROUP BY db_type ORDER BY n DESC, db_type").await.public(PUB)?;
    let ports = q("SELECT CAST(port AS TEXT) AS key, NULL AS db_type, COUNT(*) AS n FROM instances GROUP BY port ORDER BY n DESC, port LIMIT 10").await.public(PUB)?;
    let versions = q("SELECT main_version AS key, db_type, COUNT(*) AS n FROM instances GROUP BY db_type, main_version ORDER BY db_type, n DESC").await.public(PUB)?;
    Ok(ok(
        "获取实例统计信息成功",
        json!({
            "total_instances": total,
            "active_instances": active,
            "normal_instances": active,
            "disabled_instances": disabled,
            "inactive_instances": disabled,
            "deleted_instances": deleted,
            "db_types_count": types.len(),
            "db_type_stats": types.iter().map(|r| json!({"db_type": r.key, "count": r.n})).collect::<Vec<_>>(),
            "port_stats": ports.iter().map(|r| json!({"port": r.key.as_deref().and_then(|p| p.parse::<i64>().ok()), "count": r.n})).collect::<Vec<_>>(),
            "version_stats": versions.iter().map(|r| json!({"db_type": r.db_type, "version": r.key.clone().unwrap_or_else(|| "未知版本".into()), "count": r.n})).collect::<Vec<_>>(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn csv_rules() {
        let rows =
            parse_csv("\u{feff} Name ,DB_TYPE,host,port,extra\nа,MySQL,h,1,x\n,,,,\n".as_bytes())
                .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["db_type"], "mysql");
        assert!(rows[0].get("extra").is_none());
        assert_eq!(
            parse_csv(b"name,host\n").unwrap_err().message,
            "CSV文件缺少必填列: db_type, port"
        );
        assert_eq!(
            parse_csv(b"name,db_type,host,port\n").unwrap_err().message,
            "CSV文件为空或未包含有效数据"
        );
        assert!(
            parse_csv(&[0xff, 0xfe, 0x00])
                .unwrap_err()
                .message
                .starts_with("CSV文件处理失败: ")
        );
    }
}
