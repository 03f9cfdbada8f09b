//! Managed-instance adapters, one per database engine, behind [`EngineAdapter`]
//! (`domain.md` §2–§3).
//!
//! Every adapter owns one remote connection for the duration of a job. Listing errors are
//! returned as errors (never as an empty list) so callers never reconcile an inventory
//! against a failed read (`domain.md` §13.1.1).

pub mod capacity;
pub mod mysql;
pub mod oracle;
pub mod postgres;
pub mod sqlserver;

pub use capacity::{DatabaseSize, RemoteDatabase};

use async_trait::async_trait;
use serde_json::{Map, Value};
use std::time::Duration;

/// Connect timeout applied to every engine (seconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Per-statement timeout (seconds) where the engine supports one.
pub const STATEMENT_TIMEOUT_SECS: u64 = 120;

/// Everything needed to open a connection to a managed instance.
#[derive(Clone)]
pub struct ConnParams {
    /// Normalised engine name (`mysql`, `postgresql`, `sqlserver`, `oracle`).
    pub db_type: String,
    pub host: String,
    pub port: u16,
    /// Database to connect to; `None` = engine default (`domain.md` §0.1).
    pub database: Option<String>,
    pub username: String,
    /// Decrypted password; never logged.
    pub password: String,
    /// SQL Server only: connect without TLS for old servers that cannot negotiate TLS 1.2
    /// (an explicit per-instance choice; default false = TLS required).
    pub insecure_tls: bool,
}

impl ConnParams {
    /// The database to connect to, or the engine default when none is set.
    pub fn database_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.database
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(default)
    }
}

impl std::fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnParams")
            .field("db_type", &self.db_type)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// One account as read from the remote instance (`domain.md` §2.5): its key and the
/// permission payload (adapter keys + flat `type_specific`) that becomes snapshot v4.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAccount {
    /// Account key: MySQL `user@host`, PostgreSQL role name, SQL Server login, Oracle user.
    pub username: String,
    /// Permission payload, e.g. `{"global_privileges": [...], "type_specific": {...}}`.
    pub payload: Map<String, Value>,
}

/// Adapter errors. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine has no adapter yet.
    #[error("不支持的数据库类型: {0}")]
    Unsupported(String),
    /// The connection could not be established.
    #[error("{0}")]
    Connect(String),
    /// A query failed.
    #[error("{0}")]
    Query(String),
}

impl EngineError {
    /// Short error class name for diagnostics (`details.error_type`).
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Unsupported(_) => "UnsupportedEngine",
            EngineError::Connect(_) => "ConnectionError",
            EngineError::Query(_) => "QueryError",
        }
    }
}

/// One open connection to a managed instance.
#[async_trait]
pub trait EngineAdapter: Send + Sync {
    /// Raw version string (`domain.md` §3.3).
    async fn version(&self) -> Result<String, EngineError>;
    /// Every account with its permission payload (inventory + collection in bulk,
    /// `domain.md` §2.3–§2.4). Fails as a whole when a catalogue read fails.
    async fn list_accounts(&self) -> Result<Vec<RemoteAccount>, EngineError>;
    /// The remote database inventory (Oracle: tablespaces), `domain.md` §5.2.
    async fn list_databases(&self) -> Result<Vec<RemoteDatabase>, EngineError>;
    /// Sizes of the databases the engine reports (`domain.md` §5.3); callers keep their
    /// targets. `main_version` picks MySQL's tablespace view. No row at all is an error.
    async fn database_sizes(
        &self,
        main_version: Option<&str>,
    ) -> Result<Vec<DatabaseSize>, EngineError>;
    /// Close the connection.
    async fn close(&self);
    /// Statements this adapter has sent to the remote server so far (benchmarks and the
    /// per-instance record of a fleet sync).
    fn remote_queries(&self) -> u64 {
        0
    }
}

/// Open a connection for `params.db_type` (any other type is [`EngineError::Unsupported`]).
pub async fn connect(params: &ConnParams) -> Result<Box<dyn EngineAdapter>, EngineError> {
    match params.db_type.as_str() {
        "postgresql" => Ok(Box::new(postgres::PostgresAdapter::connect(params).await?)),
        "mysql" => Ok(Box::new(mysql::MySqlAdapter::connect(params).await?)),
        "sqlserver" => Ok(Box::new(
            sqlserver::SqlServerAdapter::connect(params).await?,
        )),
        "oracle" => Ok(Box::new(oracle::OracleAdapter::connect(params).await?)),
        other => Err(EngineError::Unsupported(other.to_string())),
    }
}

/// `LIKE` escaping lives in the domain layer; re-exported for the adapters.
pub use wf_domain::body::like_escape;

/// One remote connection shared by an adapter's methods: opened with [`CONNECT_TIMEOUT`],
/// locked per call, closed once.
pub(crate) struct OneConnection<C: sqlx::Connection> {
    inner: tokio::sync::Mutex<Option<C>>,
    queries: std::sync::atomic::AtomicU64,
}

impl<C: sqlx::Connection> OneConnection<C> {
    /// Connect within [`CONNECT_TIMEOUT`].
    pub(crate) async fn open<O: sqlx::ConnectOptions<Connection = C>>(
        opts: O,
    ) -> Result<Self, EngineError> {
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, opts.connect())
            .await
            .map_err(|_| EngineError::Connect("连接超时".into()))?
            .map_err(|e| EngineError::Connect(e.to_string()))?;
        Ok(Self {
            inner: tokio::sync::Mutex::new(Some(conn)),
            queries: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Exclusive access for `n` statements (they are counted, see
    /// [`EngineAdapter::remote_queries`]).
    pub(crate) async fn lock_for(
        &self,
        n: u64,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, C>, EngineError> {
        self.queries
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        self.lock().await
    }

    /// Statements sent so far.
    pub(crate) fn queries(&self) -> u64 {
        self.queries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Exclusive access to the open connection.
    pub(crate) async fn lock(&self) -> Result<tokio::sync::MappedMutexGuard<'_, C>, EngineError> {
        tokio::sync::MutexGuard::try_map(self.inner.lock().await, Option::as_mut)
            .map_err(|_| EngineError::Query("连接已关闭".into()))
    }

    /// Close the connection (idempotent).
    pub(crate) async fn close(&self) {
        if let Some(c) = self.inner.lock().await.take() {
            let _ = c.close().await;
        }
    }
}

/// A text (or number) column of a row read as a JSON map; `None` for NULL or other types.
pub(crate) fn text(row: &Map<String, Value>, k: &str) -> Option<String> {
    match row.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn query_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Query(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escaping() {
        assert_eq!(like_escape("pg_"), "pg\\_");
        assert_eq!(like_escape("a%b\\"), "a\\%b\\\\");
        let p = ConnParams {
            db_type: "mysql".into(),
            host: "h".into(),
            port: 1,
            database: None,
            username: "u".into(),
            password: "secret".into(),
            insecure_tls: false,
        };
        assert!(!format!("{p:?}").contains("secret"));
    }
}
