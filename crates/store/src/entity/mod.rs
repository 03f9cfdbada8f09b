//! SeaORM entities of the tables used by the application (`domain.md` §1).
//! Timestamps are UTC (`DateTimeUtc`); JSON columns are `serde_json::Value`.

pub mod account_change_log;
pub mod account_classification;
pub mod account_classification_assignment;
pub mod account_permission;
pub mod classification_daily_classification_match_stat;
pub mod classification_daily_rule_match_stat;
pub mod classification_rule;
pub mod credential;
pub mod database_size_aggregation;
pub mod database_size_stat;
pub mod database_table_size_stat;
pub mod database_type_config;
pub mod instance;
pub mod instance_account;
pub mod instance_database;
pub mod instance_size_aggregation;
pub mod instance_size_stat;
pub mod instance_tag;
pub mod permission_config;
pub mod scheduler_job;
pub mod scheduler_lease;
pub mod sync_instance_record;
pub mod sync_session;
pub mod tag;
pub mod task_run;
pub mod task_run_item;
pub mod unified_log;
pub mod user;
