//! Account classifications (`domain.md` §1.9): CRUD and the counts that guard deletion.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;

use crate::entity::{
    account_classification as cls, account_classification_assignment as asg,
    classification_rule as rule,
};

/// Active classifications, highest priority first, then newest.
pub async fn list_active(db: &impl ConnectionTrait) -> Result<Vec<cls::Model>, DbErr> {
    cls::Entity::find()
        .filter(cls::Column::IsActive.eq(true))
        .order_by_desc(cls::Column::Priority)
        .order_by_desc(cls::Column::CreatedAt)
        .order_by_desc(cls::Column::Id)
        .all(db)
        .await
}

/// Classification by id (inactive ones included).
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<cls::Model>, DbErr> {
    cls::Entity::find_by_id(id).one(db).await
}

/// True when another classification (id ≠ `except`) is named `name`.
pub async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    super::taken_by_other::<cls::Entity>(db, cls::Column::Name, cls::Column::Id, name, except).await
}

/// Classification fields written by create and update.
#[derive(Debug, Clone)]
pub struct ClassificationFields {
    pub name: String,
    pub description: String,
    pub risk_level: String,
    /// Colour key.
    pub color: String,
    pub icon_name: String,
    /// 0–100.
    pub priority: i32,
}

/// Insert an active, non-system classification.
pub async fn insert(
    db: &impl ConnectionTrait,
    f: &ClassificationFields,
) -> Result<cls::Model, DbErr> {
    let now = Utc::now();
    cls::ActiveModel {
        name: Set(f.name.clone()),
        description: Set(Some(f.description.clone())),
        risk_level: Set(f.risk_level.clone()),
        color: Set(Some(f.color.clone())),
        icon_name: Set(Some(f.icon_name.clone())),
        priority: Set(Some(f.priority)),
        is_system: Set(false),
        is_active: Set(true),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Update a classification.
pub async fn update(
    db: &impl ConnectionTrait,
    current: cls::Model,
    f: &ClassificationFields,
) -> Result<cls::Model, DbErr> {
    let mut am: cls::ActiveModel = current.into();
    am.name = Set(f.name.clone());
    am.description = Set(Some(f.description.clone()));
    am.risk_level = Set(f.risk_level.clone());
    am.color = Set(Some(f.color.clone()));
    am.icon_name = Set(Some(f.icon_name.clone()));
    am.priority = Set(Some(f.priority));
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Delete a classification.
///
/// Its remaining (inactive) assignments go with it — the repository deletes them, as the
/// assignments carry no foreign keys on PostgreSQL (migration m0005); call it inside a
/// transaction.
pub async fn delete(db: &impl ConnectionTrait, c: cls::Model) -> Result<(), DbErr> {
    asg::Entity::delete_many()
        .filter(asg::Column::ClassificationId.eq(c.id))
        .exec(db)
        .await?;
    c.delete(db).await.map(|_| ())
}

/// Active rules per classification.
pub async fn active_rule_counts(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<HashMap<i32, i64>, DbErr> {
    let q = rule::Entity::find()
        .filter(rule::Column::ClassificationId.is_in(ids))
        .filter(rule::Column::IsActive.eq(true));
    super::counts_by(
        db,
        q,
        rule::Column::ClassificationId,
        rule::Column::Id.count(),
    )
    .await
}

/// What still uses a classification: its rules (any state) and its active assignments.
pub async fn usage(db: &impl ConnectionTrait, id: i32) -> Result<(u64, u64), DbErr> {
    let rules = rule::Entity::find()
        .filter(rule::Column::ClassificationId.eq(id))
        .count(db)
        .await?;
    let assignments = asg::Entity::find()
        .filter(asg::Column::ClassificationId.eq(id))
        .filter(asg::Column::IsActive.eq(true))
        .count(db)
        .await?;
    Ok((rules, assignments))
}
