//! Users (`api-v1.md` §4.18, §4.2; `domain.md` §1.1, §9): the session user, login and
//! password change, CRUD with the password policy and role rules, and the last-admin rule —
//! written once and checked inside the transaction that writes.

use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::body::sanitize;
use wf_domain::{AppError, Body, BodyKind, Role, password, time};
use wf_store::entity::user;
use wf_store::repo::users::{self as repo, UserChanges, UserFilter, UserSort};

use crate::context::{Area, Change, Services, verify_password};
use crate::error::{Public, ServiceError, ServiceResult, constraint_or};
use crate::views::require_strings;

/// The logged-in user as request handling sees it (no password hash).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i32,
    pub username: String,
    pub role: Role,
    /// The stored role text (`admin`, `user`, …).
    pub role_name: String,
    pub is_active: bool,
}

impl From<&user::Model> for SessionUser {
    fn from(u: &user::Model) -> Self {
        SessionUser {
            id: u.id,
            username: u.username.clone(),
            role: Role::parse(&u.role),
            role_name: u.role.clone(),
            is_active: u.is_active,
        }
    }
}

/// The active user of a session. Cached per node under the [`crate::context::Area::Users`]
/// generation: any user write on any node (role, active flag, deletion, password) makes the
/// next request of every node reload the row. Deactivated or deleted users lose their session
/// (`domain.md` §13.6.43).
pub async fn session_user(svc: &Services, uid: i32) -> ServiceResult<Option<SessionUser>> {
    let generation = svc.generation(Area::Users).await?;
    let u = match svc.users.get(&uid).await {
        Some((g, u)) if g == generation => Some(u),
        _ => {
            let u = repo::find(&svc.db, uid)
                .await?
                .map(|m| SessionUser::from(&m));
            if let Some(u) = &u {
                svc.users.insert(uid, (generation, u.clone())).await;
            }
            u
        }
    };
    Ok(u.filter(|u| u.is_active))
}

/// The user a JWT names (`POST /auth/refresh`, `GET /auth/me`), read from the store: 404
/// `用户不存在` when it was deleted, 403 `ACCOUNT_DISABLED` `账户已被停用` when it was
/// deactivated — a token outlives neither (issue 16).
pub async fn token_user(
    svc: &Services,
    uid: i32,
    public: &'static str,
) -> ServiceResult<user::Model> {
    let u = repo::find(&svc.db, uid)
        .await
        .public(public)?
        .ok_or_else(|| ServiceError::not_found("用户不存在"))?;
    if !u.is_active {
        return Err(AppError::authorization("账户已被停用")
            .code("ACCOUNT_DISABLED")
            .into());
    }
    Ok(u)
}

/// `POST /auth/login` credentials check: 401 `用户名或密码错误` for an unknown user or a
/// wrong password, 403 `ACCOUNT_DISABLED` for a deactivated one; stamps `last_login`.
pub async fn login(svc: &Services, username: &str, password: String) -> ServiceResult<SessionUser> {
    let found = repo::by_username(&svc.db, username)
        .await
        .public("登录失败")?;
    // every refusal is logged (WARNING, module `auth`) with the message the client gets
    let refuse = |target: Option<i32>, reason: &str, e: AppError| {
        tracing::warn!(
            module = "auth",
            username = username,
            target_user_id = target,
            reason = reason,
            "用户 {username} 登录失败: {}",
            e.message
        );
        Err(e.into())
    };
    let Some(u) = found else {
        return refuse(
            None,
            "unknown_user",
            AppError::authentication("用户名或密码错误"),
        );
    };
    if !verify_password(password, u.password.clone()).await {
        return refuse(
            Some(u.id),
            "wrong_password",
            AppError::authentication("用户名或密码错误"),
        );
    }
    if !u.is_active {
        return refuse(
            Some(u.id),
            "disabled",
            AppError::authorization("账户已被停用").code("ACCOUNT_DISABLED"),
        );
    }
    let out = SessionUser::from(&u);
    repo::touch_login(&svc.db, u).await.public("登录失败")?;
    svc.changed(Change::User(out.id)).await;
    tracing::info!(
        module = "auth",
        username = username,
        target_user_id = out.id,
        "用户 {username} 登录成功"
    );
    Ok(out)
}

