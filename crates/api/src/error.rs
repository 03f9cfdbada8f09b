//! `ApiError` → error envelope (`api-v1.md` §2.4). Handlers return `ApiError`; the response
//! carries the `AppError` as an extension and the outer [`crate::middleware::envelope`] layer
//! renders it with the request context and logs every 5xx once, with its `error_id`, route
//! and cause.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wf_domain::AppError;
use wf_services::ServiceError;

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

/// The one conversion from the services layer.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e.into_app_error())
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
