//! Capacity read models (`domain.md` §5.10, `api-v1.md` §4.12–§4.13): aggregation lists and
//! summaries, the database ledger and the size history of a database. Pages are read in SQL;
//! instances in scope are active and not deleted.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::{Paged, icontains, instances_with_tags};
use crate::entity::{
    database_size_aggregation as dsa, database_size_stat as dss, instance,
    instance_database as idb, instance_size_aggregation as isa,
};

/// Active, not deleted instances, optionally of one db type (exact) — `SELECT id`.
fn active_instances(db_type: Option<&str>) -> SelectStatement {
    let mut q = Query::select();
    q.column(instance::Column::Id)
        .from(instance::Entity)
        .and_where(Expr::col(instance::Column::IsActive).eq(true))
        .and_where(Expr::col(instance::Column::DeletedAt).is_null());
    if let Some(t) = db_type {
        q.and_where(Expr::col(instance::Column::DbType).eq(t));
    }
    q
}

/// Filters of the instance aggregation list and summary.
#[derive(Debug, Clone, Default)]
pub struct InstanceAggFilter {
    pub instance_id: Option<i64>,
    pub db_type: Option<String>,
    pub period_type: Option<String>,
    /// `period_start >= start`.
    pub start: Option<NaiveDate>,
    /// `period_end <= end`.
    pub end: Option<NaiveDate>,
}

fn instance_agg_condition(f: &InstanceAggFilter) -> Condition {
    let mut c = Condition::all()
        .add(isa::Column::InstanceId.in_subquery(active_instances(f.db_type.as_deref())));
    if let Some(i) = f.instance_id {
        c = c.add(isa::Column::InstanceId.eq(i));
    }
    if let Some(p) = &f.period_type {
        c = c.add(isa::Column::PeriodType.eq(p.as_str()));
    }
    if let Some(s) = f.start {
        c = c.add(isa::Column::PeriodStart.gte(s));
    }
    if let Some(e) = f.end {
        c = c.add(isa::Column::PeriodEnd.lte(e));
    }
    c
}

/// The count statement text of a filter (key of its cached total).
pub fn instance_agg_count_key(db: &impl ConnectionTrait, f: &InstanceAggFilter) -> String {
    use sea_orm::QueryTrait;
    let q = isa::Entity::find()
        .filter(instance_agg_condition(f))
        .into_query();
    let s = db.get_database_backend().build(&q);
    format!("isa:{}:{:?}", s.sql, s.values)
}

/// Number of instance aggregations matching `f`.
pub async fn instance_agg_count(
    db: &impl ConnectionTrait,
    f: &InstanceAggFilter,
) -> Result<u64, DbErr> {
    isa::Entity::find()
        .filter(instance_agg_condition(f))
        .count(db)
        .await
}

