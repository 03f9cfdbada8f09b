//! Users (`domain.md` §1.1).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{Paged, icontains};
use crate::entity::user;

/// Filters of `GET /users`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub search: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
}

/// Sort keys of the user list (ties by id in the same direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    Id,
    Username,
    Role,
    IsActive,
    CreatedAt,
}

/// One page of users.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &UserFilter,
    sort: UserSort,
    desc: bool,
    page_no: u64,
    size: u64,
) -> Result<Paged<user::Model>, DbErr> {
    let mut cond = Condition::all();
    if let Some(s) = &f.search {
        cond = cond.add(icontains(user::Column::Username, s));
    }
    if let Some(r) = &f.role {
        cond = cond.add(user::Column::Role.eq(r.as_str()));
    }
    cond = super::flag(cond, user::Column::IsActive, f.active);
    let col = match sort {
        UserSort::Id => user::Column::Id,
        UserSort::Username => user::Column::Username,
        UserSort::Role => user::Column::Role,
        UserSort::IsActive => user::Column::IsActive,
        UserSort::CreatedAt => user::Column::CreatedAt,
    };
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let pager = user::Entity::find()
        .filter(cond)
        .order_by(col, order.clone())
        .order_by(user::Column::Id, order)
        .paginate(db, size);
    super::fetch_page(pager, page_no, size).await
}

/// User by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// User by username.
pub async fn by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
}

/// True when another user (id ≠ `except`) has `username`.
pub async fn username_taken(
    db: &impl ConnectionTrait,
    username: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    super::taken_by_other::<user::Entity>(
        db,
        user::Column::Username,
        user::Column::Id,
        username,
        except,
    )
    .await
}

/// Insert a user with an already computed bcrypt hash.
pub async fn insert(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: &str,
    role: &str,
    is_active: bool,
) -> Result<user::Model, DbErr> {
    user::ActiveModel {
        username: Set(username.to_string()),
        password: Set(password_hash.to_string()),
        role: Set(role.to_string()),
        created_at: Set(Utc::now()),
        last_login: Set(None),
        is_active: Set(is_active),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Changes of a user update (`password_hash` only when the password changes).
#[derive(Debug, Clone)]
pub struct UserChanges {
    pub username: String,
    pub role: String,
    pub is_active: bool,
    pub password_hash: Option<String>,
}

/// Update a user.
pub async fn update(
    db: &impl ConnectionTrait,
    current: user::Model,
    ch: &UserChanges,
) -> Result<user::Model, DbErr> {
    let mut am: user::ActiveModel = current.into();
    am.username = Set(ch.username.clone());
    am.role = Set(ch.role.clone());
    am.is_active = Set(ch.is_active);
    if let Some(h) = &ch.password_hash {
        am.password = Set(h.clone());
    }
    am.update(db).await
}

/// Set the password hash.
pub async fn set_password(
    db: &impl ConnectionTrait,
    current: user::Model,
    hash: String,
) -> Result<user::Model, DbErr> {
    let mut am: user::ActiveModel = current.into();
    am.password = Set(hash);
    am.update(db).await
}

/// Set `last_login` to now.
pub async fn touch_login(db: &impl ConnectionTrait, current: user::Model) -> Result<(), DbErr> {
    let mut am: user::ActiveModel = current.into();
    am.last_login = Set(Some(Utc::now()));
    am.update(db).await.map(|_| ())
}

/// Delete a user.
pub async fn delete(db: &impl ConnectionTrait, u: user::Model) -> Result<(), DbErr> {
    u.delete(db).await.map(|_| ())
}

/// Admins other than `except`; `active_only` counts only active ones.
pub async fn other_admins(
    db: &impl ConnectionTrait,
    except: i32,
    active_only: bool,
) -> Result<u64, DbErr> {
    let mut q = user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .filter(user::Column::Id.ne(except));
    if active_only {
        q = q.filter(user::Column::IsActive.eq(true));
    }
    q.count(db).await
}

/// Counters of `GET /users/stats`.
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct UserStats {
    pub total: i64,
    pub active: Option<i64>,
    pub admin: Option<i64>,
    pub user: Option<i64>,
}

/// Totals by state and role in one statement.
pub async fn stats(db: &impl ConnectionTrait) -> Result<UserStats, DbErr> {
    Ok(UserStats::find_by_statement(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) AS total, SUM(CASE WHEN is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END) AS admin, SUM(CASE WHEN role = 'user' THEN 1 ELSE 0 END) AS \"user\" FROM users",
    ))
    .one(db)
    .await?
    .unwrap_or_default())
}
