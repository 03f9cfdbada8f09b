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
        DbBackend::Postgres => include_str!("capacity_postgres.sql"),
        _ => include_str!("capacity_sqlite.sql"),
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
