//! The application error type rendered as the error envelope (`api-v1.md` §2.4–§2.5).

use serde_json::Value;

/// Error category (`api-v1.md` §3.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Validation,
    Business,
    Authentication,
    Authorization,
    Security,
    Database,
    External,
    Network,
    System,
}

impl Category {
    /// Wire name of the category.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Validation => "validation",
            Category::Business => "business",
            Category::Authentication => "authentication",
            Category::Authorization => "authorization",
            Category::Security => "security",
            Category::Database => "database",
            Category::External => "external",
            Category::Network => "network",
            Category::System => "system",
        }
    }

    /// Fixed suggestions per category (`api-v1.md` §2.4).
    pub fn suggestions(self) -> [&'static str; 2] {
        match self {
            Category::Validation => ["检查输入数据", "根据提示修正请求参数"],
            Category::Business => ["确认业务规则", "联系管理员核对数据"],
            Category::Authentication => ["重新登录", "验证凭据有效性"],
            Category::Authorization => ["检查权限配置", "联系管理员"],
            Category::Security => ["稍后重试", "联系管理员"],
            Category::Database => ["检查数据库连接", "联系数据库管理员"],
            Category::External => ["确认第三方服务状态", "稍后重试"],
            Category::Network => ["检查网络连接", "稍后重试"],
            Category::System => ["联系管理员", "查看错误日志"],
        }
    }
}

/// Error severity; `recoverable` is true for `low` and `medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Wire name of the severity.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// `recoverable` flag of the envelope.
    pub fn recoverable(self) -> bool {
        matches!(self, Severity::Low | Severity::Medium)
    }
}

/// English framework 404 message (`api-v1.md` §2.5).
pub const MSG_NOT_FOUND: &str = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
/// English framework 405 message.
pub const MSG_METHOD_NOT_ALLOWED: &str = "The method is not allowed for the requested URL.";
/// English framework 413 message.
pub const MSG_TOO_LARGE: &str = "The data value transmitted exceeds the capacity limit.";

