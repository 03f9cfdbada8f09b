//! Idempotent administrator bootstrap (`domain.md` §9.7).

use wf_store::Store;
use wf_store::repo::users as repo;

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
    db: &Store,
    password: Option<&str>,
    cost: u32,
) -> Result<Bootstrap, sea_orm::DbErr> {
    if repo::by_username(db, "admin").await?.is_some() {
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
    match repo::insert(db, "admin", &hash, "admin", true).await {
        Ok(_) => Ok(outcome),
        // another node starting at the same moment created it first
        Err(e) => match repo::by_username(db, "admin").await? {
            Some(_) => Ok(Bootstrap::Exists),
            None => Err(e),
        },
    }
}
