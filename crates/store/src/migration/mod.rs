//! Schema migrations (`domain.md` §1). One migration holds the whole data model; PostgreSQL
//! gets the four capacity tables range-partitioned by month, SQLite plain tables.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::prelude::*;

/// The migrator run by `whalefall migrate` and on `serve` start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Baseline),
            Box::new(M0002SyncStatuses),
            Box::new(M0003InsecureTls),
            Box::new(M0004PermissionCatalogue),
            Box::new(M0005AssignmentWrites),
            Box::new(M0006AggregationOrder),
            Box::new(M0007LogSearch),
            Box::new(M0008FleetScale),
            Box::new(M0009SharedNodes),
        ]
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

/// Issue 8: a session a dead process left `running` becomes `interrupted`; an instance record
/// can be `skipped` (another sync held the instance) or `cancelled` (never started because
/// its session was cancelled).
pub struct M0002SyncStatuses;

impl MigrationName for M0002SyncStatuses {
    fn name(&self) -> &str {
        "m0002_sync_statuses"
    }
}

const SESSION_STATUSES_OLD: &str =
    "'running','completed','completed_with_errors','failed','cancelled'";
const SESSION_STATUSES: &str =
    "'running','completed','completed_with_errors','failed','cancelled','interrupted'";
const RECORD_STATUSES_OLD: &str = "'pending','running','completed','failed'";
const RECORD_STATUSES: &str = "'pending','running','completed','failed','skipped','cancelled'";

#[async_trait::async_trait]
impl MigrationTrait for M0002SyncStatuses {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for (table, values) in [
                    ("sync_sessions", SESSION_STATUSES),
                    ("sync_instance_records", RECORD_STATUSES),
                ] {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_status_check"
                    ))
                    .await?;
                    db.execute_unprepared(&format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {table}_status_check CHECK (status IN ({values}))"
                    ))
                    .await?;
                }
            }
            _ => {
                // SQLite cannot alter a CHECK constraint: rebuild both tables. Renaming the
                // parent first makes the old child reference the old parent, so dropping the
                // old pair never cascades into the new tables.
                let ddl = render_schema(DbBackend::Sqlite);
                let statement = |prefix: &str| {
                    ddl.split(';')
                        .map(str::trim)
                        .filter(|s| s.starts_with(prefix))
                        .map(String::from)
                        .collect::<Vec<_>>()
                };
                let sessions = statement("CREATE TABLE sync_sessions (")
                    .concat()
                    .replace(SESSION_STATUSES_OLD, SESSION_STATUSES);
                let records = statement("CREATE TABLE sync_instance_records (")
                    .concat()
                    .replace(RECORD_STATUSES_OLD, RECORD_STATUSES);
                let mut indexes = statement("CREATE INDEX ix_sync_sessions_");
                indexes.extend(statement("CREATE INDEX ix_sync_instance_records_"));
                let script: Vec<String> = [
                    "ALTER TABLE sync_instance_records RENAME TO sync_instance_records_old"
                        .to_string(),
                    "ALTER TABLE sync_sessions RENAME TO sync_sessions_old".into(),
                    sessions,
                    "INSERT INTO sync_sessions SELECT * FROM sync_sessions_old".into(),
                    records,
                    "INSERT INTO sync_instance_records SELECT * FROM sync_instance_records_old"
                        .into(),
                    "DROP TABLE sync_instance_records_old".into(),
                    "DROP TABLE sync_sessions_old".into(),
                ]
                .into_iter()
                .chain(indexes)
                .collect();
                // one script on one connection, in one transaction: a pooled connection with
                // an older view of the schema never sees half of the rebuild
                db.execute_unprepared(&format!("BEGIN; {}; COMMIT;", script.join(";\n")))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0002 cannot be rolled back".into()))
    }
}

/// Issue 8: the per-instance choice to connect to an old SQL Server without TLS.
pub struct M0003InsecureTls;

impl MigrationName for M0003InsecureTls {
    fn name(&self) -> &str {
        "m0003_instance_insecure_tls"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003InsecureTls {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE instances ADD COLUMN insecure_tls boolean NOT NULL DEFAULT false",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0003 cannot be rolled back".into()))
    }
}

