//! SeaORM entities of the tables used by the application (`domain.md` §1).
//! Timestamps are UTC (`DateTimeUtc`); JSON columns are `serde_json::Value`.

pub mod account_change_log;
pub mod account_permission;
pub mod credential;
pub mod instance;
pub mod instance_account;
pub mod instance_tag;
pub mod sync_instance_record;
pub mod sync_session;
pub mod tag;
pub mod user;