/// `POST /auth/change-password` rules (`api-v1.md` §4.2): all fields, confirmation, the
/// current password, not the same, length and strength.
pub async fn change_password(
    svc: &Services,
    uid: i32,
    old: String,
    new: String,
    confirm: String,
) -> ServiceResult<()> {
    if old.is_empty() || new.is_empty() || confirm.is_empty() {
        return Err(ServiceError::validation("所有字段都不能为空"));
    }
    if new != confirm {
        return Err(AppError::validation("两次输入的新密码不一致")
            .code("PASSWORD_MISMATCH")
            .into());
    }
    let u = repo::find(&svc.db, uid)
        .await
        .public("密码修改失败")?
        .ok_or_else(AppError::login_required)?;
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
    let hash = svc.hash_password(new).await?;
    let saved = repo::set_password(&svc.db, u, hash)
        .await
        .public("密码修改失败")?;
    svc.changed(Change::User(saved.id)).await;
    Ok(())
}

/// User object: `created_at` and `created_at_display` are date-only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: i32,
    pub username: String,
    pub role: String,
    /// `YYYY-MM-DD`.
    pub created_at: String,
    pub created_at_display: String,
    /// UTC ISO-8601.
    pub last_login: Option<String>,
    pub is_active: bool,
}

impl From<&user::Model> for UserView {
    fn from(u: &user::Model) -> Self {
        let date = u.created_at.format("%Y-%m-%d").to_string();
        UserView {
            id: u.id,
            username: u.username.clone(),
            role: u.role.clone(),
            created_at: date.clone(),
            created_at_display: date,
            last_login: u.last_login.as_ref().map(time::iso),
            is_active: u.is_active,
        }
    }
}

/// `GET /auth/me` object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    pub id: i32,
    pub username: String,
    /// Always null (no e-mail is stored).
    pub email: Option<String>,
    pub role: String,
    pub is_active: bool,
    /// UTC ISO-8601.
    pub created_at: String,
    pub last_login: Option<String>,
}

/// `GET /auth/me`: 404 `用户不存在` when the token's user is gone, 403 `ACCOUNT_DISABLED`
/// when it was deactivated.
pub async fn me(svc: &Services, uid: i32) -> ServiceResult<MeView> {
    let u = token_user(svc, uid, "获取用户信息失败").await?;
    Ok(MeView {
        id: u.id,
        username: u.username,
        email: None,
        role: u.role,
        is_active: u.is_active,
        created_at: time::iso(&u.created_at),
        last_login: u.last_login.as_ref().map(time::iso),
    })
}

crate::page_type!(
    /// `GET /users` page.
    UserPage,
    UserView
);

/// `GET /users`.
pub async fn list(
    svc: &Services,
    f: &UserFilter,
    sort: UserSort,
    desc: bool,
    page: u64,
    size: u64,
) -> ServiceResult<UserPage> {
    let p = repo::page(&svc.db, f, sort, desc, page, size)
        .await
        .public("获取用户列表失败")?;
    Ok(UserPage::new(
        p.rows.iter().map(UserView::from).collect(),
        p.total,
        page,
        size,
    ))
}

