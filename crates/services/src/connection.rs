//! Connection parameters and connection tests (`domain.md` §3, `api-v1.md` §4.8): tests of a
//! stored instance or of ad-hoc parameters, parameter validation, batch tests with bounded
//! parallelism and the derived connection status.

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use wf_domain::body::int_value;
use wf_domain::db_type::DbType;
use wf_domain::{AppError, Body, time, version};
use wf_engines::{ConnParams, EngineError};
use wf_store::Store;
use wf_store::entity::instance;
use wf_store::repo::credentials as credential_repo;
use wf_store::repo::instances::{self as instance_repo, CheckOutcome};

use crate::CredentialCipher;
use crate::context::Services;
use crate::error::{Public, ServiceError, ServiceResult};

/// How many instances a batch test probes at once.
pub const BATCH_PARALLELISM: usize = 4;

/// Why parameters for a connection could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("数据库查询错误: {0}")]
    Store(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Decrypt(#[from] crate::crypto::DecryptError),
}

/// Build connection parameters of an instance: credential username and decrypted password
/// (no credential → empty user/password; Oracle usernames lose anything after `/`).
pub async fn conn_params(
    db: &Store,
    cipher: &CredentialCipher,
    inst: &instance::Model,
) -> Result<ConnParams, ParamsError> {
    let (mut username, password) = match inst.credential_id {
        Some(cid) => match credential_repo::find(db, cid).await? {
            Some(c) => (c.username.clone(), cipher.decrypt(&c.password)?),
            None => (String::new(), String::new()),
        },
        None => (String::new(), String::new()),
    };
    if inst.db_type == "oracle"
        && let Some((u, _)) = username.split_once('/')
    {
        username = u.to_string();
    }
    Ok(ConnParams {
        db_type: inst.db_type.clone(),
        host: inst.host.clone(),
        port: u16::try_from(inst.port).unwrap_or(0),
        database: inst.database_name.clone(),
        username,
        password,
        insecure_tls: inst.insecure_tls,
    })
}

/// A failed connection test (`domain.md` §3.2).
#[derive(Debug, Clone)]
pub struct TestFailure {
    /// `CONNECTION_FAILED` (could not connect) or `CONNECTION_TEST_FAILED` (later failure).
    pub error_code: &'static str,
    /// 32-hex correlation id, also logged.
    pub error_id: String,
    /// Error class for admins (`details.error_type`).
    pub error_type: String,
    /// Full error text (logged, never returned to non-admins).
    pub detail: String,
}

/// A successful connection test (`api-v1.md` §4.8).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionResult {
    pub success: bool,
    /// `连接成功,数据库版本: <version>`.
    pub message: String,
    pub version: String,
    pub database_version: String,
    pub main_version: String,
    pub detailed_version: String,
}

/// Test a connection. When `persist` is true the instance row is updated: version fields and
/// `last_connected` on success only; `last_check_at`/`last_connection_error` always
/// (`domain.md` §13.6.46).
pub async fn test_connection(
    db: &Store,
    cipher: &CredentialCipher,
    inst: &instance::Model,
    persist: bool,
) -> Result<Result<ConnectionResult, TestFailure>, sea_orm::DbErr> {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    let outcome: Result<String, (&'static str, String, String)> = async {
        let params = conn_params(db, cipher, inst).await.map_err(|e| {
            (
                "CONNECTION_FAILED",
                "CredentialError".to_string(),
                e.to_string(),
            )
        })?;
        let adapter = wf_engines::connect(&params)
            .await
            .map_err(|e| ("CONNECTION_FAILED", e.kind().to_string(), e.to_string()))?;
        let v = adapter.version().await;
        adapter.close().await;
        v.map_err(|e: EngineError| {
            (
                "CONNECTION_TEST_FAILED",
                e.kind().to_string(),
                e.to_string(),
            )
        })
    }
    .await;
    match outcome {
        Ok(raw) => {
            let parsed = version::parse(&inst.db_type, &raw);
            if persist {
                let outcome = CheckOutcome::Connected {
                    database_version: raw.chars().take(1000).collect(),
                    main_version: parsed.main_version.chars().take(20).collect(),
                    detailed_version: parsed.detailed_version.chars().take(50).collect(),
                };
                instance_repo::record_check(db, inst.clone(), outcome).await?;
            }
            Ok(Ok(ConnectionResult {
                success: true,
                message: format!("连接成功,数据库版本: {}", parsed.formatted()),
                version: parsed.formatted(),
                database_version: raw,
                main_version: parsed.main_version,
                detailed_version: parsed.detailed_version,
            }))
        }
        Err((code, kind, detail)) => {
            tracing::warn!(instance = %inst.name, error_id = %error_id, error = %detail, "connection test failed");
            if persist {
                let outcome = CheckOutcome::Failed(detail.chars().take(2000).collect());
                instance_repo::record_check(db, inst.clone(), outcome).await?;
            }
            Ok(Err(TestFailure {
                error_code: code,
                error_id,
                error_type: kind,
                detail,
            }))
        }
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Bool(b)) => *b,
        Some(_) => true,
    }
}

