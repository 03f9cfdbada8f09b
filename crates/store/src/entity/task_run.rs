//! Entity for table `task_runs`: Generic run ledger (`domain.md` §1.18).

use sea_orm::entity::prelude::*;

/// One row of `task_runs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "task_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub run_id: String,
    pub task_key: String,
    pub task_name: String,
    pub task_category: String,
    pub trigger_source: String,
    pub status: String,
    pub started_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub created_by: Option<i32>,
    pub progress_total: i32,
    pub progress_completed: i32,
    pub progress_failed: i32,
    pub summary_json: Option<Json>,
    pub result_url: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
