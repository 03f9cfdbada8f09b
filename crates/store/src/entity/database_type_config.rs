//! Entity for table `database_type_configs`: Engine catalogue (present, unused: `domain.md` §1.5).

use sea_orm::entity::prelude::*;

/// One row of `database_type_configs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "database_type_configs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub display_name: String,
    pub driver: String,
    pub default_port: i32,
    pub default_schema: String,
    pub connection_timeout: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub features: Option<String>,
    pub is_active: Option<bool>,
    pub is_system: Option<bool>,
    pub sort_order: Option<i32>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