/// Validate `db_type`, `port` and an optional `credential_id` (shared by test and
/// validate-params); returns the normalised type, the port and the credential id.
pub async fn check_params(
    svc: &Services,
    body: &Body,
    required: &[&str],
) -> ServiceResult<(String, i32, Option<i32>)> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !truthy(body.get(k)))
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::validation(format!(
            "缺少必需参数: {}",
            missing.join(", ")
        )));
    }
    let raw = body.text("db_type").unwrap_or_default();
    let t = DbType::parse(&raw)
        .ok_or_else(|| AppError::validation(format!("不支持的数据库类型: {raw}")))?;
    let port = body
        .get("port")
        .and_then(int_value)
        .ok_or_else(|| AppError::validation("端口号必须是有效的数字"))?;
    if !(1..=65535).contains(&port) {
        return Err(ServiceError::validation("端口号必须在1-65535之间"));
    }
    let cred = match body.get("credential_id") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let id =
                int_value(v).ok_or_else(|| AppError::validation("credential_id 必须是整数"))?;
            let found = match i32::try_from(id) {
                Ok(id) => credential_repo::find(&svc.db, id).await?,
                Err(_) => None,
            };
            Some(
                found
                    .ok_or_else(|| ServiceError::not_found("凭据不存在"))?
                    .id,
            )
        }
    };
    Ok((t.as_str().to_string(), port as i32, cred))
}

/// What `POST /connections/actions/test` probes.
pub enum TestTarget {
    /// A stored instance (its row records the outcome).
    Instance(Option<i32>),
    /// Ad-hoc parameters of the body (nothing is stored).
    Params,
}

/// `POST /connections/actions/test`: `Ok(Ok(result))` connected, `Ok(Err(failure))` could not.
pub async fn test(
    svc: &Services,
    target: TestTarget,
    body: &Body,
) -> ServiceResult<Result<ConnectionResult, TestFailure>> {
    const PUB: &str = "连接测试失败";
    let (inst, persist) = match target {
        TestTarget::Instance(id) => {
            let found = match id {
                Some(id) => instance_repo::find(&svc.db, id).await.public(PUB)?,
                None => None,
            };
            (
                found.ok_or_else(|| ServiceError::not_found("实例不存在"))?,
                true,
            )
        }
        TestTarget::Params => {
            let (t, port, cred) =
                check_params(svc, body, &["db_type", "host", "port", "credential_id"]).await?;
            (transient(body, t, port, cred), false)
        }
    };
    test_connection(&svc.db, &svc.cipher, &inst, persist)
        .await
        .public(PUB)
}

fn transient(
    body: &Body,
    db_type: String,
    port: i32,
    credential_id: Option<i32>,
) -> instance::Model {
    instance::Model {
        id: 0,
        name: body.trimmed("name").unwrap_or_else(|| "temp_test".into()),
        db_type,
        host: body.trimmed("host").unwrap_or_default(),
        port,
        database_name: body.trimmed("database_name"),
        database_version: None,
        main_version: None,
        detailed_version: None,
        sync_count: 0,
        credential_id,
        description: None,
        is_active: true,
        last_connected: None,
        last_check_at: None,
        last_connection_error: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
        insecure_tls: matches!(body.optional_bool("insecure_tls"), Ok(Some(true))),
    }
}

/// One result of a batch test (members present depend on the outcome).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchTestItem {
    pub instance_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// `实例不存在` for unknown ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BatchTestItem {
    fn failed(instance_id: i64) -> Self {
        BatchTestItem {
            instance_id,
            instance_name: None,
            success: false,
            message: None,
            version: None,
            database_version: None,
            main_version: None,
            detailed_version: None,
            error_code: None,
            error_id: None,
            error: None,
        }
    }
    fn unexpected(id: i64) -> Self {
        BatchTestItem {
            message: Some("数据库连接失败".into()),
            error_code: Some("BATCH_TEST_FAILED".into()),
            error_id: Some(uuid::Uuid::new_v4().simple().to_string()),
            ..Self::failed(id)
        }
    }
}

/// Counts of a batch test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchSummary {
    pub total: usize,
    pub success: usize,
    pub failed: usize,
}

