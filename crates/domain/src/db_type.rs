//! Database engine types (`domain.md` §0.1, `api-v1.md` §3.1).

/// The four managed engines, in the canonical option order.
pub const SUPPORTED: [&str; 4] = ["mysql", "postgresql", "sqlserver", "oracle"];

/// Normalise user input: trim, lower-case and map aliases (`mssql`, `sql server` →
/// `sqlserver`; `postgres`, `pg` → `postgresql`). Unknown values are returned lower-cased.
pub fn normalize(raw: &str) -> String {
    let v = raw.trim().to_lowercase();
    match v.as_str() {
        "mssql" | "sql server" => "sqlserver".into(),
        "postgres" | "pg" => "postgresql".into(),
        _ => v,
    }
}

/// One of the four managed engines (`api-v1.md` §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbType {
    MySql,
    PostgreSql,
    SqlServer,
    Oracle,
}

impl DbType {
    /// Parse user input through [`normalize`]; `None` for anything else.
    pub fn parse(raw: &str) -> Option<DbType> {
        match normalize(raw).as_str() {
            "mysql" => Some(DbType::MySql),
            "postgresql" => Some(DbType::PostgreSql),
            "sqlserver" => Some(DbType::SqlServer),
            "oracle" => Some(DbType::Oracle),
            _ => None,
        }
    }
    /// Canonical wire name (`mysql`, `postgresql`, `sqlserver`, `oracle`).
    pub fn as_str(self) -> &'static str {
        match self {
            DbType::MySql => "mysql",
            DbType::PostgreSql => "postgresql",
            DbType::SqlServer => "sqlserver",
            DbType::Oracle => "oracle",
        }
    }
}

/// True when `db_type` (already normalised) is one of the four engines.
pub fn is_supported(db_type: &str) -> bool {
    SUPPORTED.contains(&db_type)
}

/// Display name, e.g. `SQL Server`.
pub fn display_name(db_type: &str) -> &'static str {
    match db_type {
        "mysql" => "MySQL",
        "postgresql" => "PostgreSQL",
        "sqlserver" => "SQL Server",
        "oracle" => "Oracle Database",
        _ => "Unknown",
    }
}

/// Default TCP port of the engine.
pub fn default_port(db_type: &str) -> Option<u16> {
    match db_type {
        "mysql" => Some(3306),
        "postgresql" => Some(5432),
        "sqlserver" => Some(1433),
        "oracle" => Some(1521),
        _ => None,
    }
}

/// Database used when an instance has no `database_name` (Oracle: SERVICE_NAME).
pub fn default_schema(db_type: &str) -> &'static str {
    match db_type {
        "mysql" => "mysql",
        "postgresql" => "postgres",
        "sqlserver" => "master",
        "oracle" => "ORCL",
        _ => "",
    }
}

/// Font-awesome icon of the engine.
pub fn icon(db_type: &str) -> &'static str {
    if db_type == "sqlserver" {
        "fa-server"
    } else {
        "fa-database"
    }
}

/// Theme colour key of the engine.
pub fn color(db_type: &str) -> &'static str {
    match db_type {
        "mysql" => "primary",
        "postgresql" => "info",
        "sqlserver" => "warning",
        "oracle" => "danger",
        _ => "secondary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn aliases() {
        assert_eq!(normalize(" MSSQL "), "sqlserver");
        assert_eq!(normalize("Sql Server"), "sqlserver");
        assert_eq!(normalize("PG"), "postgresql");
        assert_eq!(normalize("postgres"), "postgresql");
        assert_eq!(normalize("MySQL"), "mysql");
        assert!(!is_supported(&normalize("sqlite")));
        assert_eq!(default_port("oracle"), Some(1521));
    }
}
