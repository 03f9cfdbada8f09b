//! Entity for table `scheduler_jobs`: Scheduler job in readable form: trigger type + JSON args, Asia/Shanghai by default (`domain.md` §1.21, §7).

use sea_orm::entity::prelude::*;

/// One row of `scheduler_jobs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduler_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub func: String,
    pub trigger_type: String,
    pub trigger_args: Json,
    pub timezone: String,
    pub next_run_time: Option<DateTimeUtc>,
    pub is_paused: bool,
    pub is_customized: bool,
    pub last_run_time: Option<DateTimeUtc>,
    pub updated_at: Option<DateTimeUtc>,
}

/// No declared relations; joins are written explicitly in the repositories.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
