//! Connection parameters and connection tests (`domain.md` §3).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::{Value, json};
use wf_domain::version;
use wf_engines::{ConnParams, EngineError};
use wf_store::entity::{credential, instance};

use crate::CredentialCipher;

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
    db: &DatabaseConnection,
    cipher: &CredentialCipher,
    inst: &instance::Model,
) -> Result<ConnParams, ParamsError> {
    let (mut username, password) = match inst.credential_id {
        Some(cid) => match credential::Entity::find_by_id(cid).one(db).await? {
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

/// Test a connection; on success returns the result object of `api-v1.md` §4.8
/// (`success, message, version, database_version, main_version, detailed_version`).
/// When `persist` is true the instance row is updated: version fields and `last_connected`
/// on success only; `last_check_at`/`last_connection_error` always (`domain.md` §13.6.46).
pub async fn test_connection(
    db: &DatabaseConnection,
    cipher: &CredentialCipher,
    inst: &instance::Model,
    persist: bool,
) -> Result<Result<Value, TestFailure>, sea_orm::DbErr> {
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
    let now = Utc::now();
    match outcome {
        Ok(raw) => {
            let parsed = version::parse(&inst.db_type, &raw);
            if persist {
                let mut am: instance::ActiveModel = inst.clone().into();
                am.last_connected = Set(Some(now));
                am.last_check_at = Set(Some(now));
                am.last_connection_error = Set(None);
                am.database_version = Set(Some(raw.chars().take(1000).collect()));
                am.main_version = Set(Some(parsed.main_version.chars().take(20).collect()));
                am.detailed_version = Set(Some(parsed.detailed_version.chars().take(50).collect()));
                am.updated_at = Set(Some(now));
                am.update(db).await?;
            }
            Ok(Ok(json!({
                "success": true,
                "message": format!("连接成功,数据库版本: {}", parsed.formatted()),
                "version": parsed.formatted(),
                "database_version": raw,
                "main_version": parsed.main_version,
                "detailed_version": parsed.detailed_version,
            })))
        }
        Err((code, kind, detail)) => {
            tracing::warn!(instance = %inst.name, error_id = %error_id, error = %detail, "connection test failed");
            if persist {
                let mut am: instance::ActiveModel = inst.clone().into();
                am.last_check_at = Set(Some(now));
                am.last_connection_error = Set(Some(detail.chars().take(2000).collect()));
                am.update(db).await?;
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
