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

/// First day of the month `offset` months after the month of `d`.
pub fn month_start(d: NaiveDate, offset: i32) -> NaiveDate {
    let idx = d.year() * 12 + d.month0() as i32 + offset;
    NaiveDate::from_ymd_opt(idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
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
    for offset in 0..=months_ahead {
        let start = month_start(today, offset);
        let end = month_start(today, offset + 1);
        for table in TABLES {
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS {table}_{y:04}_{m:02} PARTITION OF {table} FOR VALUES FROM ('{start}') TO ('{end}')",
                y = start.year(),
                m = start.month()
            );
            db.execute_unprepared(&sql).await?;
        }
    }
    Ok(())
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
