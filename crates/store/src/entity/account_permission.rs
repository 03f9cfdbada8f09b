//! Entity for table `account_permission`.

use sea_orm::entity::prelude::*;

/// One row of `account_permission`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_permission")]
pub struct Model {
    /// The "account id" of the API.
    #[sea_orm(primary_key)]
    pub id: i32,
    pub instance_id: i32,
    pub db_type: String,
    pub username: String,
    pub instance_account_id: i32,
    pub type_specific: Option<Json>,
    /// Snapshot v4 (`domain.md` §1.7).
    pub permission_snapshot: Option<Json>,
    /// Facts v2 (`domain.md` §1.7).
    pub permission_facts: Option<Json>,
    /// Denormalised from facts (`SUPERUSER`) for SQL filters on both stores.
    pub is_superuser: bool,
    /// Denormalised from facts (`LOCKED`).
    pub is_locked: bool,
    pub last_sync_time: Option<DateTimeUtc>,
    pub last_change_type: Option<String>,
    pub last_change_time: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
