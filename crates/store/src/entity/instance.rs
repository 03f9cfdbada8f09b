//! Entity for table `instances`.

use sea_orm::entity::prelude::*;

/// One row of `instances`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "instances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub database_name: Option<String>,
    pub database_version: Option<String>,
    pub main_version: Option<String>,
    pub detailed_version: Option<String>,
    pub sync_count: i32,
    pub credential_id: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub is_active: bool,
    /// Last *successful* connection (`domain.md` §13.6 fix).
    pub last_connected: Option<DateTimeUtc>,
    /// Last connection attempt, successful or not.
    pub last_check_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_connection_error: Option<String>,
    pub created_at: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
    /// SQL Server: connect without TLS (old servers that cannot negotiate TLS 1.2).
    pub insecure_tls: bool,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
