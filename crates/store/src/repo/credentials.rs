//! Credentials (`domain.md` §1.4). Passwords are stored encrypted by the services; this
//! module never sees plain text.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;

use super::{Paged, icontains_any, instances_with_tags};
use crate::entity::{credential, instance};

/// Filters of `GET /credentials`.
#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub search: Option<String>,
    pub credential_type: Option<String>,
    pub db_type: Option<String>,
    pub active: Option<bool>,
    /// Credentials used by an instance carrying any of these tags.
    pub tags: Vec<String>,
}

/// Sort keys of the credential list (ties by id in the same direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSort {
    Id,
    Name,
    CredentialType,
    DbType,
    Username,
    IsActive,
    CreatedAt,
    InstanceCount,
}

/// One page of credentials.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &CredentialFilter,
    sort: CredentialSort,
    desc: bool,
    page_no: u64,
    size: u64,
) -> Result<Paged<credential::Model>, DbErr> {
    use credential::Column as C;
    let mut cond = Condition::all();
    if let Some(s) = &f.search {
        cond = cond.add(icontains_any(&[C::Name, C::Username, C::Description], s));
    }
    if let Some(v) = &f.credential_type {
        cond = cond.add(C::CredentialType.eq(v.as_str()));
    }
    if let Some(v) = &f.db_type {
        cond = cond.add(C::DbType.eq(v.as_str()));
    }
    cond = super::flag(cond, C::IsActive, f.active);
    if !f.tags.is_empty() {
        let mut sub = Query::select();
        sub.column(instance::Column::CredentialId)
            .from(instance::Entity)
            .and_where(
                Expr::col(instance::Column::Id).in_subquery(instances_with_tags(f.tags.clone())),
            )
            .and_where(Expr::col(instance::Column::CredentialId).is_not_null());
        cond = cond.add(C::Id.in_subquery(sub));
    }
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let mut select = credential::Entity::find().filter(cond);
    select = match sort {
        CredentialSort::InstanceCount => select.order_by(
            Expr::cust(
                "(SELECT COUNT(*) FROM instances WHERE instances.credential_id = credentials.id)",
            ),
            order.clone(),
        ),
        other => select.order_by(
            match other {
                CredentialSort::Id => C::Id,
                CredentialSort::Name => C::Name,
                CredentialSort::CredentialType => C::CredentialType,
                CredentialSort::DbType => C::DbType,
                CredentialSort::Username => C::Username,
                CredentialSort::IsActive => C::IsActive,
                _ => C::CreatedAt,
            },
            order.clone(),
        ),
    };
    let pager = select.order_by(C::Id, order).paginate(db, size);
    super::fetch_page(pager, page_no, size).await
}

/// Instances per credential (soft-deleted instances included).
pub async fn usage(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<HashMap<i32, i64>, DbErr> {
    let q = instance::Entity::find().filter(instance::Column::CredentialId.is_in(ids));
    super::counts_by(
        db,
        q,
        instance::Column::CredentialId,
        instance::Column::Id.count(),
    )
    .await
}

/// Credential by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<credential::Model>, DbErr> {
    credential::Entity::find_by_id(id).one(db).await
}

/// True when another credential (id ≠ `except`) is named `name`.
pub async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    super::taken_by_other::<credential::Entity>(
        db,
        credential::Column::Name,
        credential::Column::Id,
        name,
        except,
    )
    .await
}

/// Credential fields written by create and update. `password` is the stored ciphertext;
/// optional fields are written only when `Some` (`Some(None)` clears).
#[derive(Debug, Clone)]
pub struct CredentialFields {
    pub name: String,
    pub credential_type: String,
    pub username: String,
    pub password: Option<String>,
    pub db_type: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
}

/// Insert a credential (active unless given).
pub async fn insert(
    db: &impl ConnectionTrait,
    f: &CredentialFields,
) -> Result<credential::Model, DbErr> {
    let now = Utc::now();
    credential::ActiveModel {
        name: Set(f.name.clone()),
        credential_type: Set(f.credential_type.clone()),
        db_type: Set(f.db_type.clone().flatten()),
        username: Set(f.username.clone()),
        password: Set(f.password.clone().unwrap_or_default()),
        description: Set(f.description.clone().flatten()),
        category_id: Set(None),
        is_active: Set(f.is_active.unwrap_or(true)),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Update a credential.
pub async fn update(
    db: &impl ConnectionTrait,
    current: credential::Model,
    f: &CredentialFields,
) -> Result<credential::Model, DbErr> {
    let mut am: credential::ActiveModel = current.into();
    am.name = Set(f.name.clone());
    am.credential_type = Set(f.credential_type.clone());
    am.username = Set(f.username.clone());
    if let Some(p) = &f.password {
        am.password = Set(p.clone());
    }
    if let Some(d) = &f.db_type {
        am.db_type = Set(d.clone());
    }
    if let Some(d) = &f.description {
        am.description = Set(d.clone());
    }
    if let Some(a) = f.is_active {
        am.is_active = Set(a);
    }
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Unlink the credential from its instances, then delete it (run in a transaction).
pub async fn delete(db: &impl ConnectionTrait, c: credential::Model) -> Result<(), DbErr> {
    instance::Entity::update_many()
        .col_expr(
            instance::Column::CredentialId,
            Expr::value(Option::<i32>::None),
        )
        .filter(instance::Column::CredentialId.eq(c.id))
        .exec(db)
        .await?;
    c.delete(db).await.map(|_| ())
}

/// Number of credentials (tests, dashboards).
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    credential::Entity::find().count(db).await
}
