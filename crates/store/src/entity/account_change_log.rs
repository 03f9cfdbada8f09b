//! Entity for table `account_change_log`.

use sea_orm::entity::prelude::*;

/// One row of `account_change_log`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_change_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub instance_id: i32,
    pub db_type: String,
    pub username: String,
    /// `add`, `modify_privilege`, `modify_other`, `delete`, `reactivate`.
    pub change_type: String,
    pub change_time: Option<DateTimeUtc>,
    /// Sync session id (null for a manual single-instance sync).
    pub session_id: Option<String>,
    pub status: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    pub privilege_diff: Option<Json>,
    pub other_diff: Option<Json>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
