//! SQL Server adapter (tiberius over rustls; `domain.md` §2.3–§2.4, §3.3) with the fixes of
//! `domain.md` §13.1 #7: every catalogue read is bulk (logins, server roles, server
//! permissions, databases, then two statements per batch of 20 databases), names are resolved
//! with each database's own catalogue views (`[db].sys.objects`, `[db].sys.schemas`,
//! `[db].sys.columns`), DENY is kept beside GRANT (`server_denied_permissions`,
//! `database_denied_permissions`), and disabled logins are `LOCKED` (facts, from
//! `type_specific.is_disabled`). Exclusion patterns are applied in SQL with escaped literals.
//!
//! No SQL Server runs on the build machine: the SQL text and the row mapping are tested on
//! recorded rows (rows are read into [`SqlRow`] maps first, so the mapping is pure).

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::{
    CONNECT_TIMEOUT, ConnParams, EngineAdapter, EngineError, RemoteAccount, like_escape, text,
};

/// Logins never listed (`domain.md` §2.3).
pub const EXCLUDE_USERS: [&str; 3] = ["public", "guest", "dbo"];
/// Login name patterns never listed (literal prefixes; `%` appended, escaped in SQL).
pub const EXCLUDE_PREFIXES: [&str; 5] =
    ["##", "NT SERVICE\\", "NT AUTHORITY\\", "BUILTIN\\", "NT "];
/// Databases per batch of per-database statements.
pub const DATABASE_BATCH: usize = 20;

/// One result row as column name → JSON value (the mapping functions take these).
pub type SqlRow = Map<String, Value>;

