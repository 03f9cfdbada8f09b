//! Account statistics (`api-v1.md` §4.10): account and instance counters, per engine and per
//! classification — a few grouped statements, whatever the number of accounts.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};

fn param(db: &impl ConnectionTrait, n: usize) -> String {
    super::param(db.get_database_backend(), n)
}

/// Account counters of one group (`db_type` empty for the whole scope).
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct AccountCounts {
    pub db_type: String,
    pub total: i64,
    pub active: Option<i64>,
    pub locked: Option<i64>,
}

/// Account counters over the accounts of active, not deleted instances, optionally of one
/// instance and/or engine; grouped by engine when `by_type`.
pub async fn accounts(
    db: &impl ConnectionTrait,
    instance_id: Option<i32>,
    db_type: Option<&str>,
    by_type: bool,
) -> Result<Vec<AccountCounts>, DbErr> {
    let mut values: Vec<Value> = Vec::new();
    let mut filter = String::new();
    if let Some(iid) = instance_id {
        values.push(iid.into());
        filter.push_str(&format!(" AND i.id = {}", param(db, values.len())));
    }
    if let Some(t) = db_type {
        values.push(t.into());
        filter.push_str(&format!(" AND i.db_type = {}", param(db, values.len())));
    }
    let (key, group) = if by_type {
        ("LOWER(i.db_type)", " GROUP BY LOWER(i.db_type)")
    } else {
        ("''", "")
    };
    let sql = format!(
        "SELECT {key} AS db_type, COUNT(*) AS total, \
SUM(CASE WHEN ia.is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN ia.is_active AND ap.is_locked THEN 1 ELSE 0 END) AS locked \
FROM account_permission ap \
JOIN instances i ON i.id = ap.instance_id AND i.is_active = true AND i.deleted_at IS NULL \
JOIN instance_accounts ia ON ia.id = ap.instance_account_id \
WHERE 1 = 1{filter}{group}"
    );
    AccountCounts::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .all(db)
    .await
}

/// Instance counters: active (not deleted), inactive (not deleted), soft-deleted.
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct InstanceCounts {
    pub active: Option<i64>,
    pub disabled: Option<i64>,
    pub deleted: Option<i64>,
}

/// Instance counters, optionally of one instance and/or engine.
pub async fn instances(
    db: &impl ConnectionTrait,
    instance_id: Option<i32>,
    db_type: Option<&str>,
) -> Result<InstanceCounts, DbErr> {
    let mut values: Vec<Value> = Vec::new();
    let mut filter = String::new();
    if let Some(iid) = instance_id {
        values.push(iid.into());
        filter.push_str(&format!(" AND id = {}", param(db, values.len())));
    }
    if let Some(t) = db_type {
        values.push(t.into());
        filter.push_str(&format!(" AND db_type = {}", param(db, values.len())));
    }
    let sql = format!(
        "SELECT SUM(CASE WHEN deleted_at IS NULL AND is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN deleted_at IS NULL AND NOT is_active THEN 1 ELSE 0 END) AS disabled, \
SUM(CASE WHEN deleted_at IS NOT NULL THEN 1 ELSE 0 END) AS deleted FROM instances WHERE 1 = 1{filter}"
    );
    Ok(
        InstanceCounts::find_by_statement(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .one(db)
        .await?
        .unwrap_or_default(),
    )
}

/// Accounts per active classification.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ClassificationCount {
    pub name: String,
    pub color: Option<String>,
    pub priority: Option<i32>,
    pub account_count: i64,
}

/// Distinct accounts with an active assignment, present inventory row and an active, not
/// deleted instance, per active classification (highest priority first).
pub async fn classifications(db: &impl ConnectionTrait) -> Result<Vec<ClassificationCount>, DbErr> {
    let sql = "SELECT c.name AS name, c.color AS color, c.priority AS priority, \
COUNT(DISTINCT CASE WHEN ia.is_active AND i.is_active AND i.deleted_at IS NULL THEN a.account_id END) AS account_count \
FROM account_classifications c \
LEFT JOIN account_classification_assignments a ON a.classification_id = c.id AND a.is_active = true \
LEFT JOIN account_permission ap ON ap.id = a.account_id \
LEFT JOIN instance_accounts ia ON ia.id = ap.instance_account_id \
LEFT JOIN instances i ON i.id = ap.instance_id \
WHERE c.is_active = true GROUP BY c.id, c.name, c.color, c.priority ORDER BY c.priority DESC, c.name";
    ClassificationCount::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await
}
