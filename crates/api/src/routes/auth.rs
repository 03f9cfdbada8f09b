//! Auth namespace (`api-v1.md` §4.2): CSRF token, login/logout, change password, JWT
//! refresh and me. Credential checks live in `wf_services::users`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use wf_domain::AppError;
use wf_services::users::{self as svc, MeView};

use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::{ApiError, ApiResult};
use crate::jwt;
use crate::payload::Payload;
use crate::session::RememberAction;
use crate::state::AppState;

/// Auth routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/csrf-token", get(csrf_token))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/change-password", post(change_password))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/me", get(me))
}

/// Enforce a rate limit; 429 with `extra` and `Retry-After` / `X-RateLimit-*` headers.
pub async fn rate_limit(
    st: &AppState,
    endpoint: &str,
    identifier: &str,
    limit: usize,
    window: u64,
) -> Result<(), ApiError> {
    let d = st.limiter.hit(endpoint, identifier, limit, window).await;
    if d.allowed {
        return Ok(());
    }
    Err(AppError::rate_limited()
        .with_extra(json!({
            "identifier": identifier,
            "endpoint": endpoint,
            "retry_after": d.retry_after,
            "limit": d.limit,
            "remaining": d.remaining,
            "reset_time": d.reset_time,
        }))
        .with_header("Retry-After", d.retry_after.to_string())
        .with_header("X-RateLimit-Limit", d.limit.to_string())
        .with_header("X-RateLimit-Remaining", d.remaining.to_string())
        .with_header("X-RateLimit-Reset", d.reset_time.to_string())
        .into())
}

/// `{csrf_token}`.
#[derive(Serialize, ToSchema)]
pub struct CsrfToken {
    pub csrf_token: String,
}

/// The user of a login response.
#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: i32,
    pub username: String,
    pub role: String,
    pub is_active: bool,
}

/// `{access_token, refresh_token, user}`.
#[derive(Serialize, ToSchema)]
pub struct LoginData {
    pub access_token: String,
    pub refresh_token: String,
    pub user: LoginUser,
}

/// `{access_token, token_type, expires_in}` (seconds).
#[derive(Serialize, ToSchema)]
pub struct RefreshData {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// `GET /auth/csrf-token`.
#[utoipa::path(get, path = "/api/v1/auth/csrf-token", tag = "auth", operation_id = "auth_csrf_token",
    responses((status = 200, body = CsrfToken)))]
pub async fn csrf_token(State(st): State<AppState>, ctx: Ctx) -> Response {
    let secret = ctx.session.ensure_csrf_secret();
    let csrf_token = st.keys.csrf_token(&secret, Utc::now().timestamp());
    ok("操作成功", &CsrfToken { csrf_token })
}

/// `POST /auth/login` — session + remember cookie + JWTs.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "auth_login", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = LoginData), (status = 401, body = crate::openapi::ErrorEnvelope)))]
pub async fn login(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let username = body.trimmed("username").unwrap_or_default();
    let who = if username.is_empty() {
        "anonymous"
    } else {
        &username
    };
    let (limit, window) = (st.settings.login_rate_limit, st.settings.login_rate_window);
    let key = format!("{who}:{}", ctx.ip);
    rate_limit(&st, "login_attempts", &key, limit, window).await?;
    ctx.csrf(&st, Some(&body))?;
    body.require_object()?;
    let pw = body.text("password").unwrap_or_default();
    if username.is_empty() || pw.is_empty() {
        return Err(AppError::validation("用户名和密码不能为空").into());
    }
    let u = svc::login(&st.svc, &username, pw).await?;
    ctx.session.update(|d| d.uid = Some(u.id));
    ctx.session.remember(RememberAction::Set(u.id));
    Ok(ok("登录成功", &login_data(&st, u)))
}

/// Tokens and user of a successful login.
fn login_data(st: &AppState, u: wf_services::users::SessionUser) -> LoginData {
    let s = &st.settings;
    let key = &s.jwt_secret_key;
    LoginData {
        access_token: jwt::issue(key, u.id, "access", s.jwt_access_expires, true),
        refresh_token: jwt::issue(key, u.id, "refresh", s.jwt_refresh_expires, false),
        user: LoginUser {
            id: u.id,
            username: u.username,
            role: u.role_name,
            is_active: u.is_active,
        },
    }
}

/// `POST /auth/logout`.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "auth_logout",
    responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn logout(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.require_login(&st).await?;
    ctx.csrf(&st, Some(&body))?;
    ctx.session.update(|d| d.uid = None);
    ctx.session.remember(RememberAction::Clear);
    Ok(ok_empty("登出成功"))
}

/// `POST /auth/change-password`.
#[utoipa::path(post, path = "/api/v1/auth/change-password", tag = "auth", operation_id = "auth_change_password",
    request_body = crate::openapi::JsonObject, responses((status = 200, body = crate::openapi::MessageEnvelope)))]
pub async fn change_password(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let u = ctx.require_login(&st).await?;
    let window = st.settings.permanent_session_lifetime;
    rate_limit(
        &st,
        "password_reset_attempts",
        &format!("{}:{}", u.id, ctx.ip),
        3,
        window,
    )
    .await?;
    ctx.csrf(&st, Some(&body))?;
    body.require_object()?;
    // passwords are used exactly as typed, as at login (issue 16: never trimmed)
    let field = |k: &str| body.text(k).unwrap_or_default();
    let (old, new, confirm) = (
        field("old_password"),
        field("new_password"),
        field("confirm_password"),
    );
    svc::change_password(&st.svc, u.id, old, new, confirm).await?;
    Ok(ok_empty("密码修改成功"))
}

fn bearer(ctx: &Ctx) -> Option<&str> {
    ctx.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
}

/// `POST /auth/refresh` — refresh token in `Authorization: Bearer`.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "auth_refresh",
    responses((status = 200, body = RefreshData)))]
pub async fn refresh(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.csrf(&st, Some(&body))?;
    let claims = jwt::verify(&st.settings.jwt_secret_key, bearer(&ctx), "refresh")?;
    let uid: i32 = claims
        .sub
        .parse()
        .map_err(|_| AppError::authentication("无效的令牌").code("TOKEN_INVALID"))?;
    svc::token_user(&st.svc, uid, "刷新token失败").await?;
    let s = &st.settings;
    let access_token = jwt::issue(
        &s.jwt_secret_key,
        uid,
        "access",
        s.jwt_access_expires,
        false,
    );
    Ok(ok(
        "操作成功",
        &RefreshData {
            access_token,
            token_type: "Bearer",
            expires_in: 3600,
        },
    ))
}

/// `GET /auth/me` — access token in `Authorization: Bearer`.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", operation_id = "auth_me", responses((status = 200, body = MeView)))]
pub async fn me(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    let claims = jwt::verify(&st.settings.jwt_secret_key, bearer(&ctx), "access")?;
    let uid: i32 = claims
        .sub
        .parse()
        .map_err(|_| AppError::authentication("用户名或密码错误"))?;
    Ok(ok("操作成功", &svc::me(&st.svc, uid).await?))
}
