//! Daily classification match statistics (`domain.md` §1.10): one row per (day, rule, db type,
//! instance) and per (day, classification, db type, instance), upserted on their unique keys.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};

use crate::entity::{
    classification_daily_classification_match_stat as cls_stat,
    classification_daily_rule_match_stat as rule_stat,
};

/// Rows per statement.
const CHUNK: usize = 500;

/// One rule's matched-account count on one instance: `(rule_id, classification_id, db_type,
/// instance_id, matched_accounts_count)`.
pub type RuleCount = (i32, i32, String, i32, i32);

/// One classification's distinct matched accounts on one instance: `(classification_id,
/// db_type, instance_id, matched_accounts_distinct_count)`.
pub type ClassificationCount = (i32, String, i32, i32);

/// Upsert the rule rows of `stat_date` (China date); returns how many were written.
pub async fn upsert_rule_counts(
    db: &impl ConnectionTrait,
    stat_date: NaiveDate,
    rows: &[RuleCount],
) -> Result<u64, DbErr> {
    let now = Utc::now();
    for chunk in rows.chunks(CHUNK) {
        let models = chunk
            .iter()
            .map(|(rule, cls, t, inst, n)| rule_stat::ActiveModel {
                stat_date: Set(stat_date),
                rule_id: Set(*rule),
                classification_id: Set(*cls),
                db_type: Set(t.clone()),
                instance_id: Set(*inst),
                matched_accounts_count: Set(*n),
                computed_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        rule_stat::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([
                    rule_stat::Column::StatDate,
                    rule_stat::Column::RuleId,
                    rule_stat::Column::DbType,
                    rule_stat::Column::InstanceId,
                ])
                .update_columns([
                    rule_stat::Column::ClassificationId,
                    rule_stat::Column::MatchedAccountsCount,
                    rule_stat::Column::ComputedAt,
                    rule_stat::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(rows.len() as u64)
}

/// Upsert the classification rows of `stat_date` (China date); returns how many were written.
pub async fn upsert_classification_counts(
    db: &impl ConnectionTrait,
    stat_date: NaiveDate,
    rows: &[ClassificationCount],
) -> Result<u64, DbErr> {
    let now = Utc::now();
    for chunk in rows.chunks(CHUNK) {
        let models = chunk.iter().map(|(cls, t, inst, n)| cls_stat::ActiveModel {
            stat_date: Set(stat_date),
            classification_id: Set(*cls),
            db_type: Set(t.clone()),
            instance_id: Set(*inst),
            matched_accounts_distinct_count: Set(*n),
            computed_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
        cls_stat::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([
                    cls_stat::Column::StatDate,
                    cls_stat::Column::ClassificationId,
                    cls_stat::Column::DbType,
                    cls_stat::Column::InstanceId,
                ])
                .update_columns([
                    cls_stat::Column::MatchedAccountsDistinctCount,
                    cls_stat::Column::ComputedAt,
                    cls_stat::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(rows.len() as u64)
}

/// The rule rows of one day, `(rule_id, instance_id, matched_accounts_count)` by rule then
/// instance (read back by tests and later trend views).
pub async fn rule_counts_of(
    db: &impl ConnectionTrait,
    stat_date: NaiveDate,
) -> Result<Vec<(i32, i32, i32)>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    rule_stat::Entity::find()
        .select_only()
        .columns([
            rule_stat::Column::RuleId,
            rule_stat::Column::InstanceId,
            rule_stat::Column::MatchedAccountsCount,
        ])
        .filter(rule_stat::Column::StatDate.eq(stat_date))
        .order_by_asc(rule_stat::Column::RuleId)
        .order_by_asc(rule_stat::Column::InstanceId)
        .into_tuple()
        .all(db)
        .await
}

/// The classification rows of one day, `(classification_id, instance_id, distinct count)`.
pub async fn classification_counts_of(
    db: &impl ConnectionTrait,
    stat_date: NaiveDate,
) -> Result<Vec<(i32, i32, i32)>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    cls_stat::Entity::find()
        .select_only()
        .columns([
            cls_stat::Column::ClassificationId,
            cls_stat::Column::InstanceId,
            cls_stat::Column::MatchedAccountsDistinctCount,
        ])
        .filter(cls_stat::Column::StatDate.eq(stat_date))
        .order_by_asc(cls_stat::Column::ClassificationId)
        .order_by_asc(cls_stat::Column::InstanceId)
        .into_tuple()
        .all(db)
        .await
}
