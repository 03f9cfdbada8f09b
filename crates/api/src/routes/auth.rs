//! Auth namespace (`api-v1.md` §4.2): CSRF token, login/logout, change password, JWT
//! refresh and me.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use wf_domain::{AppError, password};
use wf_store::entity::user;

use crate::ctx::Ctx;
use crate::envelope::{ok, ok_empty};
use crate::error::{ApiError, ApiResult, PublicError};
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

/// Verify a bcrypt hash off the async runtime.
pub async fn verify_password(plain: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || wf_services::passwords::verify(&plain, &hash))
        .await
        .unwrap_or(false)
}

/// Hash a password off the async runtime with the configured cost.
pub async fn hash_password(st: &AppState, plain: String) -> String {
    let cost = st.settings.bcrypt_log_rounds;
    tokio::task::spawn_blocking(move || wf_services::passwords::hash(&plain, cost))
        .await
        .unwrap_or_default()
}

/// `GET /auth/csrf-token`.
#[utoipa::path(get, path = "/api/v1/auth/csrf-token", tag = "auth", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn csrf_token(State(st): State<AppState>, ctx: Ctx) -> Response {
    let secret = ctx.session.ensure_csrf_secret();
    ok(
        "操作成功",
        json!({"csrf_token": st.keys.csrf_token(&secret, Utc::now().timestamp())}),
    )
}

/// `POST /auth/login` — session + remember cookie + JWTs.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope), (status = 401, body = crate::openapi::ErrorEnvelope)))]
pub async fn login(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let username = body
        .text("username")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let who = if username.is_empty() {
        "anonymous".to_string()
    } else {
        username.clone()
    };
    rate_limit(
        &st,
        "login_attempts",
        &format!("{who}:{}", ctx.ip),
        st.settings.login_rate_limit,
        st.settings.login_rate_window,
    )
    .await?;
    ctx.csrf(&st, Some(&body))?;
    body.require_object()?;
    let pw = body.text("password").unwrap_or_default();
    if username.is_empty() || pw.is_empty() {
        return Err(AppError::validation("用户名和密码不能为空").into());
    }
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .one(&st.db)
        .await
        .public("登录失败")?;
    let Some(u) = found else {
        return Err(AppError::authentication("用户名或密码错误").into());
    };
    if !verify_password(pw, u.password.clone()).await {
        return Err(AppError::authentication("用户名或密码错误").into());
    }
    if !u.is_active {
        return Err(AppError::authorization("账户已被停用")
            .code("ACCOUNT_DISABLED")
            .into());
    }
    let mut am: user::ActiveModel = u.clone().into();
    am.last_login = Set(Some(Utc::now()));
    am.update(&st.db).await.public("登录失败")?;
    st.users.invalidate(&u.id).await;
    ctx.session.update(|d| d.uid = Some(u.id));
    ctx.session.remember(RememberAction::Set(u.id));
    let s = &st.settings;
    Ok(ok(
        "登录成功",
        json!({
            "access_token": jwt::issue(&s.jwt_secret_key, u.id, "access", s.jwt_access_expires, true),
            "refresh_token": jwt::issue(&s.jwt_secret_key, u.id, "refresh", s.jwt_refresh_expires, false),
            "user": {"id": u.id, "username": u.username, "role": u.role, "is_active": u.is_active},
        }),
    ))
}

/// `POST /auth/logout`.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn logout(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.require_login(&st).await?;
    ctx.csrf(&st, Some(&body))?;
    ctx.session.update(|d| d.uid = None);
    ctx.session.remember(RememberAction::Clear);
    Ok(ok_empty("登出成功"))
}

/// `POST /auth/change-password`.
#[utoipa::path(post, path = "/api/v1/auth/change-password", tag = "auth", request_body = crate::openapi::JsonObject,
    responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn change_password(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    let u = ctx.require_login(&st).await?;
    rate_limit(
        &st,
        "password_reset_attempts",
        &format!("{}:{}", u.id, ctx.ip),
        3,
        st.settings.permanent_session_lifetime,
    )
    .await?;
    ctx.csrf(&st, Some(&body))?;
    body.require_object()?;
    let field = |k: &str| {
        body.text(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let (old, new, confirm) = (
        field("old_password"),
        field("new_password"),
        field("confirm_password"),
    );
    if old.is_empty() || new.is_empty() || confirm.is_empty() {
        return Err(AppError::validation("所有字段都不能为空").into());
    }
    if new != confirm {
        return Err(AppError::validation("两次输入的新密码不一致")
            .code("PASSWORD_MISMATCH")
            .into());
    }
    if !verify_password(old.clone(), u.password.clone()).await {
        return Err(AppError::authentication("当前密码错误")
            .code("INVALID_OLD_PASSWORD")
            .into());
    }
    if new == old {
        return Err(AppError::validation("新密码不能与当前密码相同")
            .code("PASSWORD_DUPLICATED")
            .into());
    }
    password::check_length(&new).map_err(|m| AppError::validation(m).code("PASSWORD_INVALID"))?;
    password::check_strength(&new).map_err(|m| AppError::validation(m).code("PASSWORD_INVALID"))?;
    let hash = hash_password(&st, new).await;
    let mut am: user::ActiveModel = u.into();
    am.password = Set(hash);
    let saved = am.update(&st.db).await.public("密码修改失败")?;
    st.users.invalidate(&saved.id).await;
    Ok(ok_empty("密码修改成功"))
}

/// `POST /auth/refresh` — refresh token in `Authorization: Bearer`.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn refresh(State(st): State<AppState>, ctx: Ctx, body: Payload) -> ApiResult {
    ctx.csrf(&st, Some(&body))?;
    let auth = ctx
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let claims = jwt::verify(&st.settings.jwt_secret_key, auth, "refresh")?;
    let uid: i32 = claims
        .sub
        .parse()
        .map_err(|_| AppError::authentication("无效的令牌").code("TOKEN_INVALID"))?;
    Ok(ok(
        "操作成功",
        json!({
            "access_token": jwt::issue(&st.settings.jwt_secret_key, uid, "access", st.settings.jwt_access_expires, false),
            "token_type": "Bearer",
            "expires_in": 3600,
        }),
    ))
}

/// `GET /auth/me` — access token in `Authorization: Bearer`.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = crate::openapi::SuccessEnvelope)))]
pub async fn me(State(st): State<AppState>, ctx: Ctx) -> ApiResult {
    let auth = ctx
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let claims = jwt::verify(&st.settings.jwt_secret_key, auth, "access")?;
    let uid: i32 = claims
        .sub
        .parse()
        .map_err(|_| AppError::authentication("用户名或密码错误"))?;
    let u = user::Entity::find_by_id(uid)
        .one(&st.db)
        .await
        .public("获取用户信息失败")?
        .ok_or_else(|| AppError::not_found("用户不存在"))?;
    Ok(ok(
        "操作成功",
        json!({
            "id": u.id,
            "username": u.username,
            "email": null,
            "role": u.role,
            "is_active": u.is_active,
            "created_at": wf_domain::time::iso(&u.created_at),
            "last_login": wf_domain::time::iso_opt(u.last_login.as_ref()),
        }),
    ))
}
