//! Classification assignments (`domain.md` §1.9, §4.5): the accounts an auto-classification
//! run reads (keyset pages), the replacement of a scope's auto assignments, and the reads and
//! soft removal of the assignments endpoints.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Set, Statement,
};
use serde_json::Value;

use crate::entity::account_classification_assignment as asg;

/// One account as the classifier sees it: its engine and facts (or, when the facts are
/// missing, its snapshot to rebuild them from).
#[derive(Debug, Clone, FromQueryResult)]
pub struct ClassifiableAccount {
    pub id: i32,
    pub db_type: String,
    pub permission_facts: Option<Value>,
    pub permission_snapshot: Option<Value>,
}

fn param(db: &impl ConnectionTrait, n: usize) -> String {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

/// The next page (by id, after `after_id`) of accounts in scope: active inventory rows of
/// active, not deleted instances, optionally of one instance.
pub async fn classifiable_page(
    db: &impl ConnectionTrait,
    instance_id: Option<i32>,
    after_id: i32,
    limit: u64,
) -> Result<Vec<ClassifiableAccount>, DbErr> {
    let mut values: Vec<sea_orm::Value> = vec![after_id.into()];
    let mut sql = format!(
        "SELECT ap.id AS id, LOWER(i.db_type) AS db_type, ap.permission_facts AS permission_facts, \
CASE WHEN ap.permission_facts IS NULL THEN ap.permission_snapshot END AS permission_snapshot \
FROM account_permission ap \
JOIN instances i ON i.id = ap.instance_id AND i.is_active = true AND i.deleted_at IS NULL \
JOIN instance_accounts ia ON ia.id = ap.instance_account_id AND ia.is_active = true \
WHERE ap.id > {}",
        param(db, 1)
    );
    if let Some(iid) = instance_id {
        values.push(iid.into());
        sql.push_str(&format!(" AND ap.instance_id = {}", param(db, 2)));
    }
    sql.push_str(&format!(" ORDER BY ap.id LIMIT {limit}"));
    ClassifiableAccount::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .all(db)
    .await
}

/// Delete the **auto** assignments of the accounts of one instance (or of all); manual
/// assignments survive. Returns the rows removed.
pub async fn delete_auto(
    db: &impl ConnectionTrait,
    instance_id: Option<i32>,
) -> Result<u64, DbErr> {
    let (sql, values): (String, Vec<sea_orm::Value>) = match instance_id {
        Some(iid) => (
            format!(
                "DELETE FROM account_classification_assignments WHERE assignment_type = 'auto' \
AND account_id IN (SELECT id FROM account_permission WHERE instance_id = {})",
                param(db, 1)
            ),
            vec![iid.into()],
        ),
        None => (
            "DELETE FROM account_classification_assignments WHERE assignment_type = 'auto'".into(),
            vec![],
        ),
    };
    Ok(db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?
        .rows_affected())
}

/// Insert auto assignments `(account_id, classification_id, rule_id)` in batches of 500.
pub async fn insert_auto(db: &impl ConnectionTrait, rows: &[(i32, i32, i32)]) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in rows.chunks(500) {
        asg::Entity::insert_many(chunk.iter().map(|(account, cls, rule)| asg::ActiveModel {
            account_id: Set(*account),
            classification_id: Set(*cls),
            assigned_by: Set(None),
            assignment_type: Set("auto".into()),
            is_active: Set(Some(true)),
            rule_id: Set(Some(*rule)),
            assigned_at: Set(now),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            ..Default::default()
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Every active assignment, newest first.
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<asg::Model>, DbErr> {
    asg::Entity::find()
        .filter(asg::Column::IsActive.eq(true))
        .order_by_desc(asg::Column::AssignedAt)
        .order_by_desc(asg::Column::Id)
        .all(db)
        .await
}

/// Assignment by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<asg::Model>, DbErr> {
    asg::Entity::find_by_id(id).one(db).await
}

/// Soft-remove an assignment (`is_active = false`).
pub async fn deactivate(db: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    asg::Entity::update_many()
        .col_expr(asg::Column::IsActive, Expr::value(Some(false)))
        .col_expr(asg::Column::UpdatedAt, Expr::value(Some(Utc::now())))
        .filter(asg::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}
