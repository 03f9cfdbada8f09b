//! Leases in the store (`scheduler_leases`, `domain.md` §13.2 #14): a named lease is held by
//! one holder until it expires or is released, so the same instance is never synced twice at
//! once — across requests, background runs and `whalefall serve` nodes sharing the store.
//! Acquisition is one atomic upsert on both SQLite (3.24+) and PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement};

fn placeholders(db: &impl ConnectionTrait, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| super::param(db.get_database_backend(), i))
        .collect()
}

/// Take the lease `name` for `holder` for `ttl` when it is free, expired or already held by
/// `holder` (renewal). Returns whether `holder` now holds it.
pub async fn try_acquire(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let p = placeholders(db, 4);
    let sql = format!(
        "INSERT INTO scheduler_leases (name, holder, expires_at) VALUES ({}, {}, {}) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE scheduler_leases.expires_at < {} OR scheduler_leases.holder = excluded.holder",
        p[0], p[1], p[2], p[3]
    );
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [name.into(), holder.into(), (now + ttl).into(), now.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Give the lease back (only its holder can).
pub async fn release(db: &impl ConnectionTrait, name: &str, holder: &str) -> Result<(), DbErr> {
    let p = placeholders(db, 2);
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "DELETE FROM scheduler_leases WHERE name = {} AND holder = {}",
            p[0], p[1]
        ),
        [name.into(), holder.into()],
    ))
    .await?;
    Ok(())
}

/// The names among `names` whose lease is live (not expired) at `now`.
pub async fn live(
    db: &impl ConnectionTrait,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    use crate::entity::scheduler_lease as l;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if names.is_empty() {
        return Ok(Vec::new());
    }
    l::Entity::find()
        .select_only()
        .column(l::Column::Name)
        .filter(l::Column::Name.is_in(names.to_vec()))
        .filter(l::Column::ExpiresAt.gt(now))
        .into_tuple()
        .all(db)
        .await
}
