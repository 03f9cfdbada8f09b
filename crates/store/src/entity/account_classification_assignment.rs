//! Entity for table `account_classification_assignments`: Account ↔ classification assignment (`domain.md` §1.9).

use sea_orm::entity::prelude::*;

/// One row of `account_classification_assignments`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_classification_assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub classification_id: i32,
    pub assigned_by: Option<i32>,
    pub assignment_type: String,
    pub confidence_score: Option<f32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub batch_id: Option<String>,
    pub is_active: Option<bool>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
    pub rule_id: Option<i32>,
    pub assigned_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
