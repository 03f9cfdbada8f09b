//! Sync sessions and their per-instance records (`domain.md` §1.17, §2.9): creation with one
//! record per instance, record state changes, cooperative cancel, final status that never
//! overwrites a terminal one, orphan recovery, and the history reads.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::Value;

use super::Paged;
use crate::entity::{sync_instance_record as rec, sync_session as ses};

/// Session statuses (`api-v1.md` §3.4, plus `completed_with_errors` and `interrupted`).
pub mod status {
    pub const RUNNING: &str = "running";
    pub const COMPLETED: &str = "completed";
    pub const COMPLETED_WITH_ERRORS: &str = "completed_with_errors";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
    pub const INTERRUPTED: &str = "interrupted";
    /// Record statuses besides `running`/`completed`/`failed`.
    pub const PENDING: &str = "pending";
    pub const SKIPPED: &str = "skipped";
}

/// A new session: its id, how it was triggered, the category and the instances.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub session_id: &'a str,
    pub sync_type: &'a str,
    pub sync_category: &'a str,
    pub created_by: Option<i32>,
    /// `(instance id, instance name)` in processing order.
    pub instances: &'a [(i32, String)],
}

/// Create a `running` session with one `pending` record per instance (run in a transaction).
pub async fn create(db: &impl ConnectionTrait, s: &NewSession<'_>) -> Result<ses::Model, DbErr> {
    let now = Utc::now();
    let session = ses::ActiveModel {
        session_id: Set(s.session_id.to_string()),
        sync_type: Set(s.sync_type.to_string()),
        sync_category: Set(s.sync_category.to_string()),
        status: Set(status::RUNNING.into()),
        started_at: Set(now),
        completed_at: Set(None),
        total_instances: Set(Some(s.instances.len() as i32)),
        successful_instances: Set(Some(0)),
        failed_instances: Set(Some(0)),
        created_by: Set(s.created_by),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    for chunk in s.instances.chunks(200) {
        rec::Entity::insert_many(chunk.iter().map(|(id, name)| rec::ActiveModel {
            session_id: Set(s.session_id.to_string()),
            instance_id: Set(*id),
            instance_name: Set(Some(name.clone())),
            sync_category: Set(s.sync_category.to_string()),
            status: Set(status::PENDING.into()),
            items_synced: Set(Some(0)),
            items_created: Set(Some(0)),
            items_updated: Set(Some(0)),
            items_deleted: Set(Some(0)),
            created_at: Set(Some(now)),
            ..Default::default()
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(session)
}

/// Session by its UUID.
pub async fn find(
    db: &impl ConnectionTrait,
    session_id: &str,
) -> Result<Option<ses::Model>, DbErr> {
    ses::Entity::find()
        .filter(ses::Column::SessionId.eq(session_id))
        .one(db)
        .await
}

/// The current status of a session (`None` when it does not exist).
pub async fn status_of(
    db: &impl ConnectionTrait,
    session_id: &str,
) -> Result<Option<String>, DbErr> {
    ses::Entity::find()
        .select_only()
        .column(ses::Column::Status)
        .filter(ses::Column::SessionId.eq(session_id))
        .into_tuple()
        .one(db)
        .await
}

/// Records of a session in creation order (`only_status` filters, e.g. `failed`).
pub async fn records(
    db: &impl ConnectionTrait,
    session_id: &str,
    only_status: Option<&str>,
) -> Result<Vec<rec::Model>, DbErr> {
    let mut q = rec::Entity::find().filter(rec::Column::SessionId.eq(session_id));
    if let Some(s) = only_status {
        q = q.filter(rec::Column::Status.eq(s));
    }
    q.order_by_asc(rec::Column::Id).all(db).await
}

/// Mark a record `running` now.
pub async fn start_record(db: &impl ConnectionTrait, record_id: i32) -> Result<(), DbErr> {
    rec::Entity::update_many()
        .col_expr(rec::Column::Status, Expr::value(status::RUNNING))
        .col_expr(rec::Column::StartedAt, Expr::value(Some(Utc::now())))
        .filter(rec::Column::Id.eq(record_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// The end of one instance's work.
#[derive(Debug, Clone, Default)]
pub struct RecordOutcome {
    /// `completed`, `failed`, `skipped` or `cancelled`.
    pub status: &'static str,
    pub items_synced: i32,
    pub items_created: i32,
    pub items_updated: i32,
    pub items_deleted: i32,
    pub error_message: Option<String>,
    pub sync_details: Option<Value>,
}

/// The update writing a record's outcome (`completed_at` = now); callers add the filter.
fn outcome_update(o: RecordOutcome) -> sea_orm::UpdateMany<rec::Entity> {
    rec::Entity::update_many()
        .col_expr(rec::Column::Status, Expr::value(o.status))
        .col_expr(rec::Column::CompletedAt, Expr::value(Some(Utc::now())))
        .col_expr(rec::Column::ItemsSynced, Expr::value(Some(o.items_synced)))
        .col_expr(
            rec::Column::ItemsCreated,
            Expr::value(Some(o.items_created)),
        )
        .col_expr(
            rec::Column::ItemsUpdated,
            Expr::value(Some(o.items_updated)),
        )
        .col_expr(
            rec::Column::ItemsDeleted,
            Expr::value(Some(o.items_deleted)),
        )
        .col_expr(rec::Column::ErrorMessage, Expr::value(o.error_message))
        .col_expr(rec::Column::SyncDetails, Expr::value(o.sync_details))
}

/// Finish a record with its outcome (`completed_at` = now).
pub async fn finish_record(
    db: &impl ConnectionTrait,
    record_id: i32,
    o: RecordOutcome,
) -> Result<(), DbErr> {
    outcome_update(o)
        .filter(rec::Column::Id.eq(record_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Finish every unfinished record of a session at once (set-based runs such as an
/// aggregation): `status`, `sync_details`, and `items_synced` from `items` by instance (0 for
/// the others). Two statements whatever the number of instances.
pub async fn finish_records_bulk(
    db: &impl ConnectionTrait,
    session_id: &str,
    record_status: &str,
    items: &std::collections::HashMap<i32, u64>,
    details: Value,
) -> Result<(), DbErr> {
    let now = Utc::now();
    rec::Entity::update_many()
        .col_expr(rec::Column::Status, Expr::value(record_status))
        .col_expr(rec::Column::StartedAt, Expr::value(Some(now)))
        .col_expr(rec::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(rec::Column::ItemsSynced, Expr::value(Some(0)))
        .col_expr(rec::Column::SyncDetails, Expr::value(Some(details)))
        .filter(rec::Column::SessionId.eq(session_id))
        .filter(rec::Column::Status.is_in([status::PENDING, status::RUNNING]))
        .exec(db)
        .await?;
    if items.is_empty() {
        return Ok(());
    }
    let cases: String = items
        .iter()
        .map(|(i, n)| format!(" WHEN {i} THEN {n}"))
        .collect();
    rec::Entity::update_many()
        .col_expr(
            rec::Column::ItemsSynced,
            Expr::cust(format!("CASE instance_id{cases} ELSE 0 END")),
        )
        .filter(rec::Column::SessionId.eq(session_id))
        .filter(rec::Column::InstanceId.is_in(items.keys().copied().collect::<Vec<_>>()))
        .exec(db)
        .await
        .map(|_| ())
}

/// Update a session's counters (progress while it runs), never backwards: finished records
/// stay finished, so counts only grow, and a count read before another node's later one
/// (several nodes settle one session concurrently) must not overwrite it.
pub async fn set_counters(
    db: &impl ConnectionTrait,
    session_id: &str,
    successful: i32,
    failed: i32,
) -> Result<(), DbErr> {
    ses::Entity::update_many()
        .col_expr(
            ses::Column::SuccessfulInstances,
            Expr::value(Some(successful)),
        )
        .col_expr(ses::Column::FailedInstances, Expr::value(Some(failed)))
        .col_expr(ses::Column::UpdatedAt, Expr::value(Some(Utc::now())))
        .filter(ses::Column::SessionId.eq(session_id))
        .filter(
            Expr::cust("COALESCE(successful_instances, 0) + COALESCE(failed_instances, 0)")
                .lte(successful + failed),
        )
        .exec(db)
        .await
        .map(|_| ())
}

/// Set the final status of a session **only if it is still `running`** (a cancel or an
/// interruption is never overwritten); returns whether it changed.
pub async fn finish(
    db: &impl ConnectionTrait,
    session_id: &str,
    final_status: &str,
    successful: i32,
    failed: i32,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let res = ses::Entity::update_many()
        .col_expr(ses::Column::Status, Expr::value(final_status))
        .col_expr(ses::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(
            ses::Column::SuccessfulInstances,
            Expr::value(Some(successful)),
        )
        .col_expr(ses::Column::FailedInstances, Expr::value(Some(failed)))
        .col_expr(ses::Column::UpdatedAt, Expr::value(Some(now)))
        .filter(ses::Column::SessionId.eq(session_id))
        .filter(ses::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Cancel a `running` session (`completed_at` = now) and its records not yet started
/// (`cancelled`; records already running finish); returns whether it was running.
pub async fn cancel(db: &impl ConnectionTrait, session_id: &str) -> Result<bool, DbErr> {
    let now = Utc::now();
    let res = ses::Entity::update_many()
        .col_expr(ses::Column::Status, Expr::value(status::CANCELLED))
        .col_expr(ses::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(ses::Column::UpdatedAt, Expr::value(Some(now)))
        .filter(ses::Column::SessionId.eq(session_id))
        .filter(ses::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        rec::Entity::update_many()
            .col_expr(rec::Column::Status, Expr::value(status::CANCELLED))
            .col_expr(rec::Column::CompletedAt, Expr::value(Some(now)))
            .filter(rec::Column::SessionId.eq(session_id))
            .filter(rec::Column::Status.eq(status::PENDING))
            .exec(db)
            .await?;
    }
    Ok(res.rows_affected == 1)
}

/// Session ids that are `running`.
pub async fn running_ids(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    ses::Entity::find()
        .select_only()
        .column(ses::Column::SessionId)
        .filter(ses::Column::Status.eq(status::RUNNING))
        .into_tuple()
        .all(db)
        .await
}

/// Session ids that are `running` and are not queue sessions (their runner holds a lease).
pub async fn running_ids_outside_queue(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    ses::Entity::find()
        .select_only()
        .column(ses::Column::SessionId)
        .filter(ses::Column::Status.eq(status::RUNNING))
        .filter(ses::Column::SyncCategory.is_not_in(QUEUE_CATEGORIES))
        .into_tuple()
        .all(db)
        .await
}

/// Mark sessions `interrupted` and their unfinished records `failed` with `reason`.
pub async fn interrupt(
    db: &impl ConnectionTrait,
    session_ids: Vec<String>,
    reason: &str,
) -> Result<u64, DbErr> {
    if session_ids.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    rec::Entity::update_many()
        .col_expr(rec::Column::Status, Expr::value(status::FAILED))
        .col_expr(rec::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(rec::Column::ErrorMessage, Expr::value(Some(reason)))
        .filter(rec::Column::SessionId.is_in(session_ids.clone()))
        .filter(rec::Column::Status.is_in([status::PENDING, status::RUNNING]))
        .exec(db)
        .await?;
    let res = ses::Entity::update_many()
        .col_expr(ses::Column::Status, Expr::value(status::INTERRUPTED))
        .col_expr(ses::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(ses::Column::UpdatedAt, Expr::value(Some(now)))
        .filter(ses::Column::SessionId.is_in(session_ids))
        .filter(ses::Column::Status.eq(status::RUNNING))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Filters of `GET /history/sessions` (exact matches).
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub sync_type: Option<String>,
    pub sync_category: Option<String>,
    pub status: Option<String>,
}

/// Sort keys of the session list (ties by id descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSort {
    StartedAt,
    CompletedAt,
    Status,
}

/// One page of sessions.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &SessionFilter,
    sort: SessionSort,
    desc: bool,
    page_no: u64,
    size: u64,
) -> Result<Paged<ses::Model>, DbErr> {
    let mut cond = Condition::all();
    for (v, col) in [
        (&f.sync_type, ses::Column::SyncType),
        (&f.sync_category, ses::Column::SyncCategory),
        (&f.status, ses::Column::Status),
    ] {
        if let Some(v) = v {
            cond = cond.add(col.eq(v.as_str()));
        }
    }
    let col = match sort {
        SessionSort::StartedAt => ses::Column::StartedAt,
        SessionSort::CompletedAt => ses::Column::CompletedAt,
        SessionSort::Status => ses::Column::Status,
    };
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let pager = ses::Entity::find()
        .filter(cond)
        .order_by(col, order)
        .order_by(ses::Column::Id, sea_orm::Order::Desc)
        .paginate(db, size);
    super::fetch_page(pager, page_no, size).await
}

/// The session categories whose per-instance records are a work queue shared by the nodes
/// (issue 16): any node claims their records.
pub const QUEUE_CATEGORIES: [&str; 2] = ["account", "capacity"];

/// A record claimed from the queue.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ClaimedRecord {
    pub id: i32,
    pub session_id: String,
    pub instance_id: i32,
    pub sync_category: String,
}

/// Claim up to `n` records of running queue sessions for `holder` until `now + ttl`: pending
/// ones, and running ones whose lease expired (their node died). One statement: on
/// PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED`, so nodes claiming at once
/// never take the same record and never wait on each other; on SQLite the single
/// `UPDATE … RETURNING` runs under the write lock. Oldest records first.
pub async fn claim(
    db: &impl ConnectionTrait,
    holder: &str,
    n: u64,
    ttl: chrono::Duration,
) -> Result<Vec<ClaimedRecord>, DbErr> {
    let backend = db.get_database_backend();
    let p = |i| super::param(backend, i);
    let now = Utc::now();
    let categories = QUEUE_CATEGORIES.map(|c| format!("'{c}'")).join(", ");
    let pick = format!(
        "SELECT q.id FROM sync_instance_records q \
           JOIN sync_sessions s ON s.session_id = q.session_id \
           WHERE q.status IN ('pending', 'running') \
             AND (q.status = 'pending' OR q.lease_expires_at < {{now}}) \
             AND s.status = 'running' AND q.sync_category IN ({categories}) \
           ORDER BY q.id LIMIT {{lim}}"
    );
    let set = "SET status = 'running', claimed_by = {h}, lease_expires_at = {until}, \
           started_at = {now}, attempts = attempts + 1";
    let sql = match backend {
        // the candidates are picked once, in a materialised CTE: as `IN (subquery)` the
        // planner may rescan the `SKIP LOCKED` subquery per row and claim far more than
        // `n` records (seen: 17 syncs at once with a parallelism of 4)
        sea_orm::DbBackend::Postgres => format!(
            "WITH picked AS MATERIALIZED ({pick} FOR UPDATE OF q SKIP LOCKED) \
             UPDATE sync_instance_records r {set} FROM picked WHERE r.id = picked.id \
             RETURNING r.id, r.session_id, r.instance_id, r.sync_category"
        ),
        _ => format!(
            "UPDATE sync_instance_records {set} WHERE id IN ({pick}) \
             RETURNING id, session_id, instance_id, sync_category"
        ),
    }
    .replace("{h}", &p(1))
    .replace("{until}", &p(2))
    .replace("{now}", &p(3))
    .replace("{lim}", &p(4));
    let rows = ClaimedRecord::find_by_statement(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [
            holder.into(),
            (now + ttl).into(),
            now.into(),
            (n as i64).into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows)
}

/// Extend the leases of `holder`'s running records among `ids` to `now + ttl`.
pub async fn renew_claims(
    db: &impl ConnectionTrait,
    holder: &str,
    ids: &[i32],
    ttl: chrono::Duration,
) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = rec::Entity::update_many()
        .col_expr(
            sea_orm::sea_query::Alias::new("lease_expires_at"),
            Expr::value(Some(Utc::now() + ttl)),
        )
        .filter(Expr::col(sea_orm::sea_query::Alias::new("claimed_by")).eq(holder))
        .filter(rec::Column::Status.eq(status::RUNNING))
        .filter(rec::Column::Id.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Finish a claimed record with its outcome **only if `holder` still holds it** (a node whose
/// lease expired and whose record another node re-claimed writes nothing); returns whether
/// it was written.
pub async fn finish_claimed(
    db: &impl ConnectionTrait,
    record_id: i32,
    holder: &str,
    o: RecordOutcome,
) -> Result<bool, DbErr> {
    let res = outcome_update(o)
        .filter(rec::Column::Id.eq(record_id))
        .filter(rec::Column::Status.eq(status::RUNNING))
        .filter(Expr::col(sea_orm::sea_query::Alias::new("claimed_by")).eq(holder))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A session's records by state: `(open, successful, failed)` — open = pending or running,
/// successful = completed, failed = failed or skipped (cancelled records count in neither).
pub async fn progress(
    db: &impl ConnectionTrait,
    session_id: &str,
) -> Result<(i64, i64, i64), DbErr> {
    let rows: Vec<(String, i64)> = rec::Entity::find()
        .select_only()
        .column(rec::Column::Status)
        .column_as(rec::Column::Id.count(), "n")
        .filter(rec::Column::SessionId.eq(session_id))
        .group_by(rec::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = (0, 0, 0);
    for (s, n) in rows {
        match s.as_str() {
            status::PENDING | status::RUNNING => out.0 += n,
            status::COMPLETED => out.1 += n,
            status::FAILED | status::SKIPPED => out.2 += n,
            _ => {}
        }
    }
    Ok(out)
}

/// Running queue sessions none of whose records is open any more (their last worker died
/// between its record and the session's final status).
pub async fn queue_sessions_done(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let open = rec::Entity::find()
        .select_only()
        .column(rec::Column::SessionId)
        .filter(rec::Column::Status.is_in([status::PENDING, status::RUNNING]))
        .into_query();
    ses::Entity::find()
        .select_only()
        .column(ses::Column::SessionId)
        .filter(ses::Column::Status.eq(status::RUNNING))
        .filter(ses::Column::SyncCategory.is_in(QUEUE_CATEGORIES))
        .filter(ses::Column::SessionId.not_in_subquery(open))
        .into_tuple()
        .all(db)
        .await
}

/// Records of sessions that are no longer running (cancelled, interrupted) left `running` by
/// a node that died: `cancelled` once their lease expired. Returns how many.
pub async fn sweep_abandoned(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let ended = ses::Entity::find()
        .select_only()
        .column(ses::Column::SessionId)
        .filter(ses::Column::Status.ne(status::RUNNING))
        .into_query();
    let res = rec::Entity::update_many()
        .col_expr(rec::Column::Status, Expr::value(status::CANCELLED))
        .col_expr(rec::Column::CompletedAt, Expr::value(Some(Utc::now())))
        .filter(rec::Column::Status.eq(status::RUNNING))
        .filter(Expr::col(sea_orm::sea_query::Alias::new("lease_expires_at")).lt(Utc::now()))
        .filter(rec::Column::SessionId.in_subquery(ended))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