/// One application error: everything the error envelope needs except the request context,
/// which the HTTP layer adds. Extra headers (e.g. `Retry-After`) travel in `headers`.
#[derive(Debug, Clone)]
pub struct AppError {
    /// HTTP status code.
    pub status: u16,
    pub category: Category,
    pub severity: Severity,
    /// Machine-readable code, e.g. `VALIDATION_ERROR`.
    pub message_code: String,
    /// Human-readable message (Chinese for application errors).
    pub message: String,
    /// Optional `extra` object, only for endpoint-built errors (`api-v1.md` §2.4).
    pub extra: Option<Box<Value>>,
    /// Additional response headers.
    pub headers: Vec<(String, String)>,
    /// The underlying cause of a 5xx (logged with the `error_id`, never rendered).
    pub cause: Option<String>,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.message_code, self.message)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    fn new(
        status: u16,
        category: Category,
        severity: Severity,
        code: &str,
        msg: impl Into<String>,
    ) -> Self {
        AppError {
            status,
            category,
            severity,
            message_code: code.to_string(),
            message: msg.into(),
            extra: None,
            headers: Vec::new(),
            cause: None,
        }
    }
    /// 400 `VALIDATION_ERROR`.
    pub fn validation(msg: impl Into<String>) -> Self {
        Self::new(
            400,
            Category::Validation,
            Severity::Low,
            "VALIDATION_ERROR",
            msg,
        )
    }
    /// 401 `INVALID_CREDENTIALS` by default.
    pub fn authentication(msg: impl Into<String>) -> Self {
        Self::new(
            401,
            Category::Authentication,
            Severity::Medium,
            "INVALID_CREDENTIALS",
            msg,
        )
    }
    /// 401 `AUTHENTICATION_REQUIRED` / `请先登录`.
    pub fn login_required() -> Self {
        Self::authentication("请先登录").code("AUTHENTICATION_REQUIRED")
    }
    /// 403 `PERMISSION_DENIED` by default.
    pub fn authorization(msg: impl Into<String>) -> Self {
        Self::new(
            403,
            Category::Authorization,
            Severity::Medium,
            "PERMISSION_DENIED",
            msg,
        )
    }
    /// 403 `PERMISSION_REQUIRED` / `需要 <perm> 权限` (`api-v1.md` §2.7).
    pub fn permission_required(perm: &str) -> Self {
        Self::authorization(format!("需要 {perm} 权限")).code("PERMISSION_REQUIRED")
    }
    /// 404 (app) `RESOURCE_NOT_FOUND` with a Chinese message.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(
            404,
            Category::Business,
            Severity::Low,
            "RESOURCE_NOT_FOUND",
            msg,
        )
    }
    /// 409 `CONSTRAINT_VIOLATION` by default.
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::new(
            409,
            Category::Business,
            Severity::Medium,
            "CONSTRAINT_VIOLATION",
            msg,
        )
    }
    /// 429 rate limit (`api-v1.md` §2.9; category `system` per the intended response).
    pub fn rate_limited() -> Self {
        Self::new(
            429,
            Category::System,
            Severity::Medium,
            "RATE_LIMIT_EXCEEDED",
            "请求过于频繁,请稍后再试",
        )
    }
    /// 500 `DATABASE_QUERY_ERROR`.
    pub fn database(msg: impl Into<String>) -> Self {
        Self::new(
            500,
            Category::Database,
            Severity::High,
            "DATABASE_QUERY_ERROR",
            msg,
        )
    }
    /// 503 `DATABASE_UNAVAILABLE` `数据库暂时不可用,请稍后再试`: the app store cannot be reached
    /// (issue 16); the client may retry.
    pub fn store_unavailable() -> Self {
        Self::new(
            503,
            Category::Database,
            Severity::High,
            "DATABASE_UNAVAILABLE",
            "数据库暂时不可用,请稍后再试",
        )
        .with_header("Retry-After", "5")
    }
    /// 500 `INTERNAL_ERROR` with the endpoint's public error text.
    pub fn system(msg: impl Into<String>) -> Self {
        Self::new(500, Category::System, Severity::High, "INTERNAL_ERROR", msg)
    }
    /// Endpoint-built error (`error_message` helper): category `system`, severity `medium`.
    pub fn endpoint(status: u16, code: &str, msg: impl Into<String>) -> Self {
        Self::new(status, Category::System, Severity::Medium, code, msg)
    }
    /// Framework ("HTTP exception") error: English message, `INVALID_REQUEST`/`INTERNAL_ERROR`.
    pub fn framework(status: u16, msg: impl Into<String>) -> Self {
        if status >= 500 {
            Self::new(
                status,
                Category::System,
                Severity::High,
                "INTERNAL_ERROR",
                msg,
            )
        } else {
            Self::new(
                status,
                Category::Business,
                Severity::Medium,
                "INVALID_REQUEST",
                msg,
            )
        }
    }
    /// Framework 404 (get-or-404 lookups).
    pub fn framework_not_found() -> Self {
        Self::framework(404, MSG_NOT_FOUND)
    }
    /// Replace the message code.
    pub fn code(mut self, code: &str) -> Self {
        self.message_code = code.to_string();
        self
    }
    /// Attach an `extra` object.
    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }
    /// Attach the internal cause (logged with the `error_id` for 5xx; never in the body).
    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }
    /// Attach a response header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Result alias used across the layers.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_status_table() {
        let e = AppError::validation("x");
        assert_eq!(
            (e.status, e.category, e.severity),
            (400, Category::Validation, Severity::Low)
        );
        assert!(e.severity.recoverable());
        let e = AppError::system("x");
        assert_eq!(e.message_code, "INTERNAL_ERROR");
        assert!(!e.severity.recoverable());
        assert_eq!(
            AppError::permission_required("view").message,
            "需要 view 权限"
        );
        assert_eq!(
            AppError::framework(405, MSG_METHOD_NOT_ALLOWED).category,
            Category::Business
        );
        assert_eq!(
            Category::Validation.suggestions(),
            ["检查输入数据", "根据提示修正请求参数"]
        );
    }
}
