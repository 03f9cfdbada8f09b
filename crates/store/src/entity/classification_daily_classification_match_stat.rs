//! Entity for table `account_classification_daily_classification_match_stats`: Daily distinct matched accounts per classification (`domain.md` §1.10).

use sea_orm::entity::prelude::*;

/// One row of `account_classification_daily_classification_match_stats`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_classification_daily_classification_match_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub stat_date: Date,
    pub classification_id: i32,
    pub db_type: String,
    pub instance_id: i32,
    pub matched_accounts_distinct_count: i32,
    pub computed_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