/// Logins with their state (`LOGINPROPERTY` values cast to int; NULL for Windows logins).
pub fn logins_sql() -> String {
    let users = EXCLUDE_USERS
        .iter()
        .map(|u| format!("N'{u}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let patterns = EXCLUDE_PREFIXES
        .iter()
        .map(|p| {
            format!(
                " AND sp.name NOT LIKE N'{}%' ESCAPE '\\'",
                like_escape(p).replace('\'', "''")
            )
        })
        .collect::<String>();
    format!(
        "WITH connect_sql AS (
    SELECT grantee_principal_id,
        CASE WHEN SUM(CASE WHEN state_desc = 'DENY' THEN 1 ELSE 0 END) > 0 THEN 'DENY'
             WHEN SUM(CASE WHEN state_desc IN ('GRANT', 'GRANT_WITH_GRANT_OPTION') THEN 1 ELSE 0 END) > 0 THEN 'GRANT'
             ELSE NULL END AS connect_to_engine
    FROM sys.server_permissions WHERE permission_name = 'CONNECT SQL' GROUP BY grantee_principal_id
)
SELECT sp.name AS name, sp.type_desc AS type_desc, CAST(sp.is_disabled AS int) AS is_disabled,
    connect_sql.connect_to_engine AS connect_to_engine,
    CAST(sl.is_policy_checked AS int) AS is_policy_checked,
    CAST(sl.is_expiration_checked AS int) AS is_expiration_checked,
    CAST(LOGINPROPERTY(sp.name, 'IsLocked') AS int) AS is_locked_out,
    CAST(LOGINPROPERTY(sp.name, 'IsExpired') AS int) AS is_password_expired,
    CAST(LOGINPROPERTY(sp.name, 'IsMustChange') AS int) AS must_change_password
FROM sys.server_principals sp
LEFT JOIN connect_sql ON connect_sql.grantee_principal_id = sp.principal_id
LEFT JOIN sys.sql_logins sl ON sl.principal_id = sp.principal_id
WHERE sp.type IN ('S', 'U', 'G') AND sp.name NOT IN ({users}){patterns}
ORDER BY sp.name"
    )
}

/// Server role memberships of every login.
pub const SERVER_ROLES_SQL: &str = "SELECT member.name AS login_name, role.name AS role_name
FROM sys.server_role_members rm
JOIN sys.server_principals role ON rm.role_principal_id = role.principal_id
JOIN sys.server_principals member ON rm.member_principal_id = member.principal_id
WHERE member.type IN ('S', 'U', 'G')";

/// Server permissions of every login, with their state (GRANT, GRANT_WITH_GRANT_OPTION, DENY).
pub const SERVER_PERMISSIONS_SQL: &str = "SELECT sp.name AS login_name, perm.permission_name AS permission_name, perm.state_desc AS state_desc
FROM sys.server_permissions perm
JOIN sys.server_principals sp ON perm.grantee_principal_id = sp.principal_id
WHERE sp.type IN ('S', 'U', 'G')";

/// Online databases the connection can use.
pub const DATABASES_SQL: &str =
    "SELECT name FROM sys.databases WHERE state = 0 AND HAS_DBACCESS(name) = 1 ORDER BY name";

fn db_identifier(db: &str) -> String {
    format!("[{}]", db.replace(']', "]]"))
}

fn db_literal(db: &str) -> String {
    format!("N'{}'", db.replace('\'', "''"))
}

/// Database role memberships of the logins (mapped by SID) in a batch of databases, one
/// `UNION ALL` statement.
pub fn database_roles_sql(dbs: &[String]) -> String {
    dbs.iter()
        .map(|db| {
            let (id, lit) = (db_identifier(db), db_literal(db));
            format!(
                "SELECT {lit} AS db_name, sp.name AS login_name, r.name AS role_name
FROM {id}.sys.database_role_members drm
JOIN {id}.sys.database_principals r ON r.principal_id = drm.role_principal_id
JOIN {id}.sys.database_principals m ON m.principal_id = drm.member_principal_id
JOIN sys.server_principals sp ON sp.sid = m.sid
WHERE sp.type IN ('S', 'U', 'G')"
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// Database permissions of the logins in a batch of databases, with their state and the
/// securable's names resolved in **that** database's catalogue.
pub fn database_permissions_sql(dbs: &[String]) -> String {
    dbs.iter()
        .map(|db| {
            let (id, lit) = (db_identifier(db), db_literal(db));
            format!(
                "SELECT {lit} AS db_name, sp.name AS login_name, perm.permission_name AS permission_name,
    perm.state_desc AS state_desc, perm.class_desc AS class_desc, perm.minor_id AS minor_id,
    COALESCE(s.name, os.name) AS schema_name, o.name AS object_name, c.name AS column_name
FROM {id}.sys.database_permissions perm
JOIN {id}.sys.database_principals dp ON dp.principal_id = perm.grantee_principal_id
JOIN sys.server_principals sp ON sp.sid = dp.sid
LEFT JOIN {id}.sys.schemas s ON perm.class = 3 AND s.schema_id = perm.major_id
LEFT JOIN {id}.sys.objects o ON perm.class = 1 AND o.object_id = perm.major_id
LEFT JOIN {id}.sys.schemas os ON os.schema_id = o.schema_id
LEFT JOIN {id}.sys.columns c ON perm.class = 1 AND perm.minor_id > 0 AND c.object_id = perm.major_id AND c.column_id = perm.minor_id
WHERE sp.type IN ('S', 'U', 'G')"
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n")
}

/// 1/0/NULL (or a boolean) → JSON bool or null.
fn flag(r: &SqlRow, k: &str) -> Value {
    match r.get(k) {
        Some(Value::Bool(b)) => json!(b),
        Some(Value::Number(n)) => json!(n.as_i64().unwrap_or(0) != 0),
        _ => Value::Null,
    }
}

fn push_unique(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

/// Everything read from one instance, as rows.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub logins: Vec<SqlRow>,
    pub server_roles: Vec<SqlRow>,
    pub server_permissions: Vec<SqlRow>,
    pub database_roles: Vec<SqlRow>,
    pub database_permissions: Vec<SqlRow>,
}

/// Where a database permission row lands: `database`, `schema[s]`, `table["s.o"]`,
/// `column["s.o.c"]`; other securable classes have no name and are dropped.
fn place(perms: &mut Map<String, Value>, r: &SqlRow, name: String) {
    let class = text(r, "class_desc").unwrap_or_default();
    let minor = r.get("minor_id").and_then(Value::as_i64).unwrap_or(0);
    let schema = text(r, "schema_name");
    let object = text(r, "object_name");
    let (scope, key) = match class.as_str() {
        "DATABASE" => ("database", None),
        "SCHEMA" => match schema {
            Some(s) => ("schema", Some(s)),
            None => return,
        },
        "OBJECT_OR_COLUMN" => {
            let Some(o) = object else { return };
            let obj = match schema {
                Some(s) => format!("{s}.{o}"),
                None => o,
            };
            if minor > 0 {
                match text(r, "column_name") {
                    Some(c) => ("column", Some(format!("{obj}.{c}"))),
                    None => return,
                }
            } else {
                ("table", Some(obj))
            }
        }
        _ => return,
    };
    let add = |list: &mut Value| {
        if let Value::Array(a) = list
            && !a.iter().any(|x| x == &json!(name))
        {
            a.push(json!(name));
        }
    };
    match key {
        None => add(perms.entry(scope).or_insert_with(|| json!([]))),
        Some(k) => {
            let m = perms.entry(scope).or_insert_with(|| json!({}));
            if let Value::Object(m) = m {
                add(m.entry(k).or_insert_with(|| json!([])));
            }
        }
    }
}

/// Build the remote accounts (payload of `domain.md` §2.4 plus the denied categories) from
/// the catalogue rows.
pub fn map_accounts(c: &Catalogue) -> Vec<RemoteAccount> {
    let mut server_roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &c.server_roles {
        if let (Some(l), Some(role)) = (text(r, "login_name"), text(r, "role_name")) {
            push_unique(server_roles.entry(l).or_default(), role);
        }
    }
    let (mut granted, mut denied): (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) =
        Default::default();
    for r in &c.server_permissions {
        if let (Some(l), Some(p)) = (text(r, "login_name"), text(r, "permission_name")) {
            let target = if text(r, "state_desc").as_deref() == Some("DENY") {
                &mut denied
            } else {
                &mut granted
            };
            push_unique(target.entry(l).or_default(), p);
        }
    }
    let mut db_roles: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in &c.database_roles {
        if let (Some(l), Some(db), Some(role)) = (
            text(r, "login_name"),
            text(r, "db_name"),
            text(r, "role_name"),
        ) {
            let entry = db_roles
                .entry(l)
                .or_default()
                .entry(db)
                .or_insert_with(|| json!([]));
            if let Value::Array(a) = entry
                && !a.iter().any(|x| x == &json!(role))
            {
                a.push(json!(role));
            }
        }
    }
    type PerDb = BTreeMap<String, Map<String, Value>>;
    let (mut db_granted, mut db_denied): (BTreeMap<String, PerDb>, BTreeMap<String, PerDb>) =
        Default::default();
    for r in &c.database_permissions {
        let (Some(l), Some(db), Some(p)) = (
            text(r, "login_name"),
            text(r, "db_name"),
            text(r, "permission_name"),
        ) else {
            continue;
        };
        let target = if text(r, "state_desc").as_deref() == Some("DENY") {
            &mut db_denied
        } else {
            &mut db_granted
        };
        place(target.entry(l).or_default().entry(db).or_default(), r, p);
    }
    let as_map = |m: Option<PerDb>| -> Value {
        Value::Object(
            m.unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Value::Object(v)))
                .collect(),
        )
    };
    let mut out = Vec::new();
    for r in &c.logins {
        let Some(name) = text(r, "name") else {
            continue;
        };
        let mut ts = Map::new();
        ts.insert("is_disabled".into(), flag(r, "is_disabled"));
        let connect =
            text(r, "connect_to_engine").map(|v| if v == "DENY" { v } else { "GRANT".into() });
        ts.insert("connect_to_engine".into(), json!(connect));
        ts.insert(
            "password_policy_enforced".into(),
            flag(r, "is_policy_checked"),
        );
        ts.insert(
            "password_expiration_enforced".into(),
            flag(r, "is_expiration_checked"),
        );
        ts.insert("is_locked_out".into(), flag(r, "is_locked_out"));
        ts.insert("is_password_expired".into(), flag(r, "is_password_expired"));
        ts.insert(
            "must_change_password".into(),
            flag(r, "must_change_password"),
        );
        let mut payload = Map::new();
        payload.insert(
            "server_roles".into(),
            json!(server_roles.get(&name).cloned().unwrap_or_default()),
        );
        payload.insert(
            "server_permissions".into(),
            json!(granted.get(&name).cloned().unwrap_or_default()),
        );
        payload.insert(
            "server_denied_permissions".into(),
            json!(denied.get(&name).cloned().unwrap_or_default()),
        );
        payload.insert(
            "database_roles".into(),
            Value::Object(db_roles.remove(&name).unwrap_or_default()),
        );
        payload.insert(
            "database_permissions".into(),
            as_map(db_granted.remove(&name)),
        );
        payload.insert(
            "database_denied_permissions".into(),
            as_map(db_denied.remove(&name)),
        );
        payload.insert("type_specific".into(), Value::Object(ts));
        out.push(RemoteAccount {
            username: name,
            payload,
        });
    }
    out
}

type Client = tiberius::Client<Compat<TcpStream>>;

/// An open SQL Server connection.
pub struct SqlServerAdapter {
    client: tokio::sync::Mutex<Option<Client>>,
    queries: std::sync::atomic::AtomicU64,
}

impl SqlServerAdapter {
    /// Connect with SQL authentication. TLS is required unless `params.insecure_tls` (old
    /// servers that cannot negotiate TLS 1.2); the server certificate is trusted as DBA tools
    /// do for self-signed instance certificates.
    pub async fn connect(p: &ConnParams) -> Result<Self, EngineError> {
        let mut config = tiberius::Config::new();
        config.host(&p.host);
        config.port(p.port);
        config.database(p.database_or("master"));
        config.authentication(tiberius::AuthMethod::sql_server(&p.username, &p.password));
        config.trust_cert();
        config.encryption(if p.insecure_tls {
            tiberius::EncryptionLevel::NotSupported
        } else {
            tiberius::EncryptionLevel::Required
        });
        let connect = async {
            let tcp = TcpStream::connect(config.get_addr())
                .await
                .map_err(|e| EngineError::Connect(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            tiberius::Client::connect(config, tcp.compat_write())
                .await
                .map_err(|e| EngineError::Connect(e.to_string()))
        };
        let client = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| EngineError::Connect("连接超时".into()))??;
        Ok(SqlServerAdapter {
            client: tokio::sync::Mutex::new(Some(client)),
            queries: Default::default(),
        })
    }

    async fn rows(&self, sql: &str) -> Result<Vec<SqlRow>, EngineError> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut guard = self.client.lock().await;
        let client = guard
            .as_mut()
            .ok_or_else(|| EngineError::Query("连接已关闭".into()))?;
        let rows = client
            .simple_query(sql)
            .await
            .map_err(crate::query_err)?
            .into_first_result()
            .await
            .map_err(crate::query_err)?;
        Ok(rows.into_iter().map(row_json).collect())
    }
}

/// A tiberius row as a JSON map (the statements above cast every column to text, int or bit).
fn row_json(row: tiberius::Row) -> SqlRow {
    let names: Vec<String> = row.columns().iter().map(|c| c.name().to_string()).collect();
    names
        .into_iter()
        .zip(row)
        .map(|(n, v)| {
            let v = match v {
                tiberius::ColumnData::String(s) => json!(s.map(|s| s.into_owned())),
                tiberius::ColumnData::I32(i) => json!(i),
                tiberius::ColumnData::I64(i) => json!(i),
                tiberius::ColumnData::I16(i) => json!(i),
                tiberius::ColumnData::U8(i) => json!(i),
                tiberius::ColumnData::Bit(b) => json!(b),
                _ => Value::Null,
            };
            (n, v)
        })
        .collect()
}

#[async_trait]
impl EngineAdapter for SqlServerAdapter {
    async fn version(&self) -> Result<String, EngineError> {
        let rows = self
            .rows("SELECT CAST(@@VERSION AS nvarchar(4000)) AS version")
            .await?;
        rows.first()
            .and_then(|r| text(r, "version"))
            .ok_or_else(|| EngineError::Query("无法读取版本".into()))
    }

    async fn list_accounts(&self) -> Result<Vec<RemoteAccount>, EngineError> {
        let mut c = Catalogue {
            logins: self.rows(&logins_sql()).await?,
            server_roles: self.rows(SERVER_ROLES_SQL).await?,
            server_permissions: self.rows(SERVER_PERMISSIONS_SQL).await?,
            ..Default::default()
        };
        let dbs: Vec<String> = self
            .rows(DATABASES_SQL)
            .await?
            .iter()
            .filter_map(|r| text(r, "name"))
            .collect();
        for batch in dbs.chunks(DATABASE_BATCH) {
            c.database_roles
                .extend(self.rows(&database_roles_sql(batch)).await?);
            c.database_permissions
                .extend(self.rows(&database_permissions_sql(batch)).await?);
        }
        Ok(map_accounts(&c))
    }

    async fn list_databases(&self) -> Result<Vec<crate::RemoteDatabase>, EngineError> {
        let rows = self.rows(crate::capacity::SQLSERVER_DATABASES_SQL).await?;
        Ok(crate::capacity::map_inventory("sqlserver", &rows))
    }

    async fn database_sizes(
        &self,
        _main_version: Option<&str>,
    ) -> Result<Vec<crate::DatabaseSize>, EngineError> {
        let rows = self.rows(crate::capacity::SQLSERVER_SIZES_SQL).await?;
        let sizes = crate::capacity::map_sizes("sqlserver", &rows);
        if sizes.is_empty() {
            return Err(EngineError::Query(
                "SQL Server 未查询到任何数据库大小数据".into(),
            ));
        }
        Ok(sizes)
    }

    async fn close(&self) {
        if let Some(c) = self.client.lock().await.take() {
            let _ = c.close().await;
        }
    }

    fn remote_queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }
}
