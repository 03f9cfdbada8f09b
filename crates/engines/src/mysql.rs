//! MySQL 5.7/8 and MariaDB 10.x adapter (`domain.md` §2.3–§2.4, §3).
//!
//! Three bulk catalogue reads for all accounts (`mysql.user`, `USER_PRIVILEGES`,
//! `SCHEMA_PRIVILEGES`) instead of `SHOW GRANTS` per account; schema names keep their case
//! (`domain.md` §13.1.6). MariaDB has no `account_locked`/`password_last_changed` columns in
//! `mysql.user`: they are read from `mysql.global_priv` (10.4+), and roles (`is_role`) are skipped.

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use std::collections::BTreeMap;

use crate::{
    ConnParams, EngineAdapter, EngineError, OneConnection, RemoteAccount, like_escape, query_err,
};

/// Account name prefix excluded from the inventory (`domain.md` §2.3), escaped in SQL.
pub const EXCLUDE_PREFIX: &str = "mysql";

/// Account listing on MySQL 5.7/8.
pub const LIST_USERS_MYSQL_SQL: &str = "SELECT CAST(User AS CHAR) AS user, CAST(Host AS CHAR) AS host, \
CAST(Super_priv AS CHAR) AS super_priv, CAST(Grant_priv AS CHAR) AS grant_priv, CAST(plugin AS CHAR) AS plugin, \
CAST(account_locked AS CHAR) AS account_locked, CAST(password_last_changed AS CHAR) AS password_last_changed \
FROM mysql.user WHERE User != '' AND User NOT LIKE ? ORDER BY User, Host";

/// Account listing on MariaDB 10.4+ (lock state and password change time from `global_priv`).
pub const LIST_USERS_MARIADB_SQL: &str = "SELECT CAST(u.User AS CHAR) AS user, CAST(u.Host AS CHAR) AS host, \
CAST(u.Super_priv AS CHAR) AS super_priv, CAST(u.Grant_priv AS CHAR) AS grant_priv, CAST(u.plugin AS CHAR) AS plugin, \
CAST(JSON_VALUE(g.Priv, '$.account_locked') AS CHAR) AS account_locked, \
CAST(JSON_VALUE(g.Priv, '$.password_last_changed') AS CHAR) AS password_last_changed \
FROM mysql.user u LEFT JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host \
WHERE u.User != '' AND u.User NOT LIKE ? AND u.is_role <> 'Y' ORDER BY u.User, u.Host";

/// Account listing on MariaDB < 10.4 (no lock information).
pub const LIST_USERS_OLD_MARIADB_SQL: &str = "SELECT CAST(User AS CHAR) AS user, CAST(Host AS CHAR) AS host, \
CAST(Super_priv AS CHAR) AS super_priv, CAST(Grant_priv AS CHAR) AS grant_priv, CAST(plugin AS CHAR) AS plugin, \
CAST(NULL AS CHAR) AS account_locked, CAST(NULL AS CHAR) AS password_last_changed \
FROM mysql.user WHERE User != '' AND User NOT LIKE ? AND is_role <> 'Y' ORDER BY User, Host";

/// Global privileges of every account.
pub const USER_PRIVILEGES_SQL: &str = "SELECT CAST(GRANTEE AS CHAR) AS grantee, CAST(PRIVILEGE_TYPE AS CHAR) AS privilege, \
CAST(IS_GRANTABLE AS CHAR) AS grantable FROM information_schema.USER_PRIVILEGES";

/// Database-level privileges of every account.
pub const SCHEMA_PRIVILEGES_SQL: &str = "SELECT CAST(GRANTEE AS CHAR) AS grantee, CAST(TABLE_SCHEMA AS CHAR) AS db, \
CAST(PRIVILEGE_TYPE AS CHAR) AS privilege, CAST(IS_GRANTABLE AS CHAR) AS grantable FROM information_schema.SCHEMA_PRIVILEGES";

/// Server flavour, detected from `SELECT VERSION()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Oracle MySQL 5.7/8.
    MySql,
    /// MariaDB 10.4+ (`mysql.global_priv`).
    MariaDb,
    /// MariaDB before 10.4.
    OldMariaDb,
}

