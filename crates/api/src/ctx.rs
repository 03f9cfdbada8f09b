//! Per-request context: session, current user, permission checks and the endpoint CSRF
//! re-check, in the order of `api-v1.md` §2.7 (login 401 → permission 403 → CSRF 403).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde_json::Value;
use wf_domain::{AppError, Permission};
use wf_services::users::{SessionUser, session_user};

use crate::error::ApiError;
use crate::payload::Payload;
use crate::session::{CsrfError, SessionHandle};
use crate::state::AppState;

/// Client address after trusted-proxy processing, inserted by the envelope middleware.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// The request's correlation id and (once loaded) its user id (`domain.md` §13.7 #48): set by
/// the envelope middleware, read by error envelopes and the log centre's request span.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// Incoming `X-Request-Id` (1–128 of `[A-Za-z0-9._-]`) or a new 32-hex id.
    pub id: String,
    /// User id, 0 until the handler loaded the session user.
    pub user: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl RequestMeta {
    /// The user id once known.
    pub fn user_id(&self) -> Option<i64> {
        match self.user.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }
}

/// Request context extractor.
pub struct Ctx {
    pub meta: RequestMeta,
    pub session: SessionHandle,
    pub headers: HeaderMap,
    pub method: Method,
    pub ip: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            meta: parts
                .extensions
                .get::<RequestMeta>()
                .cloned()
                .unwrap_or_default(),
            session: parts
                .extensions
                .get::<SessionHandle>()
                .cloned()
                .unwrap_or_default(),
            headers: parts.headers.clone(),
            method: parts.method.clone(),
            ip: parts
                .extensions
                .get::<ClientIp>()
                .map(|c| c.0.clone())
                .unwrap_or_else(|| "127.0.0.1".into()),
        })
    }
}

impl Ctx {
    /// The logged-in, active user, if any. Deactivated users lose their session
    /// (`domain.md` §13.6.43).
    pub async fn user(&self, st: &AppState) -> Result<Option<SessionUser>, ApiError> {
        let Some(uid) = self.session.get().uid else {
            return Ok(None);
        };
        let user = session_user(&st.svc, uid).await?;
        if let Some(u) = &user {
            self.meta
                .user
                .store(i64::from(u.id), std::sync::atomic::Ordering::Relaxed);
        }
        Ok(user)
    }

    /// The `admin-role` check (`api-v1.md` §2.7, log export only): 401 unless logged in, 403
    /// `ADMIN_PERMISSION_REQUIRED` `需要管理员权限` unless the role is literally `admin`.
    pub async fn require_admin_role(&self, st: &AppState) -> Result<SessionUser, ApiError> {
        let u = self.require_login(st).await?;
        if u.role_name != "admin" {
            return Err(AppError::authorization("需要管理员权限")
                .code("ADMIN_PERMISSION_REQUIRED")
                .into());
        }
        Ok(u)
    }

    /// 401 `AUTHENTICATION_REQUIRED` unless logged in.
    pub async fn require_login(&self, st: &AppState) -> Result<SessionUser, ApiError> {
        self.user(st)
            .await?
            .ok_or_else(|| AppError::login_required().into())
    }

    /// Login check then permission check (403 `PERMISSION_REQUIRED`).
    pub async fn authorize(
        &self,
        st: &AppState,
        perm: Permission,
    ) -> Result<SessionUser, ApiError> {
        let u = self.require_login(st).await?;
        if !u.role.allows(perm) {
            return Err(AppError::permission_required(perm.as_str()).into());
        }
        Ok(u)
    }

    /// Endpoint CSRF re-check: token from `X-CSRFToken`, then a JSON body `csrf_token`, then
    /// the form field. Missing → 403 `CSRF_MISSING`; invalid → 403 `CSRF_INVALID`.
    pub fn csrf(&self, st: &AppState, payload: Option<&Payload>) -> Result<(), ApiError> {
        let token = self
            .headers
            .get("x-csrftoken")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                payload
                    .and_then(|p| p.get("csrf_token"))
                    .and_then(Value::as_str)
                    .map(String::from)
                    .filter(|s| !s.is_empty())
            });
        let Some(token) = token else {
            return Err(AppError::authorization("缺少 CSRF 令牌")
                .code("CSRF_MISSING")
                .into());
        };
        match st.keys.check_csrf(
            &token,
            self.session.get().csrf.as_deref(),
            chrono::Utc::now().timestamp(),
        ) {
            Ok(()) => Ok(()),
            Err(CsrfError::Missing) => Err(AppError::authorization("缺少 CSRF 令牌")
                .code("CSRF_MISSING")
                .into()),
            Err(_) => Err(AppError::authorization("CSRF 令牌无效,请刷新后重试")
                .code("CSRF_INVALID")
                .into()),
        }
    }

    /// Permission check followed by the endpoint CSRF re-check (write endpoints).
    pub async fn authorize_write(
        &self,
        st: &AppState,
        perm: Permission,
        payload: Option<&Payload>,
    ) -> Result<SessionUser, ApiError> {
        let u = self.authorize(st, perm).await?;
        self.csrf(st, payload)?;
        Ok(u)
    }

    /// True when the caller is an admin (connection error details).
    pub async fn is_admin(&self, st: &AppState) -> bool {
        matches!(self.user(st).await, Ok(Some(u)) if u.role == wf_domain::Role::Admin)
    }
}

/// Parse an integer path segment like Flask's `<int:…>`: anything but ASCII digits is a
/// framework 404; values beyond `i32` are returned as `None` (no such row).
pub fn path_id(raw: &str) -> Result<Option<i32>, ApiError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::framework_not_found().into());
    }
    Ok(raw.parse::<i64>().ok().and_then(|v| i32::try_from(v).ok()))
}

/// Page number rule: non-integer → 1; values < 1 become 1 (`api-v1.md` §2.10).
pub fn page_param(v: Option<&String>) -> u64 {
    v.and_then(|s| s.trim().parse::<i64>().ok())
        .map(|n| n.max(1) as u64)
        .unwrap_or(1)
}

/// Page size rule: non-integer → default; clamped to `[1, max]`.
pub fn page_size_param(v: Option<&String>, default: u64, max: u64) -> u64 {
    v.and_then(|s| s.trim().parse::<i64>().ok())
        .map(|n| n.clamp(1, max as i64) as u64)
        .unwrap_or(default)
}

/// Boolean query parameter: `true/1/on/yes` (case-insensitive) are true.
pub fn bool_param(v: Option<&String>) -> bool {
    v.map(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "on" | "yes"
        )
    })
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn params() {
        assert!(path_id("12").unwrap() == Some(12));
        assert!(path_id("99999999999").unwrap().is_none());
        assert!(path_id("-1").is_err());
        assert!(path_id("abc").is_err());
        assert_eq!(page_param(Some(&"0".into())), 1);
        assert_eq!(page_param(Some(&"x".into())), 1);
        assert_eq!(page_size_param(Some(&"500".into()), 20, 100), 100);
        assert_eq!(page_size_param(Some(&"-3".into()), 20, 100), 1);
        assert_eq!(page_size_param(None, 20, 100), 20);
        assert!(bool_param(Some(&"Yes".into())));
        assert!(!bool_param(Some(&"nope".into())));
    }
}
