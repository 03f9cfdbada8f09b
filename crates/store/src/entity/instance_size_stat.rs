//! Entity for table `instance_size_stats`: Daily instance total in MB; partitioned on PostgreSQL (`domain.md` §1.13).

use sea_orm::entity::prelude::*;

/// One row of `instance_size_stats`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_size_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i32,
    pub total_size_mb: i64,
    pub database_count: i32,
    pub collected_date: Date,
    pub collected_at: DateTimeUtc,
    pub is_deleted: bool,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
