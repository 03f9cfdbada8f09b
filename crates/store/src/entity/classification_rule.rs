//! Entity for table `classification_rules`: Classification rule with a DSL v4 expression (`domain.md` §1.9, §4.2).

use sea_orm::entity::prelude::*;

/// One row of `classification_rules`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "classification_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub classification_id: i32,
    pub db_type: String,
    pub rule_name: String,
    #[sea_orm(column_type = "Text")]
    pub rule_expression: String,
    pub operator: Option<String>,
    pub is_active: bool,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