/// `{results, summary}` of a batch test.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchTestResult {
    pub results: Vec<BatchTestItem>,
    pub summary: BatchSummary,
}

/// Parse `instance_ids` of a batch test: 1–50 integers (numeric strings accepted).
pub fn read_batch_ids(body: &Body) -> Result<Vec<i64>, AppError> {
    body.require_object()?;
    let list = match body.get("instance_ids") {
        None | Some(Value::Null) => return Err(AppError::validation("缺少实例ID列表")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(AppError::validation("实例ID列表必须为整数")),
    };
    if list.is_empty() {
        return Err(AppError::validation("实例ID列表不能为空"));
    }
    let ids: Vec<i64> = list
        .iter()
        .map(int_value)
        .collect::<Option<_>>()
        .ok_or_else(|| AppError::validation("实例ID列表必须为整数"))?;
    if ids.len() > 50 {
        return Err(AppError::validation("批量测试数量不能超过50个"));
    }
    Ok(ids)
}

/// `POST /connections/actions/batch-test`: at most [`BATCH_PARALLELISM`] probes at once,
/// results in request order; every probe records its outcome on the instance.
pub async fn batch_test(svc: &Services, ids: Vec<i64>) -> BatchTestResult {
    let results: Vec<BatchTestItem> = futures::stream::iter(ids)
        .map(|id| async move {
            let found = match i32::try_from(id) {
                Ok(i) => instance_repo::find(&svc.db, i).await,
                Err(_) => Ok(None),
            };
            let inst = match found {
                Ok(Some(inst)) => inst,
                Ok(None) => {
                    return BatchTestItem {
                        error: Some("实例不存在".into()),
                        ..BatchTestItem::failed(id)
                    };
                }
                Err(e) => {
                    tracing::error!(instance = id, error = %e, "batch test look-up failed");
                    return BatchTestItem::unexpected(id);
                }
            };
            let named = BatchTestItem {
                instance_name: Some(inst.name.clone()),
                ..BatchTestItem::failed(id)
            };
            match test_connection(&svc.db, &svc.cipher, &inst, true).await {
                Ok(Ok(r)) => BatchTestItem {
                    success: true,
                    message: Some(r.message),
                    version: Some(r.version),
                    database_version: Some(r.database_version),
                    main_version: Some(r.main_version),
                    detailed_version: Some(r.detailed_version),
                    ..named
                },
                Ok(Err(f)) => BatchTestItem {
                    message: Some("数据库连接失败".into()),
                    error_code: Some(f.error_code.into()),
                    error_id: Some(f.error_id),
                    ..named
                },
                Err(e) => {
                    tracing::error!(instance = id, error = %e, "batch test store failure");
                    BatchTestItem::unexpected(id)
                }
            }
        })
        .buffered(BATCH_PARALLELISM)
        .collect()
        .await;
    let success = results.iter().filter(|r| r.success).count();
    BatchTestResult {
        summary: BatchSummary {
            total: results.len(),
            success,
            failed: results.len() - success,
        },
        results,
    }
}

/// Derived connection status (`domain.md` §3.4): `good` < 1 h, `warning` < 1 day, `poor`,
/// `unknown` never connected.
pub fn connection_status(last: Option<&chrono::DateTime<chrono::Utc>>) -> &'static str {
    match last {
        None => "unknown",
        Some(t) => {
            let age = chrono::Utc::now() - *t;
            if age < chrono::Duration::hours(1) {
                "good"
            } else if age < chrono::Duration::days(1) {
                "warning"
            } else {
                "poor"
            }
        }
    }
}

/// `GET /connections/status/{id}` object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectionStatus {
    pub instance_id: i32,
    pub instance_name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    /// UTC ISO-8601.
    pub last_connected: Option<String>,
    /// `good`, `warning`, `poor` or `unknown`.
    pub status: &'static str,
    pub is_active: bool,
}

/// `GET /connections/status/{id}` (deleted instances included; 404 `实例不存在`).
pub async fn status(svc: &Services, id: Option<i32>) -> ServiceResult<ConnectionStatus> {
    let found = match id {
        Some(id) => instance_repo::find(&svc.db, id)
            .await
            .public("获取连接状态失败")?,
        None => None,
    };
    let i = found.ok_or_else(|| ServiceError::not_found("实例不存在"))?;
    Ok(ConnectionStatus {
        instance_id: i.id,
        status: connection_status(i.last_connected.as_ref()),
        last_connected: i.last_connected.as_ref().map(time::iso),
        instance_name: i.name,
        db_type: i.db_type,
        host: i.host,
        port: i.port,
        is_active: i.is_active,
    })
}
