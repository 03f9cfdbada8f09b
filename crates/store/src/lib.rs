//! WhaleFall app store: SeaORM entities, migrations and repositories (`domain.md` §1).
//!
//! SQLite (a file under `userdata/`) is the embedded default, PostgreSQL the production store;
//! the same code serves both. Monthly partitions of the capacity tables exist only on
//! PostgreSQL (`domain.md` §6).

pub mod entity;
pub mod migration;
pub mod partitions;
pub mod repo;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

pub use migration::Migrator;
/// The app-store connection pool (SQLite or PostgreSQL) that services hand to repositories.
pub use sea_orm::DatabaseConnection as Store;
/// Store failure type.
pub use sea_orm::DbErr as StoreError;

/// Prepared statements kept per pooled connection (the app's hot statements fit easily).
pub const STATEMENT_CACHE: usize = 100;

/// Connect to the app store. `sqlite://path` URLs create the file (and its folder) when missing;
/// `postgres://` / `postgresql://` (also SQLAlchemy-style `postgresql+psycopg://`) select PostgreSQL.
pub async fn connect(
    url: &str,
    max_connections: u32,
    timeout_secs: u64,
) -> Result<DatabaseConnection, DbErr> {
    let url = normalize_url(url);
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if path != ":memory:"
            && !path.is_empty()
            && let Some(parent) = std::path::Path::new(path).parent()
        {
            let _ = std::fs::create_dir_all(parent);
        }
    }
    let url = if url.starts_with("sqlite://") && !url.contains("mode=") {
        format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
    } else {
        url
    };
    let url = with_generic_plans(url);
    let is_sqlite = url.starts_with("sqlite:");
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(if is_sqlite {
        max_connections.min(8)
    } else {
        max_connections
    })
    .min_connections(1)
    .acquire_timeout(Duration::from_secs(timeout_secs))
    // a connection is pinged before use only after 5 s idle (sqlx pings on every checkout by
    // default: one extra round trip per statement); a broken hot connection fails its
    // statement (503) and is dropped by the pool
    .test_before_acquire_if_idle_for(Duration::from_secs(5))
    .sqlx_logging(false);
    // Prepared statements are cached per connection; bulk writes (multi-row inserts, `IN`
    // lists of every size) would otherwise fill the default 100-entry caches of all pooled
    // connections with large one-off statements (tens of MB per connection in a fleet sync).
    opts.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(STATEMENT_CACHE))
        .map_sqlx_sqlite_opts(|o| o.statement_cache_capacity(STATEMENT_CACHE));
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
        db.execute_unprepared("PRAGMA busy_timeout=10000").await?;
        db.execute_unprepared("PRAGMA foreign_keys=ON").await?;
    }
    Ok(db)
}

/// On PostgreSQL, plan every prepared statement once per connection
/// (`plan_cache_mode=force_generic_plan`): the app's statements are short index lookups whose
/// custom re-planning on every execution cost more than their execution (0.7 ms vs 0.1 ms
/// for the instance page). Parallel workers are off for the same statements
/// (`max_parallel_workers_per_gather=0`): starting workers for a 20-row page cost more than the
/// page (5 ms vs 0.3 ms on the classified ledger) and 16 concurrent requests on 2 cores then
/// fight for workers. JIT compilation is off (`jit=off`): a generic plan's `LIMIT $n` is costed
/// as if it read the whole table, which on a 1,000,000-account ledger crossed the JIT
/// thresholds and compiled every 20-row page (43 ms instead of 0.4 ms, issue 12). An explicit
/// `options=` in the URL is left alone.
pub fn with_generic_plans(url: String) -> String {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        || url.contains("options=")
    {
        return url;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}options=-c%20plan_cache_mode%3Dforce_generic_plan%20-c%20max_parallel_workers_per_gather%3D0%20-c%20jit%3Doff"
    )
}

/// Accept SQLAlchemy-style URLs of the original (`postgresql+psycopg://`, `sqlite:///rel/path`).
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    if let Some(rest) = url
        .strip_prefix("postgresql+psycopg://")
        .or_else(|| url.strip_prefix("postgresql+psycopg2://"))
    {
        return format!("postgres://{rest}");
    }
    if let Some(rest) = url.strip_prefix("sqlite:///") {
        return format!("sqlite://{rest}");
    }
    url.to_string()
}

/// Apply pending migrations and, on PostgreSQL, make sure the partitions of the current and
/// the next two months exist (China time, `domain.md` §13.4 fix). On PostgreSQL nodes starting
/// together take turns: one connection of the pool holds a session advisory lock while the
/// migrations run, so a second node waits and then finds nothing to do (issue 16).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        Migrator::up(db, None).await?;
        return partitions::ensure_partitions(db, 2).await;
    }
    /// `pg_advisory_lock` key of the migrations ("whalefal" in ASCII).
    const MIGRATION_LOCK: i64 = 0x7768_616c_6566_616c;
    let sqlx_err = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("migration lock: {e}"));
    let mut holder = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(sqlx_err)?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *holder)
        .await
        .map_err(sqlx_err)?;
    let out = async {
        Migrator::up(db, None).await?;
        partitions::ensure_partitions(db, 2).await
    }
    .await;
    sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *holder)
        .await
        .map_err(sqlx_err)?;
    out
}

/// Begin a write transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction that
/// reads first and writes later cannot wait for a concurrent writer (SQLite answers
/// `SQLITE_BUSY`/`SQLITE_BUSY_SNAPSHOT` at once instead of using the busy timeout), so parallel
/// per-instance runs (fleet sync, capacity collection) would fail spuriously. On PostgreSQL a
/// plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// True when the store answers `SELECT 1` (health checks).
pub async fn ping(db: &DatabaseConnection) -> bool {
    use sea_orm::ConnectionTrait;
    let backend = db.get_database_backend();
    db.query_one_raw(sea_orm::Statement::from_string(backend, "SELECT 1"))
        .await
        .is_ok()
}

/// Whether a store error means the store cannot be reached (connection refused or lost, pool
/// checkout timed out, server shutting down) rather than a failed statement: the API answers
/// such errors 503 instead of 500 (issue 16).
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => match r {
            RuntimeErr::SqlxError(e) => match &**e {
                Sqlx::Io(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::WorkerCrashed
                | Sqlx::Tls(_)
                | Sqlx::Protocol(_) => true,
                // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08* connection exceptions
                Sqlx::Database(d) => d
                    .code()
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
                _ => false,
            },
            RuntimeErr::Internal(s) => unavailable_text(s),
            #[allow(unreachable_patterns)]
            _ => false,
        },
        // errors that crossed a cache's single-flight arrive as text
        DbErr::Custom(s) => unavailable_text(s),
        _ => false,
    }
}

fn unavailable_text(s: &str) -> bool {
    [
        "Failed to acquire connection",
        "pool timed out",
        "error communicating with database",
        "Connection refused",
        "connection closed",
        "terminating connection due to administrator command",
        "the database system is",
    ]
    .iter()
    .any(|p| s.contains(p))
}
