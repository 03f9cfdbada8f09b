//! The one error type of the services layer. A rule that says no carries the contract's
//! error (status, code, message — `api-v1.md` §2.4) as a domain [`AppError`]; a store
//! failure keeps its cause and the endpoint's public message. The HTTP layer converts it
//! once (`From<ServiceError> for ApiError`); nothing here is rendered or logged twice.

use wf_domain::AppError;
use wf_store::StoreError;

/// A service failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A rule rejected the request (validation 400, not found 404, conflict 409, …).
    #[error("{0}")]
    Rejected(AppError),
    /// The app store failed. `public` is the endpoint's public error text (500
    /// `INTERNAL_ERROR`); without one the answer is 500 `DATABASE_QUERY_ERROR` `数据库查询错误`.
    #[error("store failure ({}): {source}", public.unwrap_or("数据库查询错误"))]
    Store {
        public: Option<&'static str>,
        source: StoreError,
    },
    /// Any other internal failure (a blocking task that died, a CSV writer error, …).
    #[error("{public}: {detail}")]
    Internal {
        public: &'static str,
        detail: String,
    },
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// 400 `VALIDATION_ERROR`.
    pub fn validation(msg: impl Into<String>) -> Self {
        ServiceError::Rejected(AppError::validation(msg))
    }
    /// 404 `RESOURCE_NOT_FOUND` with a Chinese message.
    pub fn not_found(msg: impl Into<String>) -> Self {
        ServiceError::Rejected(AppError::not_found(msg))
    }
    /// Framework 404 (get-or-404 look-ups).
    pub fn framework_not_found() -> Self {
        ServiceError::Rejected(AppError::framework_not_found())
    }
    /// 409 with its code (`CONSTRAINT_VIOLATION`, `TAG_IN_USE`, …).
    pub fn conflict(code: &str, msg: impl Into<String>) -> Self {
        ServiceError::Rejected(AppError::conflict(msg).code(code))
    }
    /// The contract error to render; 5xx carry their cause for the log line.
    pub fn into_app_error(self) -> AppError {
        match self {
            ServiceError::Rejected(e) => e,
            ServiceError::Store { source, .. } if wf_store::is_unavailable(&source) => {
                AppError::store_unavailable().with_cause(source)
            }
            ServiceError::Store {
                public: None,
                source,
            } => AppError::database("数据库查询错误").with_cause(source),
            ServiceError::Store {
                public: Some(m),
                source,
            } => AppError::system(m).with_cause(source),
            ServiceError::Internal { public, detail } => {
                AppError::system(public).with_cause(detail)
            }
        }
    }
}

impl From<AppError> for ServiceError {
    fn from(e: AppError) -> Self {
        ServiceError::Rejected(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(source: StoreError) -> Self {
        ServiceError::Store {
            public: None,
            source,
        }
    }
}

/// Attach the endpoint's public error text to a store failure.
pub trait Public<T> {
    /// `Err(e)` → [`ServiceError::Store`] with `public`.
    fn public(self, public: &'static str) -> ServiceResult<T>;
}

impl<T> Public<T> for Result<T, StoreError> {
    fn public(self, public: &'static str) -> ServiceResult<T> {
        self.map_err(|source| ServiceError::Store {
            public: Some(public),
            source,
        })
    }
}

/// A write refused by a unique/foreign-key constraint becomes the rule's `rejection`
/// (a concurrent duplicate); any other store failure stays a store failure with `public`.
pub fn constraint_or<T>(
    r: Result<T, StoreError>,
    rejection: AppError,
    public: &'static str,
) -> ServiceResult<T> {
    r.map_err(|source| {
        if wf_store::repo::is_constraint_violation(&source) {
            ServiceError::Rejected(rejection)
        } else {
            ServiceError::Store {
                public: Some(public),
                source,
            }
        }
    })
}
