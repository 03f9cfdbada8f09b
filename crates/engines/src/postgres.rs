//! PostgreSQL adapter (`domain.md` §2.3–§2.4, §3). Three bulk catalogue queries for all
//! roles instead of three per role; every statement runs on its own (autocommit), so one
//! failing read cannot poison the next (`domain.md` §13.1.8).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::collections::BTreeMap;

use crate::{
    ConnParams, EngineAdapter, EngineError, OneConnection, RemoteAccount, STATEMENT_TIMEOUT_SECS,
    like_escape, query_err,
};

/// Roles never listed (`domain.md` §2.3).
pub const EXCLUDE_USERS: [&str; 2] = ["rdsadmin", "rds_superuser"];
/// Prefix of system roles hidden from the inventory (escaped in SQL; `postgres` is kept).
pub const EXCLUDE_PREFIX: &str = "pg_";

/// Role listing with attributes (phase 1 + role attributes of phase 2).
pub const LIST_ROLES_SQL: &str = "SELECT rolname AS username, rolsuper AS is_superuser, rolcreaterole AS can_create_role, \
rolcreatedb AS can_create_db, rolreplication AS can_replicate, rolbypassrls AS can_bypass_rls, rolcanlogin AS can_login, \
rolinherit AS can_inherit, CASE WHEN rolvaliduntil = 'infinity'::timestamptz OR rolvaliduntil = '-infinity'::timestamptz \
THEN NULL ELSE rolvaliduntil END AS valid_until FROM pg_roles \
WHERE rolname NOT IN ($1, $2) AND (rolname NOT LIKE $3 OR rolname = $4) ORDER BY rolname";

/// Every direct role membership, for all roles at once.
pub const MEMBERSHIPS_SQL: &str = "SELECT m.rolname AS member, r.rolname AS role_name FROM pg_auth_members am \
JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member ORDER BY m.rolname, r.rolname";

/// Database privileges of every role on every connectable database.
pub const DATABASE_PRIVILEGES_SQL: &str = "SELECT r.rolname AS username, d.datname AS datname, \
has_database_privilege(r.oid, d.oid, 'CONNECT') AS can_connect, has_database_privilege(r.oid, d.oid, 'CREATE') AS can_create, \
has_database_privilege(r.oid, d.oid, 'TEMP') AS can_temp FROM pg_roles r CROSS JOIN pg_database d \
WHERE d.datallowconn ORDER BY d.datname";

/// An open PostgreSQL connection (one connection, see `OneConnection`).
pub struct PostgresAdapter {
    conn: OneConnection<PgConnection>,
}

impl PostgresAdapter {
    /// Connect with a 20 s timeout and a statement timeout.
    pub async fn connect(p: &ConnParams) -> Result<Self, EngineError> {
        let opts = PgConnectOptions::new()
            .host(&p.host)
            .port(p.port)
            .username(&p.username)
            .password(&p.password)
            .database(p.database_or("postgres"))
            .application_name("whalefall")
            .options([(
                "statement_timeout",
                format!("{}", STATEMENT_TIMEOUT_SECS * 1000),
            )]);
        Ok(Self {
            conn: OneConnection::open(opts).await?,
        })
    }
}

#[async_trait]
impl EngineAdapter for PostgresAdapter {
    async fn version(&self) -> Result<String, EngineError> {
        let mut conn = self.conn.lock_for(1).await?;
        sqlx::query_scalar::<_, String>("SELECT version()")
            .fetch_one(&mut *conn)
            .await
            .map_err(query_err)
    }

