//! `ApiError` → error envelope (`api-v1.md` §2.4). Handlers return `ApiError`; the response
//! carries the `AppError` as an extension and the outer [`crate::middleware::envelope`] layer
//! renders it with the request context (url, method, client IP, user agent).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wf_domain::AppError;

/// The single HTTP error type.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// Handler result.
pub type ApiResult = Result<Response, ApiError>;

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError(AppError::database("数据库查询错误"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = status.into_response();
        for (k, v) in &self.0.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp.extensions_mut().insert(self.0);
        resp
    }
}

/// Shorthand: replace an unexpected error by the endpoint's public error (500 `INTERNAL_ERROR`).
pub trait PublicError<T> {
    /// Map any error into a System error with `msg`.
    fn public(self, msg: &str) -> Result<T, ApiError>;
}

impl<T, E: std::fmt::Display> PublicError<T> for Result<T, E> {
    fn public(self, msg: &str) -> Result<T, ApiError> {
        self.map_err(|e| {
            tracing::error!(error = %e, "{msg}");
            ApiError(AppError::system(msg))
        })
    }
}
