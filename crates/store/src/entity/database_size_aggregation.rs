//! Entity for table `database_size_aggregations`: Per-database period aggregate in MB, percentages as plain numbers (`domain.md` §1.14).

use sea_orm::entity::prelude::*;

/// One row of `database_size_aggregations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "database_size_aggregations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i32,
    pub database_name: String,
    pub period_type: String,
    pub period_start: Date,
    pub period_end: Date,
    pub avg_size_mb: i64,
    pub max_size_mb: i64,
    pub min_size_mb: i64,
    pub data_count: i32,
    pub avg_data_size_mb: Option<i64>,
    pub max_data_size_mb: Option<i64>,
    pub min_data_size_mb: Option<i64>,
    pub avg_log_size_mb: Option<i64>,
    pub max_log_size_mb: Option<i64>,
    pub min_log_size_mb: Option<i64>,
    pub size_change_mb: Option<i64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub size_change_percent: Option<f64>,
    pub data_size_change_mb: Option<i64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub data_size_change_percent: Option<f64>,
    pub log_size_change_mb: Option<i64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub log_size_change_percent: Option<f64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub growth_rate: Option<f64>,
    pub calculated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
