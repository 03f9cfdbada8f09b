//! Idempotent administrator bootstrap (`domain.md` §9.7).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use wf_store::entity::user;

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// `admin` already existed; nothing changed.
    Exists,
    /// Created from `DEFAULT_ADMIN_PASSWORD`.
    CreatedFromEnv,
    /// Created with this generated password (show it exactly once).
    CreatedGenerated(String),
}

/// Create the user `admin` (role `admin`) when no user of that name exists, with
/// `password` or a generated policy-compliant one. `cost` is the bcrypt cost.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    password: Option<&str>,
    cost: u32,
) -> Result<Bootstrap, sea_orm::DbErr> {
    if user::Entity::find()
        .filter(user::Column::Username.eq("admin"))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(Bootstrap::Exists);
    }
    let (plain, outcome) = match password {
        Some(p) => (p.to_string(), Bootstrap::CreatedFromEnv),
        None => {
            let p = crate::passwords::generate(12);
            (p.clone(), Bootstrap::CreatedGenerated(p))
        }
    };
    let hash = tokio::task::spawn_blocking(move || crate::passwords::hash(&plain, cost))
        .await
        .unwrap_or_default();
    user::ActiveModel {
        username: Set("admin".into()),
        password: Set(hash),
        role: Set("admin".into()),
        created_at: Set(Utc::now()),
        last_login: Set(None),
        is_active: Set(true),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(outcome)
}