/// One page, newest period first (ties: id desc).
pub async fn instance_agg_page(
    db: &impl ConnectionTrait,
    f: &InstanceAggFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<isa::Model>, DbErr> {
    isa::Entity::find()
        .filter(instance_agg_condition(f))
        .order_by_desc(isa::Column::PeriodStart)
        .order_by_desc(isa::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
}

/// "Top-N" mode: every matching row of the 100 instances with the largest
/// `MAX(total_size_mb)`, by `total_size_mb` desc.
pub async fn instance_agg_top(
    db: &impl ConnectionTrait,
    f: &InstanceAggFilter,
) -> Result<Vec<isa::Model>, DbErr> {
    let mut top = Query::select();
    top.column(isa::Column::InstanceId)
        .from(isa::Entity)
        .cond_where(instance_agg_condition(f))
        .group_by_col(isa::Column::InstanceId)
        .order_by_expr(Expr::col(isa::Column::TotalSizeMb).max(), Order::Desc)
        .limit(100);
    isa::Entity::find()
        .filter(instance_agg_condition(f))
        .filter(isa::Column::InstanceId.in_subquery(top))
        .order_by_desc(isa::Column::TotalSizeMb)
        .order_by_desc(isa::Column::Id)
        .all(db)
        .await
}

/// `{total_instances, total_size_mb, avg_size_mb, max_size_mb}` over the most recent
/// non-deleted instance stat of each active instance within the date range.
#[derive(Debug, Clone, FromQueryResult)]
pub struct InstanceSizeSummary {
    pub total_instances: i64,
    pub total_size_mb: Option<i64>,
    pub avg_size_mb: Option<f64>,
    pub max_size_mb: Option<i64>,
}

/// Instance capacity summary (`domain.md` §5.10) from `instance_size_stats`.
pub async fn instance_size_summary(
    db: &impl ConnectionTrait,
    instance_id: Option<i64>,
    db_type: Option<&str>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Result<InstanceSizeSummary, DbErr> {
    let b = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut range = String::new();
    let push = |values: &mut Vec<sea_orm::Value>, v: sea_orm::Value| {
        values.push(v);
        super::param(b, values.len())
    };
    if let Some(s) = start {
        let p = push(&mut values, s.into());
        range.push_str(&format!(" AND {{t}}.collected_date >= {p}"));
    }
    if let Some(e) = end {
        let p = push(&mut values, e.into());
        range.push_str(&format!(" AND {{t}}.collected_date <= {p}"));
    }
    let mut scope = String::from(
        "s.instance_id IN (SELECT id FROM instances WHERE is_active = true AND deleted_at IS NULL",
    );
    if let Some(t) = db_type {
        let p = push(&mut values, t.into());
        scope.push_str(&format!(" AND db_type = {p}"));
    }
    scope.push(')');
    if let Some(i) = instance_id {
        let p = push(&mut values, i.into());
        scope.push_str(&format!(" AND s.instance_id = {p}"));
    }
    let cast = match b {
        sea_orm::DbBackend::Postgres => "::bigint",
        _ => "",
    };
    let avg = match b {
        sea_orm::DbBackend::Postgres => "AVG(s.total_size_mb)::float8",
        _ => "AVG(s.total_size_mb)",
    };
    let sql = format!(
        "SELECT COUNT(*) AS total_instances, SUM(s.total_size_mb){cast} AS total_size_mb, {avg} AS avg_size_mb, \
MAX(s.total_size_mb){cast} AS max_size_mb FROM instance_size_stats s WHERE s.is_deleted = false AND {scope}{r1} \
AND s.collected_date = (SELECT MAX(s2.collected_date) FROM instance_size_stats s2 WHERE s2.instance_id = s.instance_id \
AND s2.is_deleted = false{r2})",
        r1 = range.replace("{t}", "s"),
        r2 = range.replace("{t}", "s2"),
    );
    InstanceSizeSummary::find_by_statement(Statement::from_sql_and_values(b, sql, values))
        .one(db)
        .await
        .map(|r| {
            r.unwrap_or(InstanceSizeSummary {
                total_instances: 0,
                total_size_mb: None,
                avg_size_mb: None,
                max_size_mb: None,
            })
        })
}

/// Filters of the database aggregation list and summary.
#[derive(Debug, Clone, Default)]
pub struct DatabaseAggFilter {
    pub instance_id: Option<i64>,
    pub db_type: Option<String>,
    pub database_name: Option<String>,
    pub period_type: Option<String>,
    /// `period_end >= start`.
    pub start: Option<NaiveDate>,
    /// `period_end <= end`.
    pub end: Option<NaiveDate>,
}

fn database_agg_condition(f: &DatabaseAggFilter) -> Condition {
    let mut c = Condition::all()
        .add(dsa::Column::InstanceId.in_subquery(active_instances(f.db_type.as_deref())))
        .add(Expr::cust(
            "EXISTS (SELECT 1 FROM instance_databases d WHERE d.instance_id = database_size_aggregations.instance_id \
AND d.database_name = database_size_aggregations.database_name AND d.is_active = true)",
        ));
    if let Some(i) = f.instance_id {
        c = c.add(dsa::Column::InstanceId.eq(i));
    }
    if let Some(n) = &f.database_name {
        c = c.add(dsa::Column::DatabaseName.eq(n.as_str()));
    }
    if let Some(p) = &f.period_type {
        c = c.add(dsa::Column::PeriodType.eq(p.as_str()));
    }
    if let Some(s) = f.start {
        c = c.add(dsa::Column::PeriodEnd.gte(s));
    }
    if let Some(e) = f.end {
        c = c.add(dsa::Column::PeriodEnd.lte(e));
    }
    c
}

/// One page of database aggregations (newest period first) and the filter's total.
pub async fn database_agg_page(
    db: &impl ConnectionTrait,
    f: &DatabaseAggFilter,
    page_no: u64,
    size: u64,
) -> Result<Paged<dsa::Model>, DbErr> {
    let q = dsa::Entity::find()
        .filter(database_agg_condition(f))
        .order_by_desc(dsa::Column::PeriodStart)
        .order_by_desc(dsa::Column::Id);
    super::fetch_page(q.paginate(db, size), page_no, size).await
}

/// "Top-N" mode: every matching row of the 100 (instance, database) pairs with the largest
/// `avg_size_mb`, oldest period first.
pub async fn database_agg_top(
    db: &impl ConnectionTrait,
    f: &DatabaseAggFilter,
) -> Result<Vec<dsa::Model>, DbErr> {
    let mut top = Query::select();
    top.column(dsa::Column::InstanceId)
        .column(dsa::Column::DatabaseName)
        .from(dsa::Entity)
        .cond_where(database_agg_condition(f))
        .group_by_col(dsa::Column::InstanceId)
        .group_by_col(dsa::Column::DatabaseName)
        .order_by_expr(Expr::col(dsa::Column::AvgSizeMb).max(), Order::Desc)
        .limit(100);
    let pairs: Vec<(i32, String)> = {
        let stmt = db.get_database_backend().build(&top);
        db.query_all_raw(stmt)
            .await?
            .into_iter()
            .map(|r| {
                Ok((
                    r.try_get("", "instance_id")?,
                    r.try_get("", "database_name")?,
                ))
            })
            .collect::<Result<_, DbErr>>()?
    };
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let any = pairs.iter().fold(Condition::any(), |c, (i, n)| {
        c.add(
            Condition::all()
                .add(dsa::Column::InstanceId.eq(*i))
                .add(dsa::Column::DatabaseName.eq(n.as_str())),
        )
    });
    dsa::Entity::find()
        .filter(database_agg_condition(f))
        .filter(any)
        .order_by_asc(dsa::Column::PeriodStart)
        .order_by_asc(dsa::Column::Id)
        .all(db)
        .await
}

/// `{total_databases, total_instances, total_size_mb, max_size_mb}` over the latest row (by
/// `period_end`) of every (instance, database, period type) matching `f`.
#[derive(Debug, Clone, FromQueryResult)]
pub struct DatabaseAggSummary {
    pub total_databases: i64,
    pub total_instances: i64,
    pub total_size_mb: Option<i64>,
    pub max_size_mb: Option<i64>,
}

/// Database capacity summary (`api-v1.md` §4.13).
pub async fn database_agg_summary(
    db: &impl ConnectionTrait,
    f: &DatabaseAggFilter,
) -> Result<DatabaseAggSummary, DbErr> {
    use sea_orm::QueryTrait;
    let b = db.get_database_backend();
    let inner = dsa::Entity::find()
        .select_only()
        .columns([
            dsa::Column::InstanceId,
            dsa::Column::DatabaseName,
            dsa::Column::AvgSizeMb,
            dsa::Column::MaxSizeMb,
        ])
        .column_as(
            Expr::cust(
                "ROW_NUMBER() OVER (PARTITION BY instance_id, database_name, period_type ORDER BY period_end DESC, id DESC)",
            ),
            "rn",
        )
        .filter(database_agg_condition(f))
        .into_query();
    let inner = b.build(&inner);
    let cast = match b {
        sea_orm::DbBackend::Postgres => "::bigint",
        _ => "",
    };
    let sql = format!(
        "SELECT COUNT(DISTINCT instance_id || ':' || database_name) AS total_databases, COUNT(DISTINCT instance_id) AS total_instances, \
SUM(avg_size_mb){cast} AS total_size_mb, MAX(max_size_mb){cast} AS max_size_mb FROM ({}) latest WHERE rn = 1",
        inner.sql
    );
    DatabaseAggSummary::find_by_statement(Statement::from_sql_and_values(
        b,
        sql,
        inner.values.map(|v| v.0).unwrap_or_default(),
    ))
    .one(db)
    .await
    .map(|r| {
        r.unwrap_or(DatabaseAggSummary {
            total_databases: 0,
            total_instances: 0,
            total_size_mb: None,
            max_size_mb: None,
        })
    })
}

/// Filters of the database ledger.
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub search: Option<String>,
    /// Lower-case db type.
    pub db_type: Option<String>,
    pub tags: Vec<String>,
}

fn ledger_condition(f: &LedgerFilter) -> Condition {
    let mut c = Condition::all()
        .add(idb::Column::IsActive.eq(true))
        .add(idb::Column::InstanceId.in_subquery(active_instances(f.db_type.as_deref())));
    if let Some(s) = &f.search {
        c = c.add(
            Condition::any()
                .add(icontains((idb::Entity, idb::Column::DatabaseName), s))
                .add(idb::Column::InstanceId.in_subquery(super::instances_named_like(s))),
        );
    }
    if !f.tags.is_empty() {
        c = c.add(idb::Column::InstanceId.in_subquery(instances_with_tags(f.tags.clone())));
    }
    c
}

/// A ledger row: the inventory database and its instance.
#[derive(Debug, Clone, FromQueryResult)]
pub struct LedgerRow {
    pub id: i32,
    pub database_name: String,
    pub instance_id: i32,
    pub instance_name: String,
    pub host: String,
    pub db_type: String,
}

fn ledger_select(f: &LedgerFilter) -> sea_orm::Select<idb::Entity> {
    use sea_orm::JoinType;
    idb::Entity::find()
        .select_only()
        .columns([
            idb::Column::Id,
            idb::Column::DatabaseName,
            idb::Column::InstanceId,
        ])
        .column_as(
            Expr::col((instance::Entity, instance::Column::Name)),
            "instance_name",
        )
        .column_as(
            Expr::col((instance::Entity, instance::Column::Host)),
            "host",
        )
        .column_as(
            Expr::col((instance::Entity, instance::Column::DbType)),
            "db_type",
        )
        .join(
            JoinType::InnerJoin,
            idb::Entity::belongs_to(instance::Entity)
                .from(idb::Column::InstanceId)
                .to(instance::Column::Id)
                .into(),
        )
        .filter(ledger_condition(f))
        .order_by(
            Expr::col((instance::Entity, instance::Column::Name)),
            Order::Asc,
        )
        .order_by_asc(idb::Column::DatabaseName)
        .order_by_asc(idb::Column::Id)
}

/// One ledger page (by instance name, then database name) and the total.
pub async fn ledger_page(
    db: &impl ConnectionTrait,
    f: &LedgerFilter,
    page_no: u64,
    size: u64,
) -> Result<Paged<LedgerRow>, DbErr> {
    let total = idb::Entity::find()
        .filter(ledger_condition(f))
        .count(db)
        .await?;
    let rows = match (page_no - 1).checked_mul(size).filter(|o| *o < total) {
        Some(offset) => {
            ledger_select(f)
                .offset(offset)
                .limit(size)
                .into_model::<LedgerRow>()
                .all(db)
                .await?
        }
        None => Vec::new(),
    };
    Ok(Paged { total, rows })
}

/// Every ledger row (exports), in ledger order.
pub async fn ledger_all(
    db: &impl ConnectionTrait,
    f: &LedgerFilter,
) -> Result<Vec<LedgerRow>, DbErr> {
    ledger_select(f).into_model::<LedgerRow>().all(db).await
}

/// The latest size stat (by date, then collection time) of each `(instance_id,
/// database_name)`, keyed by the pair.
pub async fn latest_sizes(
    db: &impl ConnectionTrait,
    pairs: &[(i32, String)],
) -> Result<std::collections::HashMap<(i32, String), dss::Model>, DbErr> {
    let mut out = std::collections::HashMap::new();
    for chunk in pairs.chunks(200) {
        let ids: Vec<i32> = chunk.iter().map(|p| p.0).collect();
        let names: Vec<String> = chunk.iter().map(|p| p.1.clone()).collect();
        let rows = dss::Entity::find()
            .filter(dss::Column::InstanceId.is_in(ids))
            .filter(dss::Column::DatabaseName.is_in(names))
            .filter(Expr::cust(
                "collected_date = (SELECT MAX(s2.collected_date) FROM database_size_stats s2 \
WHERE s2.instance_id = database_size_stats.instance_id AND s2.database_name = database_size_stats.database_name)",
            ))
            .all(db)
            .await?;
        for r in rows {
            let key = (r.instance_id, r.database_name.clone());
            if chunk.contains(&key) {
                out.insert(key, r);
            }
        }
    }
    Ok(out)
}

/// Size stats of one database since `since` (inclusive), oldest first.
pub async fn size_history(
    db: &impl ConnectionTrait,
    instance_id: i32,
    database_name: &str,
    since: NaiveDate,
) -> Result<Vec<dss::Model>, DbErr> {
    dss::Entity::find()
        .filter(dss::Column::InstanceId.eq(instance_id))
        .filter(dss::Column::DatabaseName.eq(database_name))
        .filter(dss::Column::CollectedDate.gte(since))
        .order_by_asc(dss::Column::CollectedAt)
        .all(db)
        .await
}

/// Inventory database by id.
pub async fn inventory_database(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<idb::Model>, DbErr> {
    idb::Entity::find_by_id(id).one(db).await
}

/// Which size stats of one instance to read (`/instances/{id}/databases/sizes`).
#[derive(Debug, Clone, Default)]
pub struct SizeRowsFilter {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    /// Case-insensitive substring of the database name.
    pub name: Option<String>,
    /// Only databases active in the inventory or unknown to it.
    pub active_only: bool,
}

fn size_rows_select(instance_id: i32, f: &SizeRowsFilter) -> sea_orm::Select<dss::Entity> {
    let mut q = dss::Entity::find().filter(dss::Column::InstanceId.eq(instance_id));
    if let Some(s) = f.start {
        q = q.filter(dss::Column::CollectedDate.gte(s));
    }
    if let Some(e) = f.end {
        q = q.filter(dss::Column::CollectedDate.lte(e));
    }
    if let Some(n) = &f.name {
        q = q.filter(icontains(dss::Column::DatabaseName, n));
    }
    if f.active_only {
        q = q.filter(Expr::cust(
            "NOT EXISTS (SELECT 1 FROM instance_databases d WHERE d.instance_id = database_size_stats.instance_id \
AND d.database_name = database_size_stats.database_name AND d.is_active = false)",
        ));
    }
    q
}

/// History mode: a page of size stats (newest date first, then name) and the total.
pub async fn instance_size_page(
    db: &impl ConnectionTrait,
    instance_id: i32,
    f: &SizeRowsFilter,
    offset: u64,
    limit: u64,
) -> Result<Paged<dss::Model>, DbErr> {
    let total = size_rows_select(instance_id, f).count(db).await?;
    let rows = size_rows_select(instance_id, f)
        .order_by_desc(dss::Column::CollectedDate)
        .order_by_asc(dss::Column::DatabaseName)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok(Paged { total, rows })
}

/// Latest mode: the most recent stat of every database name of the instance (by date, then
/// collection time), unordered.
pub async fn instance_latest_sizes(
    db: &impl ConnectionTrait,
    instance_id: i32,
    f: &SizeRowsFilter,
) -> Result<Vec<dss::Model>, DbErr> {
    size_rows_select(instance_id, f)
        .filter(Expr::cust(
            "collected_date = (SELECT MAX(s2.collected_date) FROM database_size_stats s2 \
WHERE s2.instance_id = database_size_stats.instance_id AND s2.database_name = database_size_stats.database_name)",
        ))
        .all(db)
        .await
}

/// Inventory rows of one instance (placeholders of the latest mode).
pub async fn inventory_of(
    db: &impl ConnectionTrait,
    instance_id: i32,
) -> Result<Vec<idb::Model>, DbErr> {
    idb::Entity::find()
        .filter(idb::Column::InstanceId.eq(instance_id))
        .all(db)
        .await
}
