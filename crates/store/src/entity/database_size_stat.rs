//! Entity for table `database_size_stats`: Daily database size in MB; partitioned by `collected_date` on PostgreSQL (`domain.md` §1.12).

use sea_orm::entity::prelude::*;

/// One row of `database_size_stats`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "database_size_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i32,
    pub database_name: String,
    pub size_mb: i64,
    pub data_size_mb: Option<i64>,
    pub log_size_mb: Option<i64>,
    pub collected_date: Date,
    pub collected_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