    async fn list_accounts(&self) -> Result<Vec<RemoteAccount>, EngineError> {
        let mut conn = self.conn.lock_for(3).await?;
        let rows = sqlx::query(LIST_ROLES_SQL)
            .bind(EXCLUDE_USERS[0])
            .bind(EXCLUDE_USERS[1])
            .bind(format!("{}%", like_escape(EXCLUDE_PREFIX)))
            .bind("postgres")
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        let memberships = sqlx::query(MEMBERSHIPS_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        let mut roles_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in memberships {
            let member: String = m.try_get("member").map_err(query_err)?;
            let role: String = m.try_get("role_name").map_err(query_err)?;
            roles_of.entry(member).or_default().push(role);
        }
        let privs = sqlx::query(DATABASE_PRIVILEGES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        let mut db_privs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for r in privs {
            let user: String = r.try_get("username").map_err(query_err)?;
            let db: String = r.try_get("datname").map_err(query_err)?;
            let mut list = Vec::new();
            for (col, name) in [
                ("can_connect", "CONNECT"),
                ("can_create", "CREATE"),
                ("can_temp", "TEMP"),
            ] {
                if r.try_get::<bool, _>(col).map_err(query_err)? {
                    list.push(name);
                }
            }
            if !list.is_empty() {
                db_privs.entry(user).or_default().insert(db, json!(list));
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let username: String = r.try_get("username").map_err(query_err)?;
            let b = |c: &str| r.try_get::<bool, _>(c).map_err(query_err);
            let is_super = b("is_superuser")?;
            let can_login = b("can_login")?;
            let valid_until: Option<DateTime<Utc>> = r.try_get("valid_until").map_err(query_err)?;
            let all_roles = roles_of.remove(&username).unwrap_or_default();
            let predefined: Vec<&String> = all_roles
                .iter()
                .filter(|r| r.starts_with(EXCLUDE_PREFIX))
                .collect();
            let mut ts = Map::new();
            if let Some(v) = valid_until {
                ts.insert("valid_until".into(), json!(wf_domain::time::iso(&v)));
            }
            ts.insert("is_group_role".into(), json!(!can_login));
            let payload = json!({
                "role_attributes": {
                    "can_create_role": b("can_create_role")?,
                    "can_create_db": b("can_create_db")?,
                    "can_replicate": b("can_replicate")?,
                    "can_bypass_rls": b("can_bypass_rls")?,
                    "can_login": can_login,
                    "can_inherit": b("can_inherit")?,
                    "can_super": is_super,
                },
                "predefined_roles": predefined,
                "roles": all_roles,
                "database_privileges_pg": db_privs.remove(&username).unwrap_or_default(),
                "system_privileges": if is_super { json!(["SUPERUSER"]) } else { json!([]) },
                "type_specific": ts,
            });
            out.push(RemoteAccount {
                username,
                payload: payload.as_object().cloned().unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn list_databases(&self) -> Result<Vec<crate::RemoteDatabase>, EngineError> {
        let mut conn = self.conn.lock_for(1).await?;
        let rows = sqlx::query(crate::capacity::PG_DATABASES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get("datname").map_err(query_err)?;
                let template: bool = r.try_get("datistemplate").map_err(query_err)?;
                Ok(crate::RemoteDatabase {
                    is_system: template || name == "postgres",
                    name,
                })
            })
            .collect()
    }

    async fn database_sizes(
        &self,
        _main_version: Option<&str>,
    ) -> Result<Vec<crate::DatabaseSize>, EngineError> {
        let mut conn = self.conn.lock_for(1).await?;
        let rows = sqlx::query(crate::capacity::PG_SIZES_SQL)
            .fetch_all(&mut *conn)
            .await
            .map_err(query_err)?;
        if rows.is_empty() {
            return Err(EngineError::Query(
                "PostgreSQL 未查询到任何数据库大小数据".into(),
            ));
        }
        rows.iter()
            .map(|r| {
                let size: i64 = r.try_get("size_mb").map_err(query_err)?;
                Ok(crate::DatabaseSize {
                    name: r.try_get("database_name").map_err(query_err)?,
                    size_mb: size,
                    data_size_mb: Some(size),
                    log_size_mb: None,
                })
            })
            .collect()
    }

    async fn close(&self) {
        self.conn.close().await;
    }

    fn remote_queries(&self) -> u64 {
        self.conn.queries()
    }
}