fn username_ok(s: &str) -> bool {
    (3..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Validated user input (create, or update merged over the current row).
struct UserInput {
    username: String,
    role: String,
    password: Option<String>,
    is_active: bool,
}

fn read_input(body: &Body, current: Option<&user::Model>) -> Result<UserInput, AppError> {
    body.require_object()?;
    // JSON only: a form body is treated as empty (api-v1.md §4.18).
    let json = body.kind == BodyKind::Json;
    if json {
        require_strings(body, &["username", "role", "password"])?;
    }
    let text = |k: &str| if json { body.text(k) } else { None };
    let username = match text("username") {
        Some(s) => sanitize(&s),
        None => current.map(|u| u.username.clone()).unwrap_or_default(),
    };
    let role = match text("role") {
        Some(s) => s.trim().to_string(),
        None => current.map(|u| u.role.clone()).unwrap_or_default(),
    };
    let password = text("password").filter(|p| !p.is_empty());
    let is_active = match body.get("is_active").filter(|_| json) {
        None | Some(serde_json::Value::Null) => current.map(|u| u.is_active).unwrap_or(true),
        Some(v) => wf_domain::body::boolish(v)
            .ok_or_else(|| AppError::validation("is_active 必须是布尔值"))?,
    };
    if username.is_empty() {
        return Err(AppError::validation("用户名不能为空"));
    }
    if !username_ok(&username) {
        return Err(AppError::validation(
            "用户名只能包含字母、数字和下划线,长度为3-20位",
        ));
    }
    if !Role::assignable(&role) {
        return Err(AppError::validation("角色只能是管理员或普通用户"));
    }
    match &password {
        None if current.is_none() => return Err(AppError::validation("请设置初始密码")),
        None => {}
        Some(p) => password::check_strength(p)
            .map_err(|m| AppError::validation(m).code("PASSWORD_INVALID"))?,
    }
    Ok(UserInput {
        username,
        role,
        password,
        is_active,
    })
}

fn username_exists() -> ServiceError {
    ServiceError::conflict("USERNAME_EXISTS", "用户名已存在")
}

/// `POST /users`.
pub async fn create(svc: &Services, body: &Body) -> ServiceResult<UserView> {
    let input = read_input(body, None)?;
    if repo::username_taken(&svc.db, &input.username, None).await? {
        return Err(username_exists());
    }
    let hash = svc
        .hash_password(input.password.unwrap_or_default())
        .await?;
    let u = constraint_or(
        repo::insert(
            &svc.db,
            &input.username,
            &hash,
            &input.role,
            input.is_active,
        )
        .await,
        AppError::validation("保存失败,请稍后再试"),
        "保存失败,请稍后再试",
    )?;
    Ok(UserView::from(&u))
}

async fn find(svc: &Services, id: Option<i32>, public: &'static str) -> ServiceResult<user::Model> {
    let found = match id {
        Some(id) => repo::find(&svc.db, id).await.public(public)?,
        None => None,
    };
    found.ok_or_else(|| ServiceError::not_found("用户不存在"))
}

/// `GET /users/{id}`.
pub async fn detail(svc: &Services, id: Option<i32>) -> ServiceResult<UserView> {
    Ok(UserView::from(&find(svc, id, "获取用户信息失败").await?))
}

/// The last-admin rule (`api-v1.md` §4.18): the system keeps at least one **active** admin.
/// Demoting, deactivating or deleting `target` is refused when no other active admin exists.
/// Call it inside the transaction that writes, after reading `target` there.
async fn keeps_an_active_admin(
    db: &impl sea_orm::ConnectionTrait,
    target: &user::Model,
) -> ServiceResult<bool> {
    Ok(target.role != "admin" || repo::other_admins(db, target.id, true).await? > 0)
}

/// `PUT /users/{id}`: partial update; the last-admin rule and the unique username are
/// checked inside the transaction that writes.
pub async fn update(svc: &Services, id: Option<i32>, body: &Body) -> ServiceResult<UserView> {
    const PUB: &str = "保存失败,请稍后再试";
    let current = find(svc, id, "用户更新失败").await?;
    let input = read_input(body, Some(&current))?;
    let hash = match input.password {
        Some(p) => Some(svc.hash_password(p).await?),
        None => None,
    };
    let txn = crate::begin(svc, PUB).await?;
    let current = repo::find(&txn, current.id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::not_found("用户不存在"))?;
    let demotes = input.role != "admin" || !input.is_active;
    if demotes && !keeps_an_active_admin(&txn, &current).await? {
        return Err(AppError::validation("系统至少需要一位活跃管理员")
            .code("LAST_ADMIN_REQUIRED")
            .into());
    }
    if repo::username_taken(&txn, &input.username, Some(current.id)).await? {
        return Err(username_exists());
    }
    let changes = UserChanges {
        username: input.username,
        role: input.role,
        is_active: input.is_active,
        password_hash: hash,
    };
    let u = constraint_or(
        repo::update(&txn, current, &changes).await,
        AppError::validation("保存失败,请稍后再试"),
        PUB,
    )?;
    txn.commit().await.public(PUB)?;
    svc.changed(Change::User(u.id)).await;
    Ok(UserView::from(&u))
}

/// `DELETE /users/{id}`: not yourself, and never the last active admin (same rule as
/// update), checked in the deleting transaction.
pub async fn delete(svc: &Services, me: i32, id: Option<i32>) -> ServiceResult<()> {
    const PUB: &str = "删除用户失败";
    let target = find(svc, id, PUB).await?;
    if target.id == me {
        return Err(ServiceError::validation("不能删除自己的账户"));
    }
    let txn = crate::begin(svc, PUB).await?;
    let target = repo::find(&txn, target.id)
        .await
        .public(PUB)?
        .ok_or_else(|| ServiceError::not_found("用户不存在"))?;
    if !keeps_an_active_admin(&txn, &target).await? {
        return Err(ServiceError::validation("不能删除最后一个管理员账户"));
    }
    let tid = target.id;
    repo::delete(&txn, target).await.public(PUB)?;
    txn.commit().await.public(PUB)?;
    svc.changed(Change::User(tid)).await;
    Ok(())
}

/// `GET /users/stats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserStats {
    pub total: i64,
    pub active: i64,
    pub inactive: i64,
    pub admin: i64,
    pub user: i64,
}

/// Counters by state and role.
pub async fn stats(svc: &Services) -> ServiceResult<UserStats> {
    let s = repo::stats(&svc.db).await.public("获取用户统计信息失败")?;
    let active = s.active.unwrap_or(0);
    Ok(UserStats {
        total: s.total,
        active,
        inactive: s.total - active,
        admin: s.admin.unwrap_or(0),
        user: s.user.unwrap_or(0),
    })
}
