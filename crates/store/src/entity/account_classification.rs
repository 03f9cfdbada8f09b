//! Entity for table `account_classifications`: Account classification (`domain.md` §1.9).

use sea_orm::entity::prelude::*;

/// One row of `account_classifications`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_classifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub risk_level: String,
    pub color: Option<String>,
    pub icon_name: Option<String>,
    pub priority: Option<i32>,
    pub is_system: bool,
    pub is_active: bool,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
