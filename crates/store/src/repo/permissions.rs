//! The permission catalogue of the rule builder (`domain.md` §1.20, seeded by migration m0004).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::permission_config as pc;

/// Active catalogue rows of one db type (matched exactly), ordered by category, sort order,
/// permission name.
pub async fn active_of(db: &impl ConnectionTrait, db_type: &str) -> Result<Vec<pc::Model>, DbErr> {
    pc::Entity::find()
        .filter(pc::Column::DbType.eq(db_type))
        .filter(pc::Column::IsActive.eq(true))
        .order_by_asc(pc::Column::Category)
        .order_by_asc(pc::Column::SortOrder)
        .order_by_asc(pc::Column::PermissionName)
        .all(db)
        .await
}
