//! Entity for table `instance_databases`: Database inventory of an instance; dates are China dates (`domain.md` §1.11).

use sea_orm::entity::prelude::*;

/// One row of `instance_databases`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_databases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub instance_id: i32,
    pub database_name: String,
    pub is_active: bool,
    pub first_seen_date: Date,
    pub last_seen_date: Date,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
