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
    pub instance_id: i32,
    pub db_type: String,
    pub permission_facts: Option<Value>,
    pub permission_snapshot: Option<Value>,
}

fn param(db: &impl ConnectionTrait, n: usize) -> String {
    super::param(db.get_database_backend(), n)
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
        "SELECT ap.id AS id, ap.instance_id AS instance_id, LOWER(i.db_type) AS db_type, ap.permission_facts AS permission_facts, \
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

/// An existing auto assignment: `(id, account_id, classification_id, rule_id, is_active)`.
pub type AutoRow = (i32, i32, i32, Option<i32>, Option<bool>);

/// The **auto** assignments of the accounts of one instance (or of all).
pub async fn auto_of_scope(
    db: &impl ConnectionTrait,
    instance_id: Option<i32>,
) -> Result<Vec<AutoRow>, DbErr> {
    let (sql, values): (String, Vec<sea_orm::Value>) = match instance_id {
        Some(iid) => (
            format!(
                "SELECT id, account_id, classification_id, rule_id, is_active FROM account_classification_assignments WHERE assignment_type = 'auto' AND account_id IN (SELECT id FROM account_permission WHERE instance_id = {})",
                param(db, 1)
            ),
            vec![iid.into()],
        ),
        None => (
            "SELECT id, account_id, classification_id, rule_id, is_active FROM account_classification_assignments WHERE assignment_type = 'auto'"
                .into(),
            vec![],
        ),
    };
    #[derive(FromQueryResult)]
    struct Row {
        id: i32,
        account_id: i32,
        classification_id: i32,
        rule_id: Option<i32>,
        is_active: Option<bool>,
    }
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.id,
            r.account_id,
            r.classification_id,
            r.rule_id,
            r.is_active,
        )
    })
    .collect())
}

/// Delete assignments by id (chunks of 1,000 bound ids).
pub async fn delete_ids(db: &impl ConnectionTrait, ids: &[i32]) -> Result<(), DbErr> {
    for chunk in ids.chunks(1000) {
        asg::Entity::delete_many()
            .filter(asg::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Insert auto assignments `(account_id, classification_id, rule_id)`. On PostgreSQL one
/// statement per 10,000 rows unnests three id lists (sent as text: no per-row parameters);
/// on SQLite multi-row inserts of 500.
pub async fn insert_auto(db: &impl ConnectionTrait, rows: &[(i32, i32, i32)]) -> Result<(), DbErr> {
    let now = Utc::now();
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let join = |chunk: &[(i32, i32, i32)], f: fn(&(i32, i32, i32)) -> i32| {
            chunk
                .iter()
                .map(|r| f(r).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        for chunk in rows.chunks(10_000) {
            db.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "INSERT INTO account_classification_assignments (account_id, classification_id, rule_id, assignment_type, is_active, assigned_at, created_at, updated_at) SELECT a, c, r, 'auto', true, $4, $4, $4 FROM UNNEST(string_to_array($1, ',')::int4[], string_to_array($2, ',')::int4[], string_to_array($3, ',')::int4[]) AS t(a, c, r)",
                [
                    join(chunk, |r| r.0).into(),
                    join(chunk, |r| r.1).into(),
                    join(chunk, |r| r.2).into(),
                    now.into(),
                ],
            ))
            .await?;
        }
        return Ok(());
    }
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

/// Refresh the planner statistics of the assignments after a bulk change (PostgreSQL only):
/// with stale statistics the classified-ledger page statement was planned for a near-empty
/// table and took ~1 s instead of < 1 ms.
pub async fn analyze(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE account_classification_assignments")
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
