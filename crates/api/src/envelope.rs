//! Success envelope (`api-v1.md` §2.3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// `200` with `data`.
pub fn ok(message: &str, data: Value) -> Response {
    with_status(StatusCode::OK, message, Some(data))
}

/// `200` without `data`.
pub fn ok_empty(message: &str) -> Response {
    with_status(StatusCode::OK, message, None)
}

/// `201` with `data`.
pub fn created(message: &str, data: Value) -> Response {
    with_status(StatusCode::CREATED, message, Some(data))
}

/// Any status with optional `data`.
pub fn with_status(status: StatusCode, message: &str, data: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), json!(true));
    body.insert("error".into(), json!(false));
    body.insert("message".into(), json!(message));
    body.insert("timestamp".into(), json!(wf_domain::time::envelope_now()));
    if let Some(d) = data {
        body.insert("data".into(), d);
    }
    (status, axum::Json(Value::Object(body))).into_response()
}

/// Standard page object `{items, total, page, pages, limit}` (`api-v1.md` §2.10);
/// `pages` is 0 when `total` is 0.
pub fn page(items: Vec<Value>, total: u64, page: u64, limit: u64) -> Value {
    let pages = if total == 0 {
        0
    } else {
        total.div_ceil(limit.max(1))
    };
    json!({"items": items, "total": total, "page": page, "pages": pages, "limit": limit})
}

/// Count and fetch one page. Pages beyond the end are answered without a query (and without
/// overflowing the offset arithmetic for absurd page numbers).
pub async fn fetch_page<'db, C, S>(
    pager: sea_orm::Paginator<'db, C, S>,
    page_no: u64,
    size: u64,
) -> Result<(u64, Vec<S::Item>), sea_orm::DbErr>
where
    C: sea_orm::ConnectionTrait,
    S: sea_orm::SelectorTrait + 'db,
{
    let total = pager.num_items().await?;
    let in_range = (page_no - 1)
        .checked_mul(size)
        .is_some_and(|offset| offset < total);
    let rows = if in_range {
        pager.fetch_page(page_no - 1).await?
    } else {
        Vec::new()
    };
    Ok((total, rows))
}

/// Success envelope with a typed payload, serialised in one pass (hot list endpoints).
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    error: bool,
    message: &'a str,
    timestamp: String,
    data: &'a T,
}

/// `200` with a typed `data` (no intermediate `serde_json::Value`).
pub fn ok_typed<T: Serialize>(message: &str, data: &T) -> Response {
    let body = Envelope {
        success: true,
        error: false,
        message,
        timestamp: wf_domain::time::envelope_now(),
        data,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Typed page object `{items, total, page, pages, limit}` (`api-v1.md` §2.10).
#[derive(Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    pub limit: u64,
}

impl<T: Serialize> Page<T> {
    /// Build with `pages` = ceil(total / limit), 0 when empty.
    pub fn new(items: Vec<T>, total: u64, page: u64, limit: u64) -> Self {
        let pages = if total == 0 {
            0
        } else {
            total.div_ceil(limit.max(1))
        };
        Page {
            items,
            total,
            page,
            pages,
            limit,
        }
    }
}
