//! Dashboard counters (`domain.md` §11): grouped counts over the store, one statement each.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement};

fn p(db: &impl ConnectionTrait, n: usize) -> String {
    super::param(db.get_database_backend(), n)
}

#[derive(Debug, FromQueryResult)]
struct Three {
    a: Option<i64>,
    b: Option<i64>,
    c: Option<i64>,
}

async fn three(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<(i64, i64, i64), DbErr> {
    let r = Three::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .one(db)
    .await?;
    Ok(r.map_or((0, 0, 0), |r| {
        (r.a.unwrap_or(0), r.b.unwrap_or(0), r.c.unwrap_or(0))
    }))
}

const ACTIVE: &str = "(SELECT id FROM instances WHERE is_active = true AND deleted_at IS NULL)";

/// `(users, instances incl. deleted, active instances)`.
pub async fn users_and_instances(db: &impl ConnectionTrait) -> Result<(i64, i64, i64), DbErr> {
    three(
        db,
        "SELECT (SELECT COUNT(*) FROM users) AS a, COUNT(*) AS b, \
         CAST(SUM(CASE WHEN deleted_at IS NULL AND is_active = true THEN 1 ELSE 0 END) AS BIGINT) AS c FROM instances",
        vec![],
    )
    .await
}

/// `(total, active, locked)` accounts of active, not deleted instances.
pub async fn accounts(db: &impl ConnectionTrait) -> Result<(i64, i64, i64), DbErr> {
    three(
        db,
        &format!(
            "SELECT COUNT(*) AS a, CAST(SUM(CASE WHEN ia.is_active = true THEN 1 ELSE 0 END) AS BIGINT) AS b, \
             CAST(SUM(CASE WHEN ia.is_active = true AND ap.is_locked = true THEN 1 ELSE 0 END) AS BIGINT) AS c \
             FROM account_permission ap JOIN instance_accounts ia ON ia.id = ap.instance_account_id \
             WHERE ap.instance_id IN {ACTIVE}"
        ),
        vec![],
    )
    .await
}

/// Distinct accounts with an active auto assignment, on active instances with an active
/// inventory row.
pub async fn auto_classified(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(three(
        db,
        &format!(
            "SELECT COUNT(DISTINCT a.account_id) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM account_classification_assignments a \
             JOIN account_permission ap ON ap.id = a.account_id JOIN instance_accounts ia ON ia.id = ap.instance_account_id \
             WHERE a.is_active = true AND a.assignment_type = 'auto' AND ia.is_active = true AND ap.instance_id IN {ACTIVE}"
        ),
        vec![],
    )
    .await?
    .0)
}

/// `(total, active, inactive)` inventory databases of active instances.
pub async fn databases(db: &impl ConnectionTrait) -> Result<(i64, i64, i64), DbErr> {
    three(
        db,
        &format!(
            "SELECT COUNT(*) AS a, CAST(SUM(CASE WHEN is_active = true THEN 1 ELSE 0 END) AS BIGINT) AS b, \
             CAST(SUM(CASE WHEN is_active = true THEN 0 ELSE 1 END) AS BIGINT) AS c FROM instance_databases WHERE instance_id IN {ACTIVE}"
        ),
        vec![],
    )
    .await
}

/// `(error+critical, warning)` log entries in `[from, to)`.
pub async fn log_counts(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, i64), DbErr> {
    let (a, b, _) = three(
        db,
        &format!(
            "SELECT CAST(SUM(CASE WHEN level IN ('ERROR', 'CRITICAL') THEN 1 ELSE 0 END) AS BIGINT) AS a, \
             CAST(SUM(CASE WHEN level = 'WARNING' THEN 1 ELSE 0 END) AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM unified_logs \
             WHERE level IN ('ERROR', 'CRITICAL', 'WARNING') AND timestamp >= {} AND timestamp < {}",
            p(db, 1),
            p(db, 2)
        ),
        vec![from.into(), to.into()],
    )
    .await?;
    Ok((a, b))
}

/// All-time `(ERROR, WARNING, CRITICAL)` entries.
pub async fn log_levels(db: &impl ConnectionTrait) -> Result<(i64, i64, i64), DbErr> {
    three(
        db,
        "SELECT CAST(SUM(CASE WHEN level = 'ERROR' THEN 1 ELSE 0 END) AS BIGINT) AS a, \
         CAST(SUM(CASE WHEN level = 'WARNING' THEN 1 ELSE 0 END) AS BIGINT) AS b, \
         CAST(SUM(CASE WHEN level = 'CRITICAL' THEN 1 ELSE 0 END) AS BIGINT) AS c FROM unified_logs \
         WHERE level IN ('ERROR', 'WARNING', 'CRITICAL')",
        vec![],
    )
    .await
}

/// Sync sessions created in `[from, to)`.
pub async fn sessions_created(
    db: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, DbErr> {
    Ok(three(
        db,
        &format!(
            "SELECT COUNT(*) AS a, CAST(0 AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM sync_sessions WHERE created_at >= {} AND created_at < {}",
            p(db, 1),
            p(db, 2)
        ),
        vec![from.into(), to.into()],
    )
    .await?
    .0)
}

/// `(jobs with a next fire, jobs without)`.
pub async fn job_states(db: &impl ConnectionTrait) -> Result<(i64, i64), DbErr> {
    let (a, b, _) = three(
        db,
        "SELECT CAST(SUM(CASE WHEN next_run_time IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS a, \
         CAST(SUM(CASE WHEN next_run_time IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS b, CAST(0 AS BIGINT) AS c FROM scheduler_jobs",
        vec![],
    )
    .await?;
    Ok((a, b))
}
