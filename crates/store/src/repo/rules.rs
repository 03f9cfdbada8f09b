//! Classification rules (`domain.md` §1.9, §4.3): CRUD, the application-level uniqueness
//! checks and hit statistics.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

use crate::entity::{
    account_classification as cls, account_classification_assignment as asg,
    classification_rule as rule,
};

/// Active rules, newest first, optionally of one classification and/or engine.
pub async fn active(
    db: &impl ConnectionTrait,
    classification_id: Option<i32>,
    db_type: Option<&str>,
) -> Result<Vec<rule::Model>, DbErr> {
    let mut q = rule::Entity::find().filter(rule::Column::IsActive.eq(true));
    if let Some(c) = classification_id {
        q = q.filter(rule::Column::ClassificationId.eq(c));
    }
    if let Some(t) = db_type {
        q = q.filter(rule::Column::DbType.eq(t));
    }
    q.order_by_desc(rule::Column::CreatedAt)
        .order_by_desc(rule::Column::Id)
        .all(db)
        .await
}

/// Names of classifications by id.
pub async fn classification_names(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<HashMap<i32, String>, DbErr> {
    Ok(cls::Entity::find()
        .select_only()
        .column(cls::Column::Id)
        .column(cls::Column::Name)
        .filter(cls::Column::Id.is_in(ids))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Rule by id (inactive ones included).
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<rule::Model>, DbErr> {
    rule::Entity::find_by_id(id).one(db).await
}

fn others(except: Option<i32>) -> Condition {
    match except {
        Some(id) => Condition::all().add(rule::Column::Id.ne(id)),
        None => Condition::all(),
    }
}

/// True when another rule of the classification and engine has this name.
pub async fn name_taken(
    db: &impl ConnectionTrait,
    classification_id: i32,
    db_type: &str,
    name: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    Ok(rule::Entity::find()
        .filter(others(except))
        .filter(rule::Column::ClassificationId.eq(classification_id))
        .filter(rule::Column::DbType.eq(db_type))
        .filter(rule::Column::RuleName.eq(name))
        .count(db)
        .await?
        > 0)
}

/// True when another rule of the classification has this canonical expression.
pub async fn expression_taken(
    db: &impl ConnectionTrait,
    classification_id: i32,
    canonical: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    Ok(rule::Entity::find()
        .filter(others(except))
        .filter(rule::Column::ClassificationId.eq(classification_id))
        .filter(rule::Column::RuleExpression.eq(canonical))
        .count(db)
        .await?
        > 0)
}

/// Rule fields written by create and update (`rule_expression` is canonical JSON text).
#[derive(Debug, Clone)]
pub struct RuleFields {
    pub classification_id: i32,
    pub db_type: String,
    pub rule_name: String,
    pub rule_expression: String,
    pub is_active: bool,
}

/// Insert a rule.
pub async fn insert(db: &impl ConnectionTrait, f: &RuleFields) -> Result<rule::Model, DbErr> {
    let now = Utc::now();
    rule::ActiveModel {
        classification_id: Set(f.classification_id),
        db_type: Set(f.db_type.clone()),
        rule_name: Set(f.rule_name.clone()),
        rule_expression: Set(f.rule_expression.clone()),
        operator: Set(None),
        is_active: Set(f.is_active),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Update a rule.
pub async fn update(
    db: &impl ConnectionTrait,
    current: rule::Model,
    f: &RuleFields,
) -> Result<rule::Model, DbErr> {
    let mut am: rule::ActiveModel = current.into();
    am.classification_id = Set(f.classification_id);
    am.db_type = Set(f.db_type.clone());
    am.rule_name = Set(f.rule_name.clone());
    am.rule_expression = Set(f.rule_expression.clone());
    am.is_active = Set(f.is_active);
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Delete a rule (its assignments keep existing with `rule_id` NULL, by the foreign key).
///
/// The assignments the rule made keep existing with `rule_id` NULL (`domain.md` §4.3). The
/// repository does this itself: on PostgreSQL the assignments carry no foreign keys (migration
/// m0005), so call it inside a transaction.
pub async fn delete(db: &impl ConnectionTrait, r: rule::Model) -> Result<(), DbErr> {
    asg::Entity::update_many()
        .col_expr(
            asg::Column::RuleId,
            sea_orm::sea_query::Expr::value(Option::<i32>::None),
        )
        .filter(asg::Column::RuleId.eq(r.id))
        .exec(db)
        .await?;
    r.delete(db).await.map(|_| ())
}

/// Distinct accounts with an active assignment made by each rule (one grouped query).
pub async fn hits(
    db: &impl ConnectionTrait,
    rule_ids: Vec<i32>,
) -> Result<HashMap<i32, i64>, DbErr> {
    let q = asg::Entity::find()
        .filter(asg::Column::RuleId.is_in(rule_ids))
        .filter(asg::Column::IsActive.eq(true));
    let distinct = sea_orm::sea_query::Expr::cust("COUNT(DISTINCT account_id)");
    super::counts_by(db, q, asg::Column::RuleId, distinct).await
}