/// Issue 9: the permission catalogue of the rule builder (`domain.md` §1.20), seeded from
/// `permission_catalogue.psv` (`db_type|category|permission_name|introduced_in_major|description`,
/// `sort_order` = position within the category). Inserted `ON CONFLICT DO NOTHING`, so rows an
/// operator edited or disabled are kept.
pub struct M0004PermissionCatalogue;

impl MigrationName for M0004PermissionCatalogue {
    fn name(&self) -> &str {
        "m0004_permission_catalogue"
    }
}

/// The seed of `permission_configs`.
pub const PERMISSION_CATALOGUE: &str = include_str!("permission_catalogue.psv");

/// `INSERT … ON CONFLICT DO NOTHING` statements of the catalogue seed, 100 rows each
/// (SQLite ≥ 3.24 and PostgreSQL share the syntax).
pub fn permission_seed_statements() -> Vec<String> {
    let quote = |s: &str| {
        if s.is_empty() {
            "NULL".to_string()
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    };
    let mut order: std::collections::HashMap<(String, String), i32> = Default::default();
    let rows: Vec<String> = PERMISSION_CATALOGUE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let n = order.entry((f[0].into(), f[1].into())).or_insert(0);
            *n += 1;
            format!(
                "({}, {}, {}, {}, {}, {})",
                quote(f[0]),
                quote(f[1]),
                quote(f[2]),
                quote(f.get(4).copied().unwrap_or("")),
                *n,
                quote(f.get(3).copied().unwrap_or(""))
            )
        })
        .collect();
    rows.chunks(100)
        .map(|c| {
            format!(
                "INSERT INTO permission_configs (db_type, category, permission_name, description, \
                 sort_order, introduced_in_major) VALUES {} ON CONFLICT DO NOTHING",
                c.join(", ")
            )
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for M0004PermissionCatalogue {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for stmt in permission_seed_statements() {
            db.execute_unprepared(&stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0004 cannot be rolled back".into()))
    }
}

/// Issue 9: auto-classification writes hundreds of thousands of assignments in one
/// transaction; on PostgreSQL the per-row foreign-key triggers of `account_id`,
/// `classification_id` and `rule_id` took 3.9 s of the 5.7 s needed to insert 395,000 rows,
/// and the boolean index `ix_aca_is_active` is never chosen. Both go on PostgreSQL; the
/// repositories keep the references true in the same transaction (the instance purge deletes
/// the assignments of its accounts, a rule delete clears `rule_id`, a classification delete
/// removes its inactive assignments). SQLite keeps its constraints (dropping one there means a
/// table rebuild, and the embedded store is not where fleets of this size live).
pub struct M0005AssignmentWrites;

impl MigrationName for M0005AssignmentWrites {
    fn name(&self) -> &str {
        "m0005_assignment_writes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005AssignmentWrites {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE account_classification_assignments \
             DROP CONSTRAINT IF EXISTS account_classification_assignments_account_id_fkey, \
             DROP CONSTRAINT IF EXISTS account_classification_assignments_classification_id_fkey, \
             DROP CONSTRAINT IF EXISTS account_classification_assignments_rule_id_fkey",
        )
        .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_aca_is_active")
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0005 cannot be rolled back".into()))
    }
}

/// Issue 10: the aggregation lists read newest periods first (`period_start DESC, id DESC`);
/// with this index the page is an ordered walk over the partitions (0.1 ms) instead of a sort
/// of every row (3.7 ms at 5,000 rows). On PostgreSQL the index is partitioned: every present
/// and future partition gets it.
pub struct M0006AggregationOrder;

impl MigrationName for M0006AggregationOrder {
    fn name(&self) -> &str {
        "m0006_aggregation_order"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0006AggregationOrder {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table) in [
            ("ix_isa_start_id", "instance_size_aggregations"),
            ("ix_dsa_start_id", "database_size_aggregations"),
        ] {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {table} (period_start DESC, id DESC)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0006 cannot be rolled back".into()))
    }
}

/// Issue 11: substring search over the log centre (`message` or the context's JSON text) on
/// PostgreSQL goes through trigram GIN indexes (`pg_trgm`, a trusted extension); without
/// the extension (no privilege) the indexes are skipped and search scans. Their pending
/// lists are 64 MB so the writer's inserts append and the index work is done in bulk. The
/// `(module, timestamp)` and `(level, timestamp)` b-trees go: the module filter is a substring
/// match they never served, a level filter walks the timestamp index (the newest page of a
/// level is found within a few hundred rows), and every logged event paid for both.
/// SQLite: nothing.
pub struct M0007LogSearch;

impl MigrationName for M0007LogSearch {
    fn name(&self) -> &str {
        "m0007_log_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0007LogSearch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "DO $$ BEGIN \
                   CREATE EXTENSION IF NOT EXISTS pg_trgm; \
                   CREATE INDEX IF NOT EXISTS ix_unified_logs_message_trgm ON unified_logs USING gin (message gin_trgm_ops) \
                     WITH (gin_pending_list_limit = 65536); \
                   CREATE INDEX IF NOT EXISTS ix_unified_logs_context_trgm ON unified_logs USING gin ((CAST(context AS TEXT)) gin_trgm_ops) \
                     WITH (gin_pending_list_limit = 65536); \
                   DROP INDEX IF EXISTS ix_unified_logs_module_timestamp; \
                   DROP INDEX IF EXISTS ix_unified_logs_level_timestamp; \
                 EXCEPTION WHEN insufficient_privilege OR undefined_file THEN \
                   RAISE NOTICE 'pg_trgm unavailable: log search without trigram indexes'; \
                 END $$",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0007 cannot be rolled back".into()))
    }
}

/// Issue 12: list pages whose cost does not grow with the fleet. On both stores: b-trees in
/// the lists' sort orders (`instances (id) / (name, id)` of live instances, `account_permission
/// (username, id)`, `instance_accounts (id) WHERE is_active`, the credential, tag and session
/// list orders) so a page — deep pages too — is
/// read from an index before rows are fetched. On PostgreSQL: trigram GIN indexes for the
/// case-insensitive substring searches (`lower(name|host|description)` of instances,
/// `lower(username)` of accounts), written through (`fastupdate = off`): a pending list of
/// freshly imported rows is scanned by every search until a vacuum (100 ms instead of 1.7 ms
/// after importing 10,000 instances). Without `pg_trgm` they are skipped and search scans.
pub struct M0008FleetScale;

impl MigrationName for M0008FleetScale {
    fn name(&self) -> &str {
        "m0008_fleet_scale"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0008FleetScale {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX IF NOT EXISTS ix_instances_live_id ON instances (id) WHERE deleted_at IS NULL",
            "CREATE INDEX IF NOT EXISTS ix_instances_live_name ON instances (name, id) WHERE deleted_at IS NULL",
            "CREATE INDEX IF NOT EXISTS ix_account_permission_username_id ON account_permission (username, id)",
            "CREATE INDEX IF NOT EXISTS ix_instance_accounts_active_id ON instance_accounts (id) WHERE is_active",
            "CREATE INDEX IF NOT EXISTS ix_credentials_created_id ON credentials (created_at DESC, id DESC)",
            "CREATE INDEX IF NOT EXISTS ix_tags_list_order ON tags (category, display_name, name, created_at DESC)",
            "CREATE INDEX IF NOT EXISTS ix_sync_sessions_started_id ON sync_sessions (started_at DESC, id DESC)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared(
            "DO $$ BEGIN \
               CREATE EXTENSION IF NOT EXISTS pg_trgm; \
               CREATE INDEX IF NOT EXISTS ix_instances_name_trgm ON instances USING gin (lower(name) gin_trgm_ops) WITH (fastupdate = off); \
               CREATE INDEX IF NOT EXISTS ix_instances_host_trgm ON instances USING gin (lower(host) gin_trgm_ops) WITH (fastupdate = off); \
               CREATE INDEX IF NOT EXISTS ix_instances_description_trgm ON instances USING gin (lower(description) gin_trgm_ops) WITH (fastupdate = off); \
               CREATE INDEX IF NOT EXISTS ix_account_permission_username_trgm ON account_permission USING gin (lower(username) gin_trgm_ops) WITH (fastupdate = off); \
             EXCEPTION WHEN insufficient_privilege OR undefined_file THEN \
               RAISE NOTICE 'pg_trgm unavailable: list search without trigram indexes'; \
             END $$",
        )
        .await
        .map(|_| ())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0008 cannot be rolled back".into()))
    }
}

/// Issue 16: several nodes on one store. `cache_generations` holds one counter per cache area
/// (bumped after every acknowledged write of the area, read once per request on PostgreSQL),
/// and the per-instance records of a session become a queue: `claimed_by` / `lease_expires_at`
/// say which node works on an item and until when its lease holds (renewed by a heartbeat,
/// re-claimed by any node once expired), `attempts` how often it was claimed.
pub struct M0009SharedNodes;

impl MigrationName for M0009SharedNodes {
    fn name(&self) -> &str {
        "m0009_shared_nodes"
    }
}

/// The cache areas with a generation row (`wf_services::context::Area`).
pub const CACHE_AREAS: [&str; 6] = [
    "users",
    "instances",
    "accounts",
    "capacity",
    "logs",
    "rules",
];

#[async_trait::async_trait]
impl MigrationTrait for M0009SharedNodes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let ts = match manager.get_database_backend() {
            DbBackend::Postgres => "timestamptz",
            _ => "TEXT",
        };
        let mut sql = vec![
            "CREATE TABLE IF NOT EXISTS cache_generations (area varchar(32) PRIMARY KEY, generation bigint NOT NULL DEFAULT 0)".to_string(),
            "ALTER TABLE sync_instance_records ADD COLUMN claimed_by varchar(128)".into(),
            format!("ALTER TABLE sync_instance_records ADD COLUMN lease_expires_at {ts}"),
            "ALTER TABLE sync_instance_records ADD COLUMN attempts integer NOT NULL DEFAULT 0".into(),
            "CREATE INDEX IF NOT EXISTS ix_sync_instance_records_open ON sync_instance_records (id) WHERE status IN ('pending','running')".into(),
            // SQLite's month buckets created through `POST /partition/create` (listed even empty)
            "CREATE TABLE IF NOT EXISTS capacity_month_buckets (table_name varchar(64) NOT NULL, month varchar(10) NOT NULL, PRIMARY KEY (table_name, month))".into(),
        ];
        for area in CACHE_AREAS {
            sql.push(format!(
                "INSERT INTO cache_generations (area, generation) VALUES ('{area}', 0) ON CONFLICT (area) DO NOTHING"
            ));
        }
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("m0009 cannot be rolled back".into()))
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

    #[test]
    fn permission_catalogue_has_the_documented_sizes() {
        let count = |db: &str, cat: &str| {
            PERMISSION_CATALOGUE
                .lines()
                .filter(|l| l.starts_with(&format!("{db}|{cat}|")))
                .count()
        };
        for (db, cat, n) in [
            ("mysql", "global_privileges", 73),
            ("mysql", "database_privileges", 17),
            ("postgresql", "database_privileges", 4),
            ("postgresql", "predefined_roles", 15),
            ("postgresql", "role_attributes", 8),
            ("sqlserver", "server_roles", 19),
            ("sqlserver", "server_permissions", 19),
            ("sqlserver", "database_roles", 9),
            ("sqlserver", "database_privileges", 20),
            ("oracle", "roles", 68),
            ("oracle", "system_privileges", 223),
        ] {
            assert_eq!(count(db, cat), n, "{db} {cat}");
        }
        let stmts = permission_seed_statements();
        assert_eq!(stmts.len(), 5);
        assert!(stmts[0].contains("('mysql', 'global_privileges', 'SELECT', '查询数据', 1, NULL)"));
    }
}
