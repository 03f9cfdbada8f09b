//! The unified log centre's table (`unified_logs`, `domain.md` §8) and retention.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entity::{sync_session, unified_log};

/// Delete log entries older than `cutoff` and sync sessions created before it (their records
/// cascade): `(logs, sessions)` deleted (`domain.md` §8.5).
pub async fn delete_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let logs = unified_log::Entity::delete_many()
        .filter(unified_log::Column::Timestamp.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    let sessions = sync_session::Entity::delete_many()
        .filter(sync_session::Column::CreatedAt.lt(cutoff))
        .filter(sync_session::Column::Status.ne("running"))
        .exec(db)
        .await?
        .rows_affected;
    Ok((logs, sessions))
}
