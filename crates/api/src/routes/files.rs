//! File exports (`api-v1.md` §4.22): instance export and the import template. CSV bodies are
//! UTF-8, `\r\n`, with the formula-injection guard (`domain.md` §9.8).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use wf_domain::time;
use wf_store::entity::instance;

use super::{Params, icontains_any};
use crate::ctx::Ctx;
use crate::error::{ApiResult, PublicError};
use crate::routes::instances::tags_of;
use crate::state::AppState;

/// File routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files/instance-export", get(instance_export))
        .route("/api/v1/files/template-download", get(template_download))
}

/// Neutralise spreadsheet formulas: a cell starting (after leading whitespace) with `=`, `+`,
/// `-` or `@` gets a leading `'`.
pub fn guard_cell(v: &str) -> String {
    match v.trim_start().chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{v}"),
        _ => v.to_string(),
    }
}

/// Render rows as CSV (`\r\n`, every cell guarded).
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r.iter().map(|c| guard_cell(c)))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A CSV download response.
pub fn csv_download(filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={filename}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /files/instance-export` — every instance (inactive and soft-deleted included), by id.
#[utoipa::path(get, path = "/api/v1/files/instance-export", tag = "files", responses((status = 200, description = "CSV file")))]
pub async fn instance_export(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    const PUB: &str = "导出实例失败";
    let mut cond = Condition::all();
    if let Some(s) = q.trimmed("search") {
        cond = cond.add(icontains_any(
            &[
                instance::Column::Name,
                instance::Column::Host,
                instance::Column::Description,
            ],
            &s,
        ));
    }
    if let Some(t) = q.trimmed("db_type") {
        cond = cond.add(instance::Column::DbType.eq(t));
    }
    let rows = instance::Entity::find()
        .filter(cond)
        .order_by_asc(instance::Column::Id)
        .all(&st.db)
        .await
        .public(PUB)?;
    let tags = tags_of(&st.db, &rows.iter().map(|i| i.id).collect::<Vec<_>>())
        .await
        .public(PUB)?;
    let disp = |d: Option<&chrono::DateTime<chrono::Utc>>| {
        d.map(|d| time::china_display(Some(d))).unwrap_or_default()
    };
    let data: Vec<Vec<String>> = rows
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.name.clone(),
                i.db_type.clone(),
                i.host.clone(),
                i.port.to_string(),
                i.database_name.clone().unwrap_or_default(),
                tags.get(&i.id)
                    .map(|ts| {
                        ts.iter()
                            .map(|t| t.display_name.clone())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                if i.is_active { "启用" } else { "停用" }.to_string(),
                i.description.clone().unwrap_or_default(),
                i.credential_id.map(|c| c.to_string()).unwrap_or_default(),
                i.sync_count.to_string(),
                disp(i.last_connected.as_ref()),
                disp(i.created_at.as_ref()),
                disp(i.updated_at.as_ref()),
            ]
        })
        .collect();
    let header = [
        "ID",
        "实例名称",
        "数据库类型",
        "主机地址",
        "端口",
        "数据库名",
        "标签",
        "状态",
        "描述",
        "凭据ID",
        "同步次数",
        "最后连接时间",
        "创建时间",
        "更新时间",
    ];
    let body = to_csv(&header, &data).public(PUB)?;
    let stamp = chrono::Utc::now()
        .with_timezone(&time::china())
        .format("%Y%m%d_%H%M%S");
    Ok(csv_download(&format!("instances_export_{stamp}.csv"), body))
}

/// `GET /files/template-download` — the CSV import template.
#[utoipa::path(get, path = "/api/v1/files/template-download", tag = "files", responses((status = 200, description = "CSV file")))]
pub async fn template_download(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, "view").await?;
    let body = "name,db_type,host,port,database_name,description,credential_id\r\ndemo-mysql-01,mysql,10.10.10.10,3306,inventory,example instance,123\r\n";
    Ok(csv_download(
        "instances_import_template.csv",
        body.as_bytes().to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formula_guard() {
        assert_eq!(guard_cell("=1+2"), "'=1+2");
        assert_eq!(guard_cell("  @x"), "'  @x");
        assert_eq!(guard_cell("-5"), "'-5");
        assert_eq!(guard_cell("a=b"), "a=b");
        let out =
            String::from_utf8(to_csv(&["a", "b"], &[vec!["+x".into(), "y,z".into()]]).unwrap())
                .unwrap();
        assert_eq!(out, "a,b\r\n'+x,\"y,z\"\r\n");
    }
}
