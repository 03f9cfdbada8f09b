//! Repositories: every query of the app's own store (`domain.md` §1). Functions take
//! `&impl ConnectionTrait` (a pool or a transaction, so services decide the transaction
//! boundary) and return entity models or typed rows. The same code runs on SQLite and
//! PostgreSQL; where the SQL differs the function says so. Ids are always bound parameters.

pub mod account_stats;
pub mod account_sync;
pub mod accounts;
pub mod assignments;
pub mod capacity;
pub mod capacity_reads;
pub mod classifications;
pub mod credentials;
pub mod dashboard;
pub mod generations;
pub mod instances;
pub mod leases;
pub mod logs;
pub mod match_stats;
pub mod permissions;
pub mod rules;
pub mod scheduler;
pub mod sessions;
pub mod tags;
pub mod users;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use wf_domain::body::like_escape;

use crate::entity::{instance_tag, tag};

/// One page of rows and the total of the filter (`api-v1.md` §2.10).
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

/// Numbered placeholder `n` (1-based) of hand-written statements: `$n` on PostgreSQL, `?n` on
/// SQLite (so a value used twice is bound once).
pub(crate) fn param(backend: sea_orm::DbBackend, n: usize) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// Case-insensitive substring match of a column, with `%`/`_` escaped.
pub fn icontains<C: sea_orm::sea_query::IntoColumnRef>(col: C, needle: &str) -> SimpleExpr {
    let pattern = format!("%{}%", like_escape(&needle.to_lowercase()));
    Func::lower(Expr::col(col)).like(LikeExpr::new(pattern).escape('\\'))
}

/// `search` over several columns: case-insensitive substring of any of them.
pub fn icontains_any<C: sea_orm::sea_query::IntoColumnRef + Copy>(
    cols: &[C],
    needle: &str,
) -> Condition {
    cols.iter()
        .fold(Condition::any(), |c, col| c.add(icontains(*col, needle)))
}

/// `SELECT id FROM instances` whose name or host contains `needle`, case-insensitive (the
/// instance part of the ledgers' `search`).
pub fn instances_named_like(needle: &str) -> SelectStatement {
    let mut sub = Query::select();
    sub.column(crate::entity::instance::Column::Id)
        .from(crate::entity::instance::Entity)
        .cond_where(
            Condition::any()
                .add(icontains(crate::entity::instance::Column::Name, needle))
                .add(icontains(crate::entity::instance::Column::Host, needle)),
        );
    sub
}

/// `SELECT instance_id` of the instances carrying any of the tag names (`tags` filters).
pub fn instances_with_tags(names: Vec<String>) -> SelectStatement {
    let mut sub = Query::select();
    sub.column((instance_tag::Entity, instance_tag::Column::InstanceId))
        .from(instance_tag::Entity)
        .inner_join(
            tag::Entity,
            Expr::col((tag::Entity, tag::Column::Id))
                .equals((instance_tag::Entity, instance_tag::Column::TagId)),
        )
        .and_where(Expr::col((tag::Entity, tag::Column::Name)).is_in(names));
    sub
}

/// `Some(true)` → `col = true`, `Some(false)` → `col = false`, `None` → no condition.
pub fn flag(cond: Condition, col: impl ColumnTrait, value: Option<bool>) -> Condition {
    match value {
        Some(v) => cond.add(col.eq(v)),
        None => cond,
    }
}

/// The ids among `ids` that exist in `E` (one query; order not kept).
pub async fn existing_ids<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    ids: &[i32],
) -> Result<Vec<i32>, DbErr> {
    E::find()
        .select_only()
        .column(id_col)
        .filter(id_col.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await
}

/// Counts grouped by an integer key column: `SELECT key, <count> … GROUP BY key` over the
/// filtered `query` (usage counts of tags and credentials, rules per classification, rule hits).
pub async fn counts_by<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: sea_orm::Select<E>,
    key: E::Column,
    count: SimpleExpr,
) -> Result<std::collections::HashMap<i32, i64>, DbErr> {
    #[derive(sea_orm::FromQueryResult)]
    struct KeyCount {
        key: i32,
        n: i64,
    }
    Ok(query
        .select_only()
        .column_as(key, "key")
        .column_as(count, "n")
        .group_by(key)
        .into_model::<KeyCount>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.key, r.n))
        .collect())
}

/// True when another row (id ≠ `except`) of `E` already has `value` in the unique column.
pub async fn taken_by_other<E: EntityTrait>(
    db: &impl ConnectionTrait,
    unique_col: E::Column,
    id_col: E::Column,
    value: &str,
    except: Option<i32>,
) -> Result<bool, DbErr>
where
    E::Model: Sync,
{
    let mut q = E::find().filter(unique_col.eq(value));
    if let Some(id) = except {
        q = q.filter(id_col.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Count and fetch one page. Pages beyond the end are answered without a query (and without
/// overflowing the offset arithmetic for absurd page numbers).
pub async fn fetch_page<'db, C, S>(
    pager: sea_orm::Paginator<'db, C, S>,
    page_no: u64,
    size: u64,
) -> Result<Paged<S::Item>, DbErr>
where
    C: ConnectionTrait,
    S: sea_orm::SelectorTrait + 'db,
{
    let total = pager.num_items().await?;
    let in_range = (page_no - 1)
        .checked_mul(size)
        .is_some_and(|offset| offset < total);
    let rows = if in_range {
        pager.fetch_page(page_no - 1).await?
    } else {
        Vec::new()
    };
    Ok(Paged { total, rows })
}

/// True when the store refused a write because of a unique or foreign-key constraint (a
/// concurrent duplicate), as opposed to a lost connection or any other failure.
pub fn is_constraint_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(
            sea_orm::SqlErr::UniqueConstraintViolation(_)
                | sea_orm::SqlErr::ForeignKeyConstraintViolation(_)
        )
    )
}

/// A read transaction; with `custom_plans` on PostgreSQL its statements are planned for their
/// parameter values (`SET LOCAL plan_cache_mode = force_custom_plan`) — the pool's connections
/// otherwise use generic plans, which cannot pick trigram indexes for a `LIKE` pattern.
pub async fn read_txn(
    db: &sea_orm::DatabaseConnection,
    custom_plans: bool,
) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    if custom_plans && db.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
    }
    Ok(txn)
}
