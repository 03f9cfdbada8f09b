//! Oracle adapter over the `oracledb` crate, Oracle's pure-Rust thin driver (no Instant
//! Client); its blocking API runs on `spawn_blocking`. `domain.md` §2.3–§2.4 with the fixes of
//! §13.1 #4–#5 and #12: exclusion users **and patterns** applied in SQL (escaped), the
//! listing seed (`account_status`, `default_tablespace`, …) merged into the payload so locked
//! accounts are detected, superuser derived from facts (the `DBA` role), and grants read in
//! bulk — three statements per instance whatever the number of users.
//!
//! No Oracle server runs on the build machine: the SQL text and the row mapping are tested on
//! recorded rows ([`OraRow`] maps), so the mapping is pure.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::{
    CONNECT_TIMEOUT, ConnParams, EngineAdapter, EngineError, RemoteAccount, STATEMENT_TIMEOUT_SECS,
    like_escape, query_err, text,
};

/// Users never listed (`domain.md` §2.3).
pub const EXCLUDE_USERS: [&str; 58] = [
    "SCOTT",
    "CTXSYS",
    "EXFSYS",
    "MDDATA",
    "APPQOSSYS",
    "OUTLN",
    "DIP",
    "TSMSYS",
    "WMSYS",
    "XDB",
    "ANONYMOUS",
    "ORDPLUGINS",
    "ORDSYS",
    "SI_INFORMTN_SCHEMA",
    "MDSYS",
    "OLAPSYS",
    "SPATIAL_CSW_ADMIN_USR",
    "SPATIAL_WFS_ADMIN_USR",
    "APEX_PUBLIC_USER",
    "APEX_030200",
    "FLOWS_FILES",
    "HR",
    "OE",
    "PM",
    "IX",
    "SH",
    "BI",
    "DEMO",
    "ADMIN",
    "AUDSYS",
    "GSMADMIN_INTERNAL",
    "GSMCATUSER",
    "GSMUSER",
    "LBACSYS",
    "OJVMSYS",
    "ORACLE_OCM",
    "ORDDATA",
    "ORDPLUGINS",
    "ORDS_METADATA",
    "ORDS_PUBLIC_USER",
    "PDBADMIN",
    "RDSADMIN",
    "REMOTE_SCHEDULER_AGENT",
    "SYSBACKUP",
    "SYSDG",
    "SYSKM",
    "SYSRAC",
    "SYS$UMF",
    "XS$NULL",
    "OWBSYS",
    "OWBSYS_AUDIT",
    "DBSNMP",
    "DVSYS",
    "DVF",
    "GGSYS",
    "SYSMAN",
    "MGMT_VIEW",
    "OLAPSYS",
];
/// User name prefixes never listed (`%` appended, escaped in SQL).
pub const EXCLUDE_PREFIXES: [&str; 6] = ["SYS$", "GSM", "XDB", "APEX", "ORD", "SPATIAL_"];

/// One result row as upper-case column name → JSON value.
pub type OraRow = Map<String, Value>;

