//! Database inventory and size collection per engine (`domain.md` §5.2–§5.3): the catalogue
//! SQL and the mapping of its rows. Sizes are whole MB; each engine keeps the original's
//! rounding (MySQL rounds up with a 1 MB minimum, the others truncate) so figures stay
//! comparable with the history a DBA already has.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::text;

/// One database of the remote inventory (Oracle: a tablespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDatabase {
    pub name: String,
    /// System database by the engine's own rule (MySQL: none, its system schemas are left
    /// to the exclusion filter).
    pub is_system: bool,
}

/// One collected database size, MB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSize {
    pub name: String,
    pub size_mb: i64,
    pub data_size_mb: Option<i64>,
    pub log_size_mb: Option<i64>,
}

/// PostgreSQL inventory: connectable databases (templates are system).
pub const PG_DATABASES_SQL: &str =
    "SELECT datname, datistemplate FROM pg_database WHERE datallowconn = TRUE ORDER BY datname";
/// PostgreSQL sizes (floor MB) of every non-template database.
pub const PG_SIZES_SQL: &str = "SELECT datname AS database_name, pg_database_size(datname) / 1024 / 1024 AS size_mb \
FROM pg_database WHERE datistemplate = false AND datallowconn = true ORDER BY size_mb DESC, datname";

/// MySQL inventory (what `SHOW DATABASES` lists, as text).
pub const MYSQL_DATABASES_SQL: &str = "SELECT CAST(SCHEMA_NAME AS CHAR) AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME";
/// MySQL permission probe before collecting.
pub const MYSQL_PROBE_SQL: &str = "SELECT COUNT(*) FROM information_schema.SCHEMATA";
/// MySQL 8 InnoDB tablespace files.
pub const MYSQL_TABLESPACES_SQL: &str = "SELECT CAST(ts.NAME AS CHAR) AS name, CAST(ts.FILE_SIZE AS SIGNED) AS file_size FROM information_schema.INNODB_TABLESPACES ts";
/// MySQL 5.7 / MariaDB InnoDB tablespace files.
pub const MYSQL_SYS_TABLESPACES_SQL: &str = "SELECT CAST(ts.NAME AS CHAR) AS name, CAST(ts.FILE_SIZE AS SIGNED) AS file_size FROM information_schema.INNODB_SYS_TABLESPACES ts";

/// The tablespace views to try, in order, by the instance's main version: 8.x prefers
/// `INNODB_TABLESPACES`, 5.x and MariaDB (10.x, 11.x) `INNODB_SYS_TABLESPACES`.
pub fn mysql_tablespace_views(main_version: Option<&str>) -> [&'static str; 2] {
    match main_version.unwrap_or("") {
        v if v.starts_with('5') || v.starts_with("10") || v.starts_with("11") => {
            [MYSQL_SYS_TABLESPACES_SQL, MYSQL_TABLESPACES_SQL]
        }
        _ => [MYSQL_TABLESPACES_SQL, MYSQL_SYS_TABLESPACES_SQL],
    }
}

/// MySQL sizes from tablespace rows `(NAME, FILE_SIZE bytes)`: the database is the part of
/// the name before `/` (file-name escapes decoded), bytes summed per database, every database
/// of `databases` without InnoDB files gets 0 MB.
pub fn mysql_sizes(tablespaces: &[(String, i64)], databases: &[String]) -> Vec<DatabaseSize> {
    let mut bytes: BTreeMap<String, i64> = BTreeMap::new();
    for (name, size) in tablespaces {
        if let Some((db, _)) = name.split_once('/') {
            *bytes
                .entry(wf_domain::capacity::mysql_decode_name(db))
                .or_default() += (*size).max(0);
        }
    }
    for d in databases {
        bytes.entry(d.clone()).or_insert(0);
    }
    bytes
        .into_iter()
        .map(|(name, b)| {
            let mb = wf_domain::capacity::mysql_size_mb(b);
            DatabaseSize {
                name,
                size_mb: mb,
                data_size_mb: Some(mb),
                log_size_mb: None,
            }
        })
        .collect()
}

