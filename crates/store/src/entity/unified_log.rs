//! Entity for table `unified_logs`: Unified log centre entry; `timestamp` is UTC (`domain.md` §1.19).

use sea_orm::entity::prelude::*;

/// One row of `unified_logs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "unified_logs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub timestamp: DateTimeUtc,
    pub level: String,
    pub module: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub traceback: Option<String>,
    pub context: Option<Json>,
    pub created_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
