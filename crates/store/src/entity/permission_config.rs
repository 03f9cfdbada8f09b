//! Entity for table `permission_configs`: Permission catalogue for the rule builder (`domain.md` §1.20).

use sea_orm::entity::prelude::*;

/// One row of `permission_configs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "permission_configs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub db_type: String,
    pub category: String,
    pub permission_name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub sort_order: Option<i32>,
    pub introduced_in_major: Option<String>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