/// Detect the flavour from a version string like `10.11.19-MariaDB-0+deb12u1`.
pub fn flavour(version: &str) -> Flavour {
    if !version.to_ascii_lowercase().contains("mariadb") {
        return Flavour::MySql;
    }
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if (major, minor) >= (10, 4) {
        Flavour::MariaDb
    } else {
        Flavour::OldMariaDb
    }
}

/// `'user'@'host'` as information_schema spells a grantee.
pub fn grantee(user: &str, host: &str) -> String {
    format!(
        "'{}'@'{}'",
        user.replace('\'', "\\'"),
        host.replace('\'', "\\'")
    )
}

fn yes(v: &Option<String>) -> bool {
    v.as_deref()
        .map(|s| s.eq_ignore_ascii_case("Y") || s.eq_ignore_ascii_case("true") || s == "1")
        .unwrap_or(false)
}

/// `password_last_changed` as ISO: MySQL gives a datetime, MariaDB epoch seconds.
fn password_changed(raw: Option<String>) -> Value {
    match raw {
        None => Value::Null,
        Some(s) if s.chars().all(|c| c.is_ascii_digit()) => match s
            .parse::<i64>()
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        {
            Some(t) if t.timestamp() > 0 => json!(wf_domain::time::iso(&t)),
            _ => Value::Null,
        },
        Some(s) => json!(s.replacen(' ', "T", 1)),
    }
}

/// An open MySQL/MariaDB connection (one connection, see `OneConnection`).
pub struct MySqlAdapter {
    conn: OneConnection<MySqlConnection>,
}

impl MySqlAdapter {
    /// Connect with a 20 s timeout, charset utf8mb4.
    pub async fn connect(p: &ConnParams) -> Result<Self, EngineError> {
        let opts = MySqlConnectOptions::new()
            .host(&p.host)
            .port(p.port)
            .username(&p.username)
            .password(&p.password)
            .database(p.database_or("mysql"))
            .charset("utf8mb4");
        Ok(Self {
            conn: OneConnection::open(opts).await?,
        })
    }
}

impl MySqlAdapter {
    /// Every schema name (what `SHOW DATABASES` lists).
    async fn schema_names(&self) -> Result<Vec<String>, EngineError> {
        let mut conn = self.conn.lock_for(1).await?;
        sqlx::query_scalar::<_, String>(crate::capacity::MYSQL_DATABASES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)
    }
}

#[async_trait]
impl EngineAdapter for MySqlAdapter {
    async fn version(&self) -> Result<String, EngineError> {
        let mut conn = self.conn.lock_for(1).await?;
        sqlx::query_scalar::<_, String>("SELECT CAST(VERSION() AS CHAR)")
            .fetch_one(&mut *conn)
            .await
            .map_err(query_err)
    }

