//! Scheduler jobs as plain rows (`scheduler_jobs`, `domain.md` §1.21 intended form) and the
//! run ledger (`task_runs`, §1.18). A fire is claimed with a conditional update of
//! `next_run_time`, so even two nodes that both believed they lead could not run it twice.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;
use std::collections::HashMap;

use crate::entity::{scheduler_job as job, task_run as run};

/// A trigger in its stored form.
#[derive(Debug, Clone)]
pub struct StoredTrigger {
    pub trigger_type: String,
    pub trigger_args: Value,
    pub timezone: String,
}

/// Every job, by id.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<job::Model>, DbErr> {
    job::Entity::find()
        .order_by_asc(job::Column::Id)
        .all(db)
        .await
}

/// One job.
pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find_by_id(id.to_string()).one(db).await
}

/// Register a built-in job: inserted when missing; an existing row keeps a trigger the user
/// edited (`is_customized`) and its paused state, otherwise gets the default trigger. Returns
/// the row.
pub async fn upsert_builtin(
    db: &impl ConnectionTrait,
    id: &str,
    name: &str,
    func: &str,
    default: &StoredTrigger,
    next: Option<DateTime<Utc>>,
) -> Result<job::Model, DbErr> {
    let now = Utc::now();
    match find(db, id).await? {
        None => {
            job::ActiveModel {
                id: Set(id.to_string()),
                name: Set(name.to_string()),
                func: Set(func.to_string()),
                trigger_type: Set(default.trigger_type.clone()),
                trigger_args: Set(default.trigger_args.clone()),
                timezone: Set(default.timezone.clone()),
                next_run_time: Set(next),
                is_paused: Set(false),
                is_customized: Set(false),
                last_run_time: Set(None),
                updated_at: Set(Some(now)),
            }
            .insert(db)
            .await
        }
        Some(existing) => {
            let customized = existing.is_customized;
            let paused = existing.is_paused;
            let mut am: job::ActiveModel = existing.into();
            am.name = Set(name.to_string());
            am.func = Set(func.to_string());
            if !customized {
                am.trigger_type = Set(default.trigger_type.clone());
                am.trigger_args = Set(default.trigger_args.clone());
                am.timezone = Set(default.timezone.clone());
                if !paused {
                    am.next_run_time = Set(next);
                }
            }
            am.updated_at = Set(Some(now));
            am.update(db).await
        }
    }
}

/// Replace a job's trigger (a user edit: `is_customized`), with its next fire time (`None`
/// for a paused job).
pub async fn set_trigger(
    db: &impl ConnectionTrait,
    id: &str,
    t: &StoredTrigger,
    next: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(
            job::Column::TriggerType,
            Expr::value(t.trigger_type.clone()),
        )
        .col_expr(
            job::Column::TriggerArgs,
            Expr::value(t.trigger_args.clone()),
        )
        .col_expr(job::Column::Timezone, Expr::value(t.timezone.clone()))
        .col_expr(job::Column::IsCustomized, Expr::value(true))
        .col_expr(job::Column::NextRunTime, Expr::value(next))
        .col_expr(job::Column::UpdatedAt, Expr::value(Some(Utc::now())))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Pause (no next fire) or resume (with its next fire time).
pub async fn set_paused(
    db: &impl ConnectionTrait,
    id: &str,
    paused: bool,
    next: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::IsPaused, Expr::value(paused))
        .col_expr(job::Column::NextRunTime, Expr::value(next))
        .col_expr(job::Column::UpdatedAt, Expr::value(Some(Utc::now())))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Jobs due at `now` (not paused, next fire reached).
pub async fn due(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::IsPaused.eq(false))
        .filter(job::Column::NextRunTime.lte(now))
        .order_by_asc(job::Column::NextRunTime)
        .all(db)
        .await
}

/// Claim the fire planned at `planned` by moving the job to `next`: true for the one caller
/// that moved it.
pub async fn claim(
    db: &impl ConnectionTrait,
    id: &str,
    planned: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let r = job::Entity::update_many()
        .col_expr(job::Column::NextRunTime, Expr::value(next))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::NextRunTime.eq(planned))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Record when a job last started.
pub async fn set_last_run(
    db: &impl ConnectionTrait,
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(job::Column::LastRunTime, Expr::value(Some(at)))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Delete every job; returns the ids that existed (reload).
pub async fn delete_all(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let ids: Vec<String> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .order_by_asc(job::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    job::Entity::delete_many().exec(db).await?;
    Ok(ids)
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub run_id: &'a str,
    pub task_key: &'a str,
    pub task_name: &'a str,
    pub task_category: &'a str,
    /// `scheduled` or `manual`.
    pub trigger_source: &'a str,
    pub created_by: Option<i32>,
}

/// Insert a `running` run.
pub async fn start_run(db: &impl ConnectionTrait, r: &NewRun<'_>) -> Result<(), DbErr> {
    let now = Utc::now();
    run::ActiveModel {
        run_id: Set(r.run_id.to_string()),
        task_key: Set(r.task_key.to_string()),
        task_name: Set(r.task_name.to_string()),
        task_category: Set(r.task_category.to_string()),
        trigger_source: Set(r.trigger_source.to_string()),
        status: Set("running".into()),
        started_at: Set(now),
        completed_at: Set(None),
        created_by: Set(r.created_by),
        progress_total: Set(0),
        progress_completed: Set(0),
        progress_failed: Set(0),
        summary_json: Set(None),
        result_url: Set(None),
        error_message: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}

/// Finish a run with its status (`completed`, `completed_with_errors`, `failed`, `cancelled`).
pub async fn finish_run(
    db: &impl ConnectionTrait,
    run_id: &str,
    status: &str,
    summary: Option<Value>,
    error: Option<String>,
) -> Result<(), DbErr> {
    let now = Utc::now();
    run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(status))
        .col_expr(run::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(run::Column::SummaryJson, Expr::value(summary))
        .col_expr(run::Column::ErrorMessage, Expr::value(error))
        .col_expr(run::Column::UpdatedAt, Expr::value(now))
        .filter(run::Column::RunId.eq(run_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The latest start of each task key (the job list's `last_run_time`).
pub async fn last_starts(
    db: &impl ConnectionTrait,
) -> Result<HashMap<String, DateTime<Utc>>, DbErr> {
    let rows: Vec<(String, Option<DateTime<Utc>>)> = run::Entity::find()
        .select_only()
        .column(run::Column::TaskKey)
        .column_as(run::Column::StartedAt.max(), "last")
        .group_by(run::Column::TaskKey)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
        .collect())
}

/// Runs of one task key, newest first.
pub async fn runs_of(
    db: &impl ConnectionTrait,
    key: &str,
    limit: u64,
) -> Result<Vec<run::Model>, DbErr> {
    run::Entity::find()
        .filter(run::Column::TaskKey.eq(key))
        .order_by_desc(run::Column::StartedAt)
        .order_by_desc(run::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
