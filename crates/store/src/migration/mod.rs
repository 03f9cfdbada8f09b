//! Schema migrations (`domain.md` §1). One migration holds the whole data model; PostgreSQL
//! gets the four capacity tables range-partitioned by month, SQLite plain tables.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::prelude::*;

/// The migrator run by `whalefall migrate` and on `serve` start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(M0001Baseline)]
    }
}

/// Baseline schema.
pub struct M0001Baseline;

impl MigrationName for M0001Baseline {
    fn name(&self) -> &str {
        "m0001_baseline"
    }
}

/// The capacity tables, written once for PostgreSQL (range-partitioned by month).
const CAPACITY: &str = include_str!("capacity.sql");

/// The SQLite form of the capacity DDL: no partitioning, so the surrogate id alone is the
/// primary key (PostgreSQL needs the partition key in it).
fn unpartitioned(ddl: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in ddl.lines() {
        let t = line.trim();
        if t.starts_with("PRIMARY KEY (id, ") {
            // when the key was the last entry, the column before it loses its comma
            if !t.ends_with(',')
                && let Some(prev) = out.last_mut()
            {
                *prev = prev.trim_end_matches(',').to_string();
            }
            continue;
        }
        if t.contains("PARTITION BY RANGE") {
            out.push(format!(
                "{});",
                line.split(") PARTITION BY RANGE").next().unwrap_or(line)
            ));
            continue;
        }
        out.push(line.replace("bigserial NOT NULL", "INTEGER PRIMARY KEY AUTOINCREMENT"));
    }
    out.join("\n")
        .replace("timestamptz", "TEXT")
        .replace("now()", "CURRENT_TIMESTAMP")
}

/// Render the portable DDL for one backend.
pub fn render_schema(backend: DbBackend) -> String {
    let base = include_str!("schema.sql");
    let (pk, bigpk, ts, json, now) = match backend {
        DbBackend::Postgres => (
            "SERIAL PRIMARY KEY",
            "BIGSERIAL PRIMARY KEY",
            "timestamptz",
            "jsonb",
            "now()",
        ),
        _ => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT",
            "TEXT",
            "CURRENT_TIMESTAMP",
        ),
    };
    let capacity = match backend {
        DbBackend::Postgres => CAPACITY.to_string(),
        _ => unpartitioned(CAPACITY),
    };
    format!("{}\n{}", base, capacity)
        .replace("{PK}", pk)
        .replace("{BIGPK}", bigpk)
        .replace("{TS}", ts)
        .replace("{JSON}", json)
        .replace("{NOW}", now)
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Baseline {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = render_schema(manager.get_database_backend());
        for stmt in sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.lines().all(|l| l.trim().starts_with("--")))
        {
            db.execute_unprepared(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the baseline cannot be rolled back".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_capacity_ddl_is_unpartitioned() {
        let sql = render_schema(DbBackend::Sqlite);
        assert!(
            !sql.contains("PARTITION BY")
                && !sql.contains("PRIMARY KEY (id, ")
                && !sql.contains("bigserial")
        );
        assert!(sql.contains(
            "CREATE TABLE database_size_stats (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,"
        ));
        assert!(
            sql.contains("    updated_at TEXT DEFAULT CURRENT_TIMESTAMP\n);"),
            "no dangling comma before a dropped key"
        );
        let pg = render_schema(DbBackend::Postgres);
        assert_eq!(pg.matches("PARTITION BY RANGE").count(), 4);
    }
}