/// The user filter shared by the three statements (constants of this module, quoted).
pub fn user_filter(column: &str) -> String {
    let mut users: Vec<&str> = EXCLUDE_USERS.to_vec();
    users.sort_unstable();
    users.dedup();
    let list = users
        .iter()
        .map(|u| format!("'{}'", u.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let patterns = EXCLUDE_PREFIXES
        .iter()
        .map(|p| {
            format!(
                " AND {column} NOT LIKE '{}%' ESCAPE '\\'",
                like_escape(p).replace('\'', "''")
            )
        })
        .collect::<String>();
    format!("{column} NOT IN ({list}){patterns}")
}

/// Users with their attributes (dates as ISO text).
pub fn users_sql() -> String {
    format!(
        "SELECT username, user_id, account_status, default_tablespace, authentication_type,
    TO_CHAR(lock_date, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS lock_date,
    TO_CHAR(expiry_date, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS expiry_date,
    TO_CHAR(created, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS created
FROM dba_users WHERE {} ORDER BY username",
        user_filter("username")
    )
}

/// Roles granted to every listed user, in one statement.
pub fn role_privs_sql() -> String {
    format!(
        "SELECT grantee, granted_role FROM dba_role_privs WHERE grantee IN (SELECT username FROM dba_users WHERE {}) ORDER BY grantee, granted_role",
        user_filter("username")
    )
}

/// System privileges of every listed user, in one statement.
pub fn sys_privs_sql() -> String {
    format!(
        "SELECT grantee, privilege FROM dba_sys_privs WHERE grantee IN (SELECT username FROM dba_users WHERE {}) ORDER BY grantee, privilege",
        user_filter("username")
    )
}

/// Build the remote accounts from the three result sets: payload `{oracle_roles,
/// system_privileges, type_specific}` with the listing attributes kept.
pub fn map_accounts(
    users: &[OraRow],
    roles: &[OraRow],
    sys_privs: &[OraRow],
) -> Vec<RemoteAccount> {
    let group = |rows: &[OraRow], col: &str| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rows {
            if let (Some(g), Some(v)) = (text(r, "GRANTEE"), text(r, col)) {
                let list = m.entry(g.to_uppercase()).or_default();
                if !list.contains(&v) {
                    list.push(v);
                }
            }
        }
        m
    };
    let (mut role_map, mut priv_map) =
        (group(roles, "GRANTED_ROLE"), group(sys_privs, "PRIVILEGE"));
    users
        .iter()
        .filter_map(|u| {
            let name = text(u, "USERNAME")?.to_uppercase();
            let mut ts = Map::new();
            ts.insert(
                "oracle_id".into(),
                u.get("USER_ID").cloned().unwrap_or(Value::Null),
            );
            ts.insert(
                "account_status".into(),
                json!(text(u, "ACCOUNT_STATUS").map(|s| s.to_uppercase())),
            );
            for (k, col) in [
                ("default_tablespace", "DEFAULT_TABLESPACE"),
                ("authentication_type", "AUTHENTICATION_TYPE"),
                ("lock_date", "LOCK_DATE"),
                ("expiry_date", "EXPIRY_DATE"),
                ("created", "CREATED"),
            ] {
                ts.insert(k.into(), json!(text(u, col)));
            }
            let mut payload = Map::new();
            payload.insert(
                "oracle_roles".into(),
                json!(role_map.remove(&name).unwrap_or_default()),
            );
            payload.insert(
                "system_privileges".into(),
                json!(priv_map.remove(&name).unwrap_or_default()),
            );
            payload.insert("type_specific".into(), Value::Object(ts));
            Some(RemoteAccount {
                username: name,
                payload,
            })
        })
        .collect()
}

/// An open Oracle connection (blocking driver behind a mutex, used from `spawn_blocking`).
pub struct OracleAdapter {
    conn: Arc<Mutex<Option<oracledb::Connection>>>,
    queries: std::sync::atomic::AtomicU64,
}

fn ora_err(e: oracledb::Error) -> EngineError {
    EngineError::Query(e.to_string())
}

/// A driver row as a JSON map (the statements return text and numbers only).
fn row_json(columns: &[String], row: &oracledb::Row) -> OraRow {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = match row.get::<Option<String>>(i) {
                Ok(Some(s)) => json!(s),
                Ok(None) => Value::Null,
                Err(_) => row
                    .get::<Option<i64>>(i)
                    .ok()
                    .flatten()
                    .map(|n| json!(n))
                    .unwrap_or(Value::Null),
            };
            (c.to_uppercase(), v)
        })
        .collect()
}

impl OracleAdapter {
    /// Connect to `host:port/service` (the instance's `database_name`, default `ORCL`) with
    /// the connect timeout, and set a per-call timeout for every statement.
    pub async fn connect(p: &ConnParams) -> Result<Self, EngineError> {
        let target = format!("{}:{}/{}", p.host, p.port, p.database_or("ORCL"));
        let (user, password) = (p.username.clone(), p.password.clone());
        let task =
            tokio::task::spawn_blocking(move || -> Result<oracledb::Connection, EngineError> {
                let config = oracledb::Config::default()
                    .set_credentials(&user, &password)
                    .set_transport_connect_timeout(Some(CONNECT_TIMEOUT))
                    .set_connect_string(&target)
                    .map_err(|e| EngineError::Connect(e.to_string()))?;
                let conn =
                    oracledb::connect(config).map_err(|e| EngineError::Connect(e.to_string()))?;
                conn.set_call_timeout(Some(std::time::Duration::from_secs(STATEMENT_TIMEOUT_SECS)))
                    .map_err(|e| EngineError::Connect(e.to_string()))?;
                Ok(conn)
            });
        let conn = tokio::time::timeout(CONNECT_TIMEOUT + std::time::Duration::from_secs(5), task)
            .await
            .map_err(|_| EngineError::Connect("连接超时".into()))?
            .map_err(|e| EngineError::Connect(e.to_string()))??;
        Ok(OracleAdapter {
            conn: Arc::new(Mutex::new(Some(conn))),
            queries: Default::default(),
        })
    }

    async fn rows(&self, sql: String) -> Result<Vec<OraRow>, EngineError> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| EngineError::Query("连接不可用".into()))?;
            let c = guard
                .as_ref()
                .ok_or_else(|| EngineError::Query("连接已关闭".into()))?;
            let cursor = c.query(&sql, &[]).map_err(ora_err)?;
            let columns: Vec<String> = cursor
                .columns()
                .iter()
                .map(|m| m.name().to_string())
                .collect();
            let mut out = Vec::new();
            for row in cursor {
                out.push(row_json(&columns, &row.map_err(ora_err)?));
            }
            Ok(out)
        })
        .await
        .map_err(query_err)?
    }
}

#[async_trait]
impl EngineAdapter for OracleAdapter {
    async fn version(&self) -> Result<String, EngineError> {
        let rows = self
            .rows("SELECT banner AS version FROM v$version WHERE banner LIKE 'Oracle%'".into())
            .await?;
        rows.first()
            .and_then(|r| text(r, "VERSION"))
            .ok_or_else(|| EngineError::Query("无法读取版本".into()))
    }

    async fn list_accounts(&self) -> Result<Vec<RemoteAccount>, EngineError> {
        let users = self.rows(users_sql()).await?;
        let roles = self.rows(role_privs_sql()).await?;
        let privs = self.rows(sys_privs_sql()).await?;
        Ok(map_accounts(&users, &roles, &privs))
    }

    async fn list_databases(&self) -> Result<Vec<crate::RemoteDatabase>, EngineError> {
        let rows = self
            .rows(crate::capacity::ORACLE_DATABASES_SQL.to_string())
            .await?;
        Ok(crate::capacity::map_inventory("oracle", &rows))
    }

    async fn database_sizes(
        &self,
        _main_version: Option<&str>,
    ) -> Result<Vec<crate::DatabaseSize>, EngineError> {
        let rows = self
            .rows(crate::capacity::ORACLE_SIZES_SQL.to_string())
            .await?;
        let sizes = crate::capacity::map_sizes("oracle", &rows);
        if sizes.is_empty() {
            return Err(EngineError::Query(
                "Oracle 未查询到任何数据库大小数据".into(),
            ));
        }
        Ok(sizes)
    }

    async fn close(&self) {
        let conn = self.conn.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(mut g) = conn.lock()
                && let Some(mut c) = g.take()
            {
                let _ = c.close();
            }
        })
        .await;
    }

    fn remote_queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }
}
