//! WhaleFall services (`domain.md` §2–§9): the use cases behind every endpoint and every
//! background job — rules, transactions and typed results, with no HTTP concern. Each takes
//! a [`Services`] handle; failures are one [`ServiceError`]. Queries live in
//! `wf_store::repo`; engine access in `wf_engines`.

pub mod account_reads;
pub mod account_stats;
pub mod accounts;
pub mod admin;
pub mod aggregation;
pub mod cache;
pub mod capacity;
pub mod capacity_reads;
pub mod classification_cache;
pub mod classification_rules;
pub mod classifications;
pub mod classify;
pub mod connection;
pub mod context;
pub mod credentials;
pub mod crypto;
pub mod dashboard;
pub mod error;
pub mod fleet;
pub mod instance_batch;
pub mod instances;
pub mod logcentre;
pub mod logs;
pub mod options;
pub mod partitions;
pub mod passwords;
pub mod scheduler;
pub mod sessions;
pub mod tags;
pub mod users;
pub mod views;

pub use context::{Change, Services};
pub use crypto::CredentialCipher;
pub use error::{ServiceError, ServiceResult};

/// Begin a store transaction; a failure is the endpoint's public error.
pub(crate) async fn begin(
    svc: &Services,
    public: &'static str,
) -> ServiceResult<sea_orm::DatabaseTransaction> {
    use crate::error::Public;
    wf_store::begin_write(&svc.db).await.public(public)
}