/// SQL Server inventory (`database_id <= 4` are the system databases).
pub const SQLSERVER_DATABASES_SQL: &str = "SELECT name, CASE WHEN database_id <= 4 THEN 1 ELSE 0 END AS is_system \
FROM sys.databases WHERE name IS NOT NULL ORDER BY name";
/// SQL Server sizes: data files (`ROWS`) as the size, log files collected too (the
/// original ignored them, `domain.md` §13.3 #23); 8 KB pages to MB, truncated.
pub const SQLSERVER_SIZES_SQL: &str = "SELECT DB_NAME(database_id) AS database_name, \
CAST(SUM(CASE WHEN type_desc = 'ROWS' THEN size * 8.0 / 1024 ELSE 0 END) AS BIGINT) AS data_mb, \
CAST(SUM(CASE WHEN type_desc = 'LOG' THEN size * 8.0 / 1024 ELSE 0 END) AS BIGINT) AS log_mb \
FROM sys.master_files WHERE DB_NAME(database_id) IS NOT NULL GROUP BY database_id ORDER BY data_mb DESC";

/// Oracle inventory: tablespaces with data files.
pub const ORACLE_DATABASES_SQL: &str = "SELECT DISTINCT tablespace_name FROM dba_data_files WHERE tablespace_name IS NOT NULL ORDER BY tablespace_name";
/// Oracle sizes: allocated data-file size per tablespace (temp files excluded), truncated.
pub const ORACLE_SIZES_SQL: &str = "SELECT tablespace_name AS database_name, TRUNC(SUM(bytes) / 1024 / 1024) AS size_mb \
FROM dba_data_files GROUP BY tablespace_name ORDER BY size_mb DESC";

fn int(row: &Map<String, Value>, k: &str) -> Option<i64> {
    match row.get(k) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().map(|f| f.trunc() as i64),
        Some(Value::Bool(b)) => Some(*b as i64),
        _ => None,
    }
}

/// Inventory rows `{name, is_system}` (SQL Server) or `{TABLESPACE_NAME}` (Oracle) read as
/// JSON maps; blank names are skipped.
pub fn map_inventory(db_type: &str, rows: &[Map<String, Value>]) -> Vec<RemoteDatabase> {
    rows.iter()
        .filter_map(|r| {
            let (name, is_system) = match db_type {
                "oracle" => (text(r, "TABLESPACE_NAME")?, false),
                _ => (text(r, "name")?, int(r, "is_system").unwrap_or(0) != 0),
            };
            let name = name.trim().to_string();
            (!name.is_empty()).then_some(RemoteDatabase { name, is_system })
        })
        .collect()
}

/// Size rows of SQL Server (`database_name, data_mb, log_mb`) or Oracle (`DATABASE_NAME,
/// SIZE_MB`) read as JSON maps.
pub fn map_sizes(db_type: &str, rows: &[Map<String, Value>]) -> Vec<DatabaseSize> {
    rows.iter()
        .filter_map(|r| match db_type {
            "oracle" => {
                let name = text(r, "DATABASE_NAME")?;
                let mb = int(r, "SIZE_MB").unwrap_or(0).max(0);
                Some(DatabaseSize {
                    name,
                    size_mb: mb,
                    data_size_mb: Some(mb),
                    log_size_mb: None,
                })
            }
            _ => {
                let name = text(r, "database_name")?;
                let data = int(r, "data_mb").unwrap_or(0).max(0);
                Some(DatabaseSize {
                    name,
                    size_mb: data,
                    data_size_mb: Some(data),
                    log_size_mb: int(r, "log_mb"),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_sums_files_per_database() {
        let ts = vec![
            ("innodb_system".to_string(), 12_582_912),
            ("shop/orders".to_string(), 3 * 1_048_576),
            ("shop/items".to_string(), 1),
            ("my@002ddb/t".to_string(), 98_304),
        ];
        let sizes = mysql_sizes(&ts, &["empty".into(), "shop".into()]);
        let get = |n: &str| sizes.iter().find(|s| s.name == n).unwrap().size_mb;
        assert_eq!(get("shop"), 4);
        assert_eq!(get("my-db"), 1);
        assert_eq!(get("empty"), 0);
        assert!(!sizes.iter().any(|s| s.name == "innodb_system"));
        assert_eq!(
            mysql_tablespace_views(Some("10.11"))[0],
            MYSQL_SYS_TABLESPACES_SQL
        );
        assert_eq!(
            mysql_tablespace_views(Some("8.0"))[0],
            MYSQL_TABLESPACES_SQL
        );
        assert_eq!(mysql_tablespace_views(None)[0], MYSQL_TABLESPACES_SQL);
    }
}
