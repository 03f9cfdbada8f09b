//! Cache generations (issue 16): one counter per cache area in `cache_generations`, so every
//! node of a PostgreSQL store can tell whether what it keeps in memory is still true. A write
//! bumps its areas after it committed and before it is acknowledged; a reader loads all
//! counters in one statement and keys its cached values by them.

use sea_orm::{ConnectionTrait, DbErr, Statement};

/// Every area's counter, as `(area, generation)` rows (6 rows, one primary-key index).
pub async fn read_all(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT area, generation FROM cache_generations",
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "area")?, r.try_get("", "generation")?)))
        .collect()
}

/// Add one to the counters of `areas` (autocommit; unknown areas are ignored).
pub async fn bump(db: &impl ConnectionTrait, areas: &[&str]) -> Result<(), DbErr> {
    if areas.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let list: Vec<String> = (1..=areas.len())
        .map(|i| super::param(backend, i))
        .collect();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "UPDATE cache_generations SET generation = generation + 1 WHERE area IN ({})",
            list.join(", ")
        ),
        areas.iter().map(|a| (*a).into()),
    ))
    .await?;
    Ok(())
}
