//! Monthly partitions of the capacity tables on PostgreSQL (`domain.md` §6).

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr};

/// The partitioned tables.
pub const TABLES: [&str; 4] = [
    "database_size_stats",
    "instance_size_stats",
    "database_size_aggregations",
    "instance_size_aggregations",
];

pub use wf_domain::capacity::month_start;

/// Months whose partitions this process has made sure of (`YYYY-MM-01`); cleared when
/// partitions are dropped.
static ENSURED: std::sync::Mutex<Option<std::collections::HashSet<NaiveDate>>> =
    std::sync::Mutex::new(None);

/// Forget which months were ensured (after a cleanup dropped partitions).
pub fn forget_ensured() {
    if let Ok(mut g) = ENSURED.lock() {
        *g = None;
    }
}

/// Make sure the four tables have the partition of every month in `days` before rows of those
/// dates are written, so no write ever meets a missing partition (`domain.md` §6.1, §13.4).
/// Idempotent and cached per process; a no-op on SQLite. Two nodes racing on the same month
/// are fine: a lost race is re-checked.
pub async fn ensure_months(
    db: &impl ConnectionTrait,
    days: impl IntoIterator<Item = NaiveDate>,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut months: Vec<NaiveDate> = days.into_iter().map(|d| month_start(d, 0)).collect();
    months.sort();
    months.dedup();
    for m in months {
        let known = ENSURED
            .lock()
            .map(|g| g.as_ref().is_some_and(|s| s.contains(&m)))
            .unwrap_or(false);
        if known {
            continue;
        }
        for table in TABLES {
            let sql = create_sql(table, m);
            if let Err(e) = db.execute_unprepared(&sql).await {
                // a concurrent creator wins the race: fine if the partition now exists
                if !partition_exists(db, &partition_name(table, m)).await? {
                    return Err(e);
                }
            }
        }
        if let Ok(mut g) = ENSURED.lock() {
            g.get_or_insert_with(Default::default).insert(m);
        }
    }
    Ok(())
}

/// `<table>_YYYY_MM` of the month of `month`.
pub fn partition_name(table: &str, month: NaiveDate) -> String {
    format!("{table}_{:04}_{:02}", month.year(), month.month())
}

/// `CREATE TABLE IF NOT EXISTS` of one month's partition of `table`.
pub fn create_sql(table: &str, month: NaiveDate) -> String {
    let start = month_start(month, 0);
    let end = month_start(month, 1);
    format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {table} FOR VALUES FROM ('{start}') TO ('{end}')",
        partition_name(table, start)
    )
}

/// True when a partition table of that name exists in the current schema.
pub async fn partition_exists(db: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema()",
            [name.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Create the partitions of the current China-time month and `months_ahead` following months
/// for every partitioned table. Idempotent; a no-op on SQLite.
pub async fn ensure_partitions(db: &DatabaseConnection, months_ahead: i32) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let today = Utc::now()
        .with_timezone(&wf_domain::time::china())
        .date_naive();
    ensure_months(db, (0..=months_ahead).map(|o| month_start(today, o))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn months() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();
        assert_eq!(
            month_start(d, 0),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(
            month_start(d, 1),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(
            month_start(d, -12),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
    }
}
