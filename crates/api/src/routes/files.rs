//! File exports (`api-v1.md` §4.22): instance export and the import template. CSV bodies are
//! UTF-8, `\r\n`, with the formula-injection guard (`domain.md` §9.8).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use wf_domain::{AppError, Permission, time};
use wf_services::account_reads;
use wf_services::options::{EXPORT_HEADER, export_rows};
use wf_store::repo::accounts::LedgerFilter;

use super::Params;
use crate::ctx::Ctx;
use crate::error::ApiResult;
use crate::state::AppState;

/// File routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/files/instance-export", get(instance_export))
        .route("/api/v1/files/account-export", get(account_export))
        .route(
            "/api/v1/files/database-ledger-export",
            get(database_ledger_export),
        )
        .route("/api/v1/files/log-export", get(log_export))
        .route("/api/v1/files/template-download", get(template_download))
}

/// Neutralise spreadsheet formulas: a cell starting (after leading whitespace) with `=`, `+`,
/// `-` or `@` gets a leading `'`. The bare `-` placeholder of missing values (database-ledger
/// export) is not a formula and stays as is.
pub fn guard_cell(v: &str) -> String {
    if v == "-" {
        return v.to_string();
    }
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
#[utoipa::path(get, path = "/api/v1/files/instance-export", tag = "files", operation_id = "files_instance_export",
    responses((status = 200, description = "CSV file (UTF-8, CRLF)", body = String, content_type = "text/csv")))]
pub async fn instance_export(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let (search, db_type) = (q.trimmed("search"), q.trimmed("db_type"));
    let rows = export_rows(&st.svc, search.as_deref(), db_type.as_deref()).await?;
    let body = to_csv(&EXPORT_HEADER, &rows)
        .map_err(|e| AppError::system("导出实例失败").with_cause(e))?;
    Ok(csv_download(
        &format!("instances_export_{}.csv", china_stamp()),
        body,
    ))
}

/// `YYYYMMDD_HHMMSS` in China time (export file names).
fn china_stamp() -> String {
    chrono::Utc::now()
        .with_timezone(&time::china())
        .format("%Y%m%d_%H%M%S")
        .to_string()
}

/// `GET /files/account-export` — the ledger's accounts (its filters but `classification`), by
/// username.
#[utoipa::path(get, path = "/api/v1/files/account-export", tag = "files", operation_id = "files_account_export",
    responses((status = 200, description = "CSV file (UTF-8, CRLF)", body = String, content_type = "text/csv")))]
pub async fn account_export(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
    let f = LedgerFilter {
        classification_id: None,
        ..super::accounts::ledger_filter(&q)
    };
    let rows = account_reads::export_rows(&st.svc, &f).await?;
    let body = to_csv(&account_reads::ACCOUNT_EXPORT_HEADER, &rows)
        .map_err(|e| AppError::system("导出账户失败").with_cause(e))?;
    Ok(csv_download(
        &format!("accounts_export_{}.csv", china_stamp()),
        body,
    ))
}

/// `GET /files/database-ledger-export` — the database ledger's rows (its filters and order).
#[utoipa::path(get, path = "/api/v1/files/database-ledger-export", tag = "files", operation_id = "files_database_ledger_export",
    responses((status = 200, description = "CSV file (UTF-8, CRLF)", body = String, content_type = "text/csv")))]
pub async fn database_ledger_export(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.authorize(&st, Permission::DatabaseLedgerView).await?;
    let f = super::databases::ledger_filter(&q);
    let rows = wf_services::capacity_reads::ledger_export_rows(&st.svc, &f).await?;
    let body = to_csv(&wf_services::capacity_reads::LEDGER_EXPORT_HEADER, &rows)
        .map_err(|e| AppError::system("导出数据库台账失败").with_cause(e))?;
    Ok(csv_download(
        &format!("database_ledger_{}.csv", china_stamp()),
        body,
    ))
}

/// `GET /files/log-export` — newest first, JSON (default) or CSV; admin role only.
#[utoipa::path(get, path = "/api/v1/files/log-export", tag = "files", operation_id = "files_log_export",
    responses((status = 200, description = "JSON or CSV file", body = String, content_type = "text/csv")))]
pub async fn log_export(State(st): State<AppState>, ctx: Ctx, q: Params) -> ApiResult {
    ctx.require_admin_role(&st).await?;
    let format = q
        .trimmed("format")
        .unwrap_or_else(|| "json".into())
        .to_lowercase();
    if format != "json" && format != "csv" {
        return Err(AppError::validation("不支持的导出格式").into());
    }
    let when = |k: &str, msg: &str| -> Result<_, AppError> {
        match q.trimmed(k) {
            None => Ok(None),
            Some(v) => super::history_logs::instant(Some(v))
                .map(Some)
                .ok_or_else(|| AppError::validation(msg)),
        }
    };
    let f = wf_store::repo::logs::LogFilter {
        start: when("start_time", "start_time 格式无效")?,
        end: when("end_time", "end_time 格式无效")?,
        level: q
            .trimmed("level")
            .map(|l| wf_services::logs::parse_level(&l))
            .transpose()?,
        module: q.trimmed("module"),
        search: None,
        window_hours: None,
    };
    let limit = match q.trimmed("limit") {
        None => 1000,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| AppError::validation("limit 参数无效"))?
            .min(100_000) as u64,
    };
    let rows = wf_services::logs::export_rows(&st.svc, &f, limit).await?;
    if format == "csv" {
        let body = to_csv(
            &wf_services::logs::CSV_HEADER,
            &wf_services::logs::export_csv_rows(&rows),
        )
        .map_err(|e| AppError::system("导出日志失败").with_cause(e))?;
        return Ok(csv_download("logs_export.csv", body));
    }
    let doc = wf_services::logs::export_json(&rows, chrono::Utc::now());
    let body = serde_json::to_vec_pretty(&doc)
        .map_err(|e| AppError::system("导出日志失败").with_cause(e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=logs_export.json".to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /files/template-download` — the CSV import template.
#[utoipa::path(get, path = "/api/v1/files/template-download", tag = "files", operation_id = "files_template_download",
    responses((status = 200, description = "CSV file (UTF-8, CRLF)", body = String, content_type = "text/csv")))]
pub async fn template_download(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    ctx.authorize(&st, Permission::View).await?;
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
        assert_eq!(guard_cell("-"), "-");
        assert_eq!(guard_cell("a=b"), "a=b");
        let out =
            String::from_utf8(to_csv(&["a", "b"], &[vec!["+x".into(), "y,z".into()]]).unwrap())
                .unwrap();
        assert_eq!(out, "a,b\r\n'+x,\"y,z\"\r\n");
    }
}
