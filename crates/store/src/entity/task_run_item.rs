//! Entity for table `task_run_items`: One item of a task run (`domain.md` §1.18).

use sea_orm::entity::prelude::*;

/// One row of `task_run_items`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "task_run_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub run_id: String,
    pub item_type: String,
    pub item_key: String,
    pub item_name: Option<String>,
    pub instance_id: Option<i32>,
    pub status: String,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub metrics_json: Option<Json>,
    pub details_json: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
