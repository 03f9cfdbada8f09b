//! Entity for table `database_table_size_stats`: Latest table sizes in MB (`domain.md` §1.16).

use sea_orm::entity::prelude::*;

/// One row of `database_table_size_stats`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "database_table_size_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i32,
    pub database_name: String,
    pub schema_name: String,
    pub table_name: String,
    pub size_mb: i64,
    pub data_size_mb: Option<i64>,
    pub index_size_mb: Option<i64>,
    pub row_count: Option<i64>,
    pub collected_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
