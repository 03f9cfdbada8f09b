//! Monthly partitions of the capacity tables (`domain.md` §6): real declarative partitions on
//! PostgreSQL; on SQLite the same operations work on logical month buckets (the rows of a
//! month), so the partition endpoints keep their contract on both stores.

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

/// Make sure the four tables have the partition of every month in `days` before rows of those
/// dates are written, so no write ever meets a missing partition (`domain.md` §6.1, §13.4).
/// Idempotent (`CREATE TABLE IF NOT EXISTS`, a catalogue look-up when the partition exists —
/// not cached, so a partition dropped by a cleanup or by hand is recreated); a no-op on
/// SQLite. Two nodes racing on the same month are fine: a lost race is re-checked.
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
        for table in TABLES {
            let sql = create_sql(table, m);
            if let Err(e) = db.execute_unprepared(&sql).await {
                // a concurrent creator wins the race: fine if the partition now exists
                if !partition_exists(db, &partition_name(table, m)).await? {
                    return Err(e);
                }
            }
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

/// The partition key column of a managed table.
pub fn key_column(table: &str) -> &'static str {
    match table {
        "database_size_stats" | "instance_size_stats" => "collected_date",
        _ => "period_start",
    }
}

/// One partition (or, on SQLite, one month bucket) of a managed table.
#[derive(Debug, Clone)]
pub struct PartitionRow {
    pub table: &'static str,
    pub name: String,
    /// First day of the month, when the name carries it.
    pub month: Option<NaiveDate>,
    pub size_bytes: i64,
    pub record_count: i64,
}

/// `YYYY_MM` suffix of a partition name → the month's first day.
pub fn month_of_name(table: &str, name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix(table)?.strip_prefix('_')?;
    let (y, m) = rest.split_once('_')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// Every partition of the four tables. PostgreSQL: children from `pg_inherits` in the current
/// schema with `pg_total_relation_size` and the planner's row estimate (`reltuples`; an exact
/// count only for never-analysed partitions) — no `count(*)` over every partition
/// (`domain.md` §13.4 #34). SQLite: one bucket per month holding rows, plus the current and
/// the next two China months (always writable there), sizes 0.
pub async fn list(db: &impl ConnectionTrait, today: NaiveDate) -> Result<Vec<PartitionRow>, DbErr> {
    let mut out = Vec::new();
    if db.get_database_backend() == DbBackend::Postgres {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT c.relname::text AS name, p.relname::text AS parent, pg_total_relation_size(c.oid) AS size_bytes, \
                 c.reltuples::float8 AS estimate FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND p.relname IN ('database_size_stats', 'instance_size_stats', \
                 'database_size_aggregations', 'instance_size_aggregations') ORDER BY c.relname",
            ))
            .await?;
        for r in rows {
            let parent: String = r.try_get("", "parent")?;
            let Some(table) = TABLES.iter().find(|t| **t == parent) else {
                continue;
            };
            let name: String = r.try_get("", "name")?;
            let estimate: f64 = r.try_get("", "estimate")?;
            let record_count = if estimate >= 0.0 {
                estimate as i64
            } else if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT count(*) AS n FROM {name}"),
                    ))
                    .await?;
                row.map(|r| r.try_get::<i64>("", "n"))
                    .transpose()?
                    .unwrap_or(0)
            } else {
                0
            };
            out.push(PartitionRow {
                table,
                month: month_of_name(table, &name),
                name,
                size_bytes: r.try_get("", "size_bytes")?,
                record_count,
            });
        }
        return Ok(out);
    }
    for table in TABLES {
        let col = key_column(table);
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT substr({col}, 1, 7) AS ym, COUNT(*) AS n FROM {table} GROUP BY ym"),
            ))
            .await?;
        let mut months: std::collections::BTreeMap<NaiveDate, i64> =
            (0..=2).map(|o| (month_start(today, o), 0)).collect();
        for m in registered_months(db, table).await? {
            months.entry(m).or_insert(0);
        }
        for r in rows {
            let ym: Option<String> = r.try_get("", "ym")?;
            if let Some(m) =
                ym.and_then(|ym| NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").ok())
            {
                months.insert(m, r.try_get("", "n")?);
            }
        }
        for (m, n) in months {
            out.push(PartitionRow {
                table,
                name: partition_name(table, m),
                month: Some(m),
                size_bytes: 0,
                record_count: n,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// SQLite: the months registered for `table` through [`create_month`].
async fn registered_months(
    db: &impl ConnectionTrait,
    table: &str,
) -> Result<Vec<NaiveDate>, DbErr> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT month FROM capacity_month_buckets WHERE table_name = ?1",
            [table.into()],
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", "month").ok())
        .filter_map(|m| NaiveDate::parse_from_str(&m, "%Y-%m-%d").ok())
        .collect())
}

/// SQLite: the months of `table` that are listed today (rows or registered).
async fn list_table_months(
    db: &impl ConnectionTrait,
    table: &str,
) -> Result<Vec<NaiveDate>, DbErr> {
    let col = key_column(table);
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Sqlite,
            format!("SELECT DISTINCT substr({col}, 1, 7) AS ym FROM {table}"),
        ))
        .await?;
    let mut months = registered_months(db, table).await?;
    months.extend(
        rows.iter()
            .filter_map(|r| r.try_get::<Option<String>>("", "ym").ok().flatten())
            .filter_map(|ym| NaiveDate::parse_from_str(&format!("{ym}-01"), "%Y-%m-%d").ok()),
    );
    Ok(months)
}

/// What creating one month did per table: `(table, partition name, created?)`.
pub async fn create_month(
    db: &impl ConnectionTrait,
    month: NaiveDate,
) -> Result<Vec<(&'static str, String, bool)>, DbErr> {
    let m = month_start(month, 0);
    let mut out = Vec::new();
    for table in TABLES {
        let name = partition_name(table, m);
        if db.get_database_backend() != DbBackend::Postgres {
            // SQLite: the month bucket is registered so it is listed even while empty
            let listed = list_table_months(db, table).await?.contains(&m);
            let res = db
                .execute_raw(sea_orm::Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "INSERT INTO capacity_month_buckets (table_name, month) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    [table.into(), m.to_string().into()],
                ))
                .await?;
            out.push((table, name, res.rows_affected() == 1 && !listed));
            continue;
        }
        let existed = partition_exists(db, &name).await?;
        if !existed {
            db.execute_unprepared(&create_sql(table, m)).await?;
        }
        out.push((table, name, !existed));
    }
    Ok(out)
}

/// Drop every partition (SQLite: delete the rows) of a month before `cutoff`; returns the
/// `(table, partition name)` dropped. Months at or after `cutoff` are never touched.
pub async fn drop_before(
    db: &impl ConnectionTrait,
    cutoff: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<(&'static str, String)>, DbErr> {
    let cutoff = month_start(cutoff, 0);
    let mut dropped = Vec::new();
    for p in list(db, today).await? {
        let Some(m) = p.month else { continue };
        if m >= cutoff {
            continue;
        }
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {}", p.name))
                .await?;
        } else {
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!(
                    "DELETE FROM {} WHERE {} >= ?1 AND {} < ?2",
                    p.table,
                    key_column(p.table),
                    key_column(p.table)
                ),
                [m.into(), month_start(m, 1).into()],
            ))
            .await?;
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "DELETE FROM capacity_month_buckets WHERE table_name = ?1 AND month = ?2",
                [p.table.into(), m.to_string().into()],
            ))
            .await?;
        }
        dropped.push((p.table, p.name));
    }
    Ok(dropped)
}
