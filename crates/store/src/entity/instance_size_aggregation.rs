//! Entity for table `instance_size_aggregations`: Per-instance period aggregate in MB (`domain.md` §1.15).

use sea_orm::entity::prelude::*;

/// One row of `instance_size_aggregations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "instance_size_aggregations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance_id: i32,
    pub period_type: String,
    pub period_start: Date,
    pub period_end: Date,
    pub total_size_mb: i64,
    pub avg_size_mb: i64,
    pub max_size_mb: i64,
    pub min_size_mb: i64,
    pub data_count: i32,
    pub database_count: i32,
    #[sea_orm(column_type = "Double", nullable)]
    pub avg_database_count: Option<f64>,
    pub max_database_count: Option<i32>,
    pub min_database_count: Option<i32>,
    pub total_size_change_mb: Option<i64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub total_size_change_percent: Option<f64>,
    pub database_count_change: Option<i32>,
    #[sea_orm(column_type = "Double", nullable)]
    pub database_count_change_percent: Option<f64>,
    #[sea_orm(column_type = "Double", nullable)]
    pub growth_rate: Option<f64>,
    pub trend_direction: Option<String>,
    pub calculated_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