    async fn list_accounts(&self) -> Result<Vec<RemoteAccount>, EngineError> {
        let version = self.version().await?;
        let mut conn = self.conn.lock_for(3).await?;
        let sql = match flavour(&version) {
            Flavour::MySql => LIST_USERS_MYSQL_SQL,
            Flavour::MariaDb => LIST_USERS_MARIADB_SQL,
            Flavour::OldMariaDb => LIST_USERS_OLD_MARIADB_SQL,
        };
        let users = sqlx::query(sql)
            .bind(format!("{}%", like_escape(EXCLUDE_PREFIX)))
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        let mut global: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in sqlx::query(USER_PRIVILEGES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?
        {
            let g: String = r.try_get("grantee").map_err(query_err)?;
            let p: String = r.try_get("privilege").map_err(query_err)?;
            let grantable: Option<String> = r.try_get("grantable").map_err(query_err)?;
            let list = global.entry(g).or_default();
            if !list.contains(&p) {
                list.push(p);
            }
            if grantable.as_deref() == Some("YES") && !list.iter().any(|x| x == "GRANT OPTION") {
                list.push("GRANT OPTION".into());
            }
        }
        let mut schema: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for r in sqlx::query(SCHEMA_PRIVILEGES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?
        {
            let g: String = r.try_get("grantee").map_err(query_err)?;
            let db: String = r.try_get("db").map_err(query_err)?;
            let p: String = r.try_get("privilege").map_err(query_err)?;
            let grantable: Option<String> = r.try_get("grantable").map_err(query_err)?;
            let list = schema.entry(g).or_default().entry(db).or_default();
            if !list.contains(&p) {
                list.push(p);
            }
            if grantable.as_deref() == Some("YES") && !list.iter().any(|x| x == "GRANT OPTION") {
                list.push("GRANT OPTION".into());
            }
        }
        let mut out = Vec::with_capacity(users.len());
        for r in users {
            let user: String = r.try_get("user").map_err(query_err)?;
            let host: String = r.try_get("host").map_err(query_err)?;
            let s = |c: &str| r.try_get::<Option<String>, _>(c).map_err(query_err);
            let key = grantee(&user, &host);
            let mut ts = Map::new();
            ts.insert("host".into(), json!(host));
            ts.insert("original_username".into(), json!(user));
            ts.insert("super_priv".into(), json!(yes(&s("super_priv")?)));
            ts.insert("account_locked".into(), json!(yes(&s("account_locked")?)));
            ts.insert("grant_priv".into(), json!(yes(&s("grant_priv")?)));
            ts.insert("plugin".into(), json!(s("plugin")?.unwrap_or_default()));
            ts.insert(
                "password_last_changed".into(),
                password_changed(s("password_last_changed")?),
            );
            let payload = json!({
                "global_privileges": global.remove(&key).unwrap_or_default(),
                "database_privileges": schema.remove(&key).unwrap_or_default(),
                "type_specific": ts,
            });
            out.push(RemoteAccount {
                username: format!("{user}@{host}"),
                payload: payload.as_object().cloned().unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn list_databases(&self) -> Result<Vec<crate::RemoteDatabase>, EngineError> {
        Ok(self
            .schema_names()
            .await?
            .into_iter()
            .map(|name| crate::RemoteDatabase {
                name,
                is_system: false,
            })
            .collect())
    }

    async fn database_sizes(
        &self,
        main_version: Option<&str>,
    ) -> Result<Vec<crate::DatabaseSize>, EngineError> {
        use crate::capacity as cap;
        {
            let mut conn = self.conn.lock_for(1).await?;
            let n: i64 = sqlx::query_scalar(cap::MYSQL_PROBE_SQL)
                .fetch_one(&mut *conn)
                .await
                .map_err(query_err)?;
            if n == 0 {
                return Err(EngineError::Query(
                    "MySQL 权限测试失败:无法访问 information_schema.SCHEMATA".into(),
                ));
            }
        }
        // the first tablespace view that answers with rows wins
        let mut files: Vec<(String, i64)> = Vec::new();
        let mut last_err = None;
        for sql in cap::mysql_tablespace_views(main_version) {
            let mut conn = self.conn.lock_for(1).await?;
            match sqlx::query_as::<_, (String, Option<i64>)>(sql)
                .fetch_all(&mut *conn)
                .await
            {
                Ok(rows) if !rows.is_empty() => {
                    files = rows.into_iter().map(|(n, b)| (n, b.unwrap_or(0))).collect();
                    break;
                }
                Ok(_) => {}
                Err(e) => last_err = Some(query_err(e)),
            }
        }
        if files.is_empty()
            && let Some(e) = last_err
        {
            return Err(e);
        }
        let databases = self.schema_names().await?;
        Ok(cap::mysql_sizes(&files, &databases))
    }

    async fn close(&self) {
        self.conn.close().await;
    }

    fn remote_queries(&self) -> u64 {
        self.conn.queries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn flavours() {
        assert_eq!(flavour("8.0.32"), Flavour::MySql);
        assert_eq!(flavour("10.11.19-MariaDB-0+deb12u1"), Flavour::MariaDb);
        assert_eq!(flavour("10.3.39-MariaDB"), Flavour::OldMariaDb);
        assert_eq!(grantee("a'b", "%"), "'a\\'b'@'%'");
        assert_eq!(
            password_changed(Some("1795396693".into())),
            json!("2026-11-23T01:18:13+00:00")
        );
        assert_eq!(password_changed(Some("0".into())), Value::Null);
        assert_eq!(
            password_changed(Some("2024-01-02 03:04:05".into())),
            json!("2024-01-02T03:04:05")
        );
    }
}
