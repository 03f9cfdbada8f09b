//! Entity for table `users`.

use sea_orm::entity::prelude::*;

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub username: String,
    /// bcrypt hash (`domain.md` §9.1).
    pub password: String,
    pub role: String,
    pub created_at: DateTimeUtc,
    pub last_login: Option<DateTimeUtc>,
    pub is_active: bool,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
