//! Entity for table `sync_instance_records`.

use sea_orm::entity::prelude::*;

/// One row of `sync_instance_records`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_instance_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub session_id: String,
    pub instance_id: i32,
    pub instance_name: Option<String>,
    pub sync_category: String,
    pub status: String,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub items_synced: Option<i32>,
    pub items_created: Option<i32>,
    pub items_updated: Option<i32>,
    pub items_deleted: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
    pub sync_details: Option<Json>,
    pub created_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
