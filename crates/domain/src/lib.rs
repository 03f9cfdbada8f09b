//! WhaleFall domain layer: types, errors and pure business logic with no IO.
//!
//! Everything here is deterministic and unit-tested; the store, engines, services and api
//! crates build on it. Section references point at `shared/spec/domain.md` (`domain.md §x`)
//! and `shared/spec/api-v1.md` (`api-v1.md §x`).

pub mod auth;
pub mod body;
pub mod capacity;
pub mod db_type;
pub mod diff;
pub mod dsl;
pub mod error;
pub mod password;
pub mod snapshot;
pub mod theme;
pub mod time;
pub mod trigger;
pub mod version;

pub use auth::{InstanceStatus, Permission, Role};
pub use body::{Body, BodyKind};
pub use error::{AppError, Category, Severity};
