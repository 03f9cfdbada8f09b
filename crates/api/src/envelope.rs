//! Success envelope (`api-v1.md` §2.3): `{success, error, message, timestamp, data?}`, the
//! typed `data` serialised in one pass.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    success: bool,
    error: bool,
    message: &'a str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a T>,
}

/// Any status with optional typed `data`.
pub fn with_status<T: Serialize>(status: StatusCode, message: &str, data: Option<&T>) -> Response {
    let body = Envelope {
        success: true,
        error: false,
        message,
        timestamp: wf_domain::time::envelope_now(),
        data,
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(e) => {
            crate::error::ApiError(wf_domain::AppError::system("服务器内部错误").with_cause(e))
                .into_response()
        }
    }
}

/// `200` with `data`.
pub fn ok<T: Serialize>(message: &str, data: &T) -> Response {
    with_status(StatusCode::OK, message, Some(data))
}

/// `200` without `data`.
pub fn ok_empty(message: &str) -> Response {
    with_status::<()>(StatusCode::OK, message, None)
}

/// `201` with `data`.
pub fn created<T: Serialize>(message: &str, data: &T) -> Response {
    with_status(StatusCode::CREATED, message, Some(data))
}
