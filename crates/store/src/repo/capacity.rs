//! Capacity facts (`domain.md` §1.11–§1.15, §5.2–§5.7): the database inventory of an
//! instance, daily size stats, the instance total of a day, and the period aggregations —
//! computed set-based in one `INSERT … SELECT … ON CONFLICT` per period and level, for all
//! active instances or one, on SQLite and PostgreSQL. Sizes in MB; dates are China dates.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement,
};
use std::collections::HashMap;

use super::param;
use crate::entity::{database_size_stat as dss, instance_database as idb};
use crate::partitions;

/// How the inventory of one instance changed (`domain.md` §5.2 summary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryChange {
    pub created: u32,
    pub refreshed: u32,
    pub reactivated: u32,
    pub deactivated: u32,
    /// Names seen and kept, sorted.
    pub active_databases: Vec<String>,
}

/// Inventory rows of one instance.
pub async fn databases_of(
    db: &impl ConnectionTrait,
    instance_id: i32,
) -> Result<Vec<idb::Model>, DbErr> {
    idb::Entity::find()
        .filter(idb::Column::InstanceId.eq(instance_id))
        .order_by_asc(idb::Column::DatabaseName)
        .all(db)
        .await
}

/// Reconcile the inventory of one instance with the names seen remotely (already filtered):
/// refresh or reactivate the known ones, insert the new ones, deactivate the active ones not
/// seen. `today` is the China date. Run inside a transaction.
pub async fn reconcile_inventory(
    db: &impl ConnectionTrait,
    instance_id: i32,
    seen: &[String],
    today: NaiveDate,
) -> Result<InventoryChange, DbErr> {
    let now = Utc::now();
    let existing: HashMap<String, idb::Model> = databases_of(db, instance_id)
        .await?
        .into_iter()
        .map(|d| (d.database_name.clone(), d))
        .collect();
    let mut change = InventoryChange::default();
    let mut names: Vec<String> = seen.to_vec();
    names.sort();
    names.dedup();
    let mut new_rows = Vec::new();
    for name in &names {
        match existing.get(name) {
            Some(d) => {
                let reactivate = !d.is_active;
                let mut am: idb::ActiveModel = d.clone().into();
                am.last_seen_date = Set(today);
                am.updated_at = Set(Some(now));
                if reactivate {
                    am.is_active = Set(true);
                    am.deleted_at = Set(None);
                    change.reactivated += 1;
                } else {
                    change.refreshed += 1;
                }
                am.update(db).await?;
            }
            None => {
                change.created += 1;
                new_rows.push(idb::ActiveModel {
                    instance_id: Set(instance_id),
                    database_name: Set(name.clone()),
                    is_active: Set(true),
                    first_seen_date: Set(today),
                    last_seen_date: Set(today),
                    deleted_at: Set(None),
                    created_at: Set(Some(now)),
                    updated_at: Set(Some(now)),
                    ..Default::default()
                });
            }
        }
    }
    if !new_rows.is_empty() {
        idb::Entity::insert_many(new_rows)
            .exec_without_returning(db)
            .await?;
    }
    let gone: Vec<i32> = existing
        .values()
        .filter(|d| d.is_active && !names.contains(&d.database_name))
        .map(|d| d.id)
        .collect();
    if !gone.is_empty() {
        change.deactivated = gone.len() as u32;
        idb::Entity::update_many()
            .col_expr(idb::Column::IsActive, false.into())
            .col_expr(idb::Column::DeletedAt, Some(now).into())
            .col_expr(idb::Column::UpdatedAt, Some(now).into())
            .filter(idb::Column::Id.is_in(gone))
            .exec(db)
            .await?;
    }
    change.active_databases = names;
    Ok(change)
}

/// One size row to store: `(database_name, size_mb, data_size_mb, log_size_mb)`.
pub type SizeRow = (String, i64, Option<i64>, Option<i64>);

/// Upsert the sizes of one instance for `day` (re-collecting the same day overwrites it) and
/// rebuild that day's instance total from the rows whose database is active in the inventory
/// or unknown to it. Returns whether an instance total was written. Run inside a transaction.
pub async fn save_sizes(
    db: &impl ConnectionTrait,
    instance_id: i32,
    day: NaiveDate,
    rows: &[SizeRow],
) -> Result<bool, DbErr> {
    partitions::ensure_months(db, [day]).await?;
    let now = Utc::now();
    for chunk in rows.chunks(500) {
        let models = chunk
            .iter()
            .map(|(name, size, data, log)| dss::ActiveModel {
                instance_id: Set(instance_id),
                database_name: Set(name.clone()),
                size_mb: Set(*size),
                data_size_mb: Set(*data),
                log_size_mb: Set(*log),
                collected_date: Set(day),
                collected_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        dss::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([
                    dss::Column::InstanceId,
                    dss::Column::DatabaseName,
                    dss::Column::CollectedDate,
                ])
                .update_columns([
                    dss::Column::SizeMb,
                    dss::Column::DataSizeMb,
                    dss::Column::LogSizeMb,
                    dss::Column::CollectedAt,
                    dss::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    let backend = db.get_database_backend();
    let p = |n: usize| param(backend, n);
    let sql = format!(
        "INSERT INTO instance_size_stats (instance_id, total_size_mb, database_count, collected_date, collected_at, is_deleted, created_at, updated_at) \
SELECT s.instance_id, SUM(s.size_mb), COUNT(*), s.collected_date, MAX(s.collected_at), false, {now}, {now} \
FROM database_size_stats s LEFT JOIN instance_databases d ON d.instance_id = s.instance_id AND d.database_name = s.database_name \
WHERE s.instance_id = {i} AND s.collected_date = {day} AND (d.id IS NULL OR d.is_active = true) \
GROUP BY s.instance_id, s.collected_date \
ON CONFLICT (instance_id, collected_date) WHERE is_deleted = false DO UPDATE SET total_size_mb = excluded.total_size_mb, \
database_count = excluded.database_count, collected_at = excluded.collected_at, updated_at = excluded.updated_at, deleted_at = NULL",
        now = p(1),
        i = p(2),
        day = p(3)
    );
    let r = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [now.into(), instance_id.into(), day.into()],
        ))
        .await?;
    Ok(r.rows_affected() > 0)
}

/// `trunc()` toward zero as an integer on both stores.
fn trunc(backend: DbBackend, e: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("trunc(({e})::numeric)"),
        _ => format!("CAST(({e}) AS INTEGER)"),
    }
}

/// `round(x, 2)` on both stores (PostgreSQL needs numeric).
fn round2(backend: DbBackend, e: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("round(({e})::numeric, 2)"),
        _ => format!("ROUND(({e}), 2)"),
    }
}

/// Which instances an aggregation covers.
#[derive(Debug, Clone, Copy)]
pub enum AggregationScope {
    /// Every active, not deleted instance.
    Active,
    /// One instance (whatever its state).
    Instance(i32),
}

impl AggregationScope {
    fn condition(self, col: &str) -> String {
        match self {
            AggregationScope::Active => format!(
                "{col} IN (SELECT id FROM instances WHERE is_active = true AND deleted_at IS NULL)"
            ),
            AggregationScope::Instance(id) => format!("{col} = {id}"),
        }
    }
}

/// A period to aggregate: its type name, its range and the previous range (`domain.md`
/// §5.5), all inclusive China dates.
#[derive(Debug, Clone, Copy)]
pub struct PeriodRange {
    pub period_type: &'static str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub prev_start: NaiveDate,
    pub prev_end: NaiveDate,
}

/// Database-level aggregation of one period (`domain.md` §5.6) for the scope, in one
/// statement; `period_end` is rewritten on every run (§13.3 #26). Returns the number of rows
/// written per instance.
pub async fn aggregate_databases(
    db: &impl ConnectionTrait,
    scope: AggregationScope,
    r: &PeriodRange,
) -> Result<HashMap<i32, u64>, DbErr> {
    partitions::ensure_months(db, [r.start]).await?;
    let b = db.get_database_backend();
    let t = |e: &str| trunc(b, e);
    let avg = t("c.avg_s");
    let avg_d = t("c.avg_d");
    let sql = format!(
        "WITH cur AS (SELECT instance_id, database_name, AVG(size_mb) AS avg_s, MAX(size_mb) AS max_s, MIN(size_mb) AS min_s, \
COUNT(*) AS n, AVG(data_size_mb) AS avg_d, MAX(data_size_mb) AS max_d, MIN(data_size_mb) AS min_d \
FROM database_size_stats WHERE collected_date >= {p1} AND collected_date <= {p2} AND {scope} GROUP BY instance_id, database_name), \
prev AS (SELECT instance_id, database_name, AVG(size_mb) AS avg_s, AVG(data_size_mb) AS avg_d \
FROM database_size_stats WHERE collected_date >= {p3} AND collected_date <= {p4} AND {scope} GROUP BY instance_id, database_name) \
INSERT INTO database_size_aggregations (instance_id, database_name, period_type, period_start, period_end, avg_size_mb, max_size_mb, \
min_size_mb, data_count, avg_data_size_mb, max_data_size_mb, min_data_size_mb, avg_log_size_mb, max_log_size_mb, min_log_size_mb, \
size_change_mb, size_change_percent, data_size_change_mb, data_size_change_percent, log_size_change_mb, log_size_change_percent, \
growth_rate, calculated_at, created_at) \
SELECT c.instance_id, c.database_name, {p5}, {p1}, {p2}, {avg}, c.max_s, c.min_s, c.n, {avg_d}, c.max_d, c.min_d, NULL, NULL, NULL, \
CASE WHEN p.instance_id IS NULL THEN 0 ELSE {chg} END, \
CASE WHEN p.instance_id IS NULL OR NOT (p.avg_s > 0) THEN 0 ELSE {pct} END, \
CASE WHEN p.instance_id IS NULL OR c.avg_d IS NULL OR p.avg_d IS NULL THEN 0 ELSE {dchg} END, \
CASE WHEN p.instance_id IS NULL OR c.avg_d IS NULL OR p.avg_d IS NULL OR NOT (p.avg_d > 0) THEN 0 ELSE {dpct} END, \
NULL, NULL, \
CASE WHEN p.instance_id IS NULL OR NOT (p.avg_s > 0) THEN 0 ELSE {pct} END, {p6}, {p6} \
FROM cur c LEFT JOIN prev p ON p.instance_id = c.instance_id AND p.database_name = c.database_name WHERE 1 = 1 \
ON CONFLICT (instance_id, database_name, period_type, period_start) DO UPDATE SET period_end = excluded.period_end, \
avg_size_mb = excluded.avg_size_mb, max_size_mb = excluded.max_size_mb, min_size_mb = excluded.min_size_mb, \
data_count = excluded.data_count, avg_data_size_mb = excluded.avg_data_size_mb, max_data_size_mb = excluded.max_data_size_mb, \
min_data_size_mb = excluded.min_data_size_mb, size_change_mb = excluded.size_change_mb, \
size_change_percent = excluded.size_change_percent, data_size_change_mb = excluded.data_size_change_mb, \
data_size_change_percent = excluded.data_size_change_percent, log_size_change_mb = excluded.log_size_change_mb, \
log_size_change_percent = excluded.log_size_change_percent, growth_rate = excluded.growth_rate, \
calculated_at = excluded.calculated_at \
RETURNING instance_id",
        p1 = param(b, 1),
        p2 = param(b, 2),
        p3 = param(b, 3),
        p4 = param(b, 4),
        p5 = param(b, 5),
        p6 = param(b, 6),
        scope = scope.condition("instance_id"),
        chg = t(&format!("{avg} - p.avg_s")),
        pct = round2(b, &format!("({avg} - p.avg_s) * 100.0 / p.avg_s")),
        dchg = t(&format!("{avg_d} - p.avg_d")),
        dpct = round2(b, &format!("({avg_d} - p.avg_d) * 100.0 / p.avg_d")),
    );
    returning_counts(db, sql, r).await
}

/// Instance-level aggregation of one period (`domain.md` §5.7) for the scope, in one
/// statement. Returns the number of rows written per instance (1 each).
pub async fn aggregate_instances(
    db: &impl ConnectionTrait,
    scope: AggregationScope,
    r: &PeriodRange,
) -> Result<HashMap<i32, u64>, DbErr> {
    partitions::ensure_months(db, [r.start]).await?;
    let b = db.get_database_backend();
    let t = |e: &str| trunc(b, e);
    let total = t("c.st * 1.0 / c.d");
    let avg_n = "(c.sn * 1.0 / c.d)";
    let pct = round2(b, &format!("({total} - p.pt) * 100.0 / p.pt"));
    let sql = format!(
        "WITH days AS (SELECT instance_id, collected_date, SUM(total_size_mb) AS t, SUM(database_count) AS n FROM instance_size_stats \
WHERE is_deleted = false AND collected_date >= {p1} AND collected_date <= {p2} AND {scope} GROUP BY instance_id, collected_date), \
cur AS (SELECT instance_id, SUM(t) AS st, SUM(n) AS sn, COUNT(*) AS d, MAX(t) AS mx, MIN(t) AS mn, MAX(n) AS mxn, MIN(n) AS mnn \
FROM days GROUP BY instance_id), \
pdays AS (SELECT instance_id, collected_date, SUM(total_size_mb) AS t, SUM(database_count) AS n FROM instance_size_stats \
WHERE is_deleted = false AND collected_date >= {p3} AND collected_date <= {p4} AND {scope} GROUP BY instance_id, collected_date), \
prev AS (SELECT instance_id, AVG(t) AS pt, AVG(n) AS pn FROM pdays GROUP BY instance_id) \
INSERT INTO instance_size_aggregations (instance_id, period_type, period_start, period_end, total_size_mb, avg_size_mb, max_size_mb, \
min_size_mb, data_count, database_count, avg_database_count, max_database_count, min_database_count, total_size_change_mb, \
total_size_change_percent, database_count_change, database_count_change_percent, growth_rate, trend_direction, calculated_at, created_at) \
SELECT c.instance_id, {p5}, {p1}, {p2}, {total}, CASE WHEN c.sn > 0 THEN {avg_size} ELSE 0 END, {mx}, {mn}, c.d, {dbc}, {avg_dbc}, \
c.mxn, c.mnn, \
CASE WHEN p.instance_id IS NULL THEN 0 ELSE {chg} END, \
CASE WHEN p.instance_id IS NULL OR NOT (p.pt > 0) THEN 0 ELSE {pct} END, \
CASE WHEN p.instance_id IS NULL THEN 0 ELSE {dchg} END, \
CASE WHEN p.instance_id IS NULL OR NOT (p.pn > 0) THEN 0 ELSE {dpct} END, \
CASE WHEN p.instance_id IS NULL OR NOT (p.pt > 0) THEN 0 ELSE {pct} END, \
CASE WHEN p.instance_id IS NULL OR NOT (p.pt > 0) THEN 'stable' WHEN {pct} > 5 THEN 'growing' WHEN {pct} < -5 THEN 'shrinking' ELSE 'stable' END, \
{p6}, {p6} \
FROM cur c LEFT JOIN prev p ON p.instance_id = c.instance_id WHERE 1 = 1 \
ON CONFLICT (instance_id, period_type, period_start) DO UPDATE SET period_end = excluded.period_end, \
total_size_mb = excluded.total_size_mb, avg_size_mb = excluded.avg_size_mb, max_size_mb = excluded.max_size_mb, \
min_size_mb = excluded.min_size_mb, data_count = excluded.data_count, database_count = excluded.database_count, \
avg_database_count = excluded.avg_database_count, max_database_count = excluded.max_database_count, \
min_database_count = excluded.min_database_count, total_size_change_mb = excluded.total_size_change_mb, \
total_size_change_percent = excluded.total_size_change_percent, database_count_change = excluded.database_count_change, \
database_count_change_percent = excluded.database_count_change_percent, growth_rate = excluded.growth_rate, \
trend_direction = excluded.trend_direction, calculated_at = excluded.calculated_at \
RETURNING instance_id",
        p1 = param(b, 1),
        p2 = param(b, 2),
        p3 = param(b, 3),
        p4 = param(b, 4),
        p5 = param(b, 5),
        p6 = param(b, 6),
        scope = scope.condition("instance_id"),
        avg_size = t("c.st * 1.0 / c.sn"),
        mx = t("c.mx"),
        mn = t("c.mn"),
        dbc = t(avg_n),
        avg_dbc = round2(b, avg_n),
        chg = t(&format!("{total} - p.pt")),
        dchg = t(&format!("{avg_n} - p.pn")),
        dpct = round2(b, &format!("({avg_n} - p.pn) * 100.0 / p.pn")),
    );
    returning_counts(db, sql, r).await
}

async fn returning_counts(
    db: &impl ConnectionTrait,
    sql: String,
    r: &PeriodRange,
) -> Result<HashMap<i32, u64>, DbErr> {
    let now = Utc::now();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [
                r.start.into(),
                r.end.into(),
                r.prev_start.into(),
                r.prev_end.into(),
                r.period_type.into(),
                now.into(),
            ],
        ))
        .await?;
    let mut out: HashMap<i32, u64> = HashMap::new();
    for row in rows {
        let id: i32 = row.try_get("", "instance_id")?;
        *out.entry(id).or_default() += 1;
    }
    Ok(out)
}

/// Rows per day of the capacity pipeline (`domain.md` §6.6): `stats` = `(day, instance stat
/// rows, database stat rows)`, `aggregations` = `(period start, instance rows, database rows)`
/// of one period type.
#[derive(Debug, Clone, Default)]
pub struct PipelineCounts {
    pub stats: Vec<(NaiveDate, i64, i64)>,
    pub aggregations: Vec<(NaiveDate, i64, i64)>,
}

/// Count the pipeline's rows between `start` and `end` (inclusive China dates).
pub async fn daily_counts(
    db: &impl ConnectionTrait,
    start: NaiveDate,
    end: NaiveDate,
    period_type: &str,
) -> Result<PipelineCounts, DbErr> {
    let b = db.get_database_backend();
    let grouped = |table: &str, col: &str, typed: bool| {
        format!(
            "SELECT {col} AS d, COUNT(*) AS n FROM {table} WHERE {col} >= {p1} AND {col} <= {p2}{t} GROUP BY {col}",
            p1 = param(b, 1),
            p2 = param(b, 2),
            t = if typed {
                format!(" AND period_type = {}", param(b, 3))
            } else {
                String::new()
            }
        )
    };
    let run = |sql: String, typed: bool| async move {
        let mut values: Vec<sea_orm::Value> = vec![start.into(), end.into()];
        if typed {
            values.push(period_type.into());
        }
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(b, sql, values))
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get::<NaiveDate>("", "d")?, r.try_get::<i64>("", "n")?)))
            .collect::<Result<HashMap<NaiveDate, i64>, DbErr>>()
    };
    let merge = |a: HashMap<NaiveDate, i64>, b: HashMap<NaiveDate, i64>| {
        let mut days: Vec<NaiveDate> = a.keys().chain(b.keys()).copied().collect();
        days.sort();
        days.dedup();
        days.into_iter()
            .map(|d| {
                (
                    d,
                    a.get(&d).copied().unwrap_or(0),
                    b.get(&d).copied().unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    let is = run(
        grouped("instance_size_stats", "collected_date", false),
        false,
    )
    .await?;
    let ds = run(
        grouped("database_size_stats", "collected_date", false),
        false,
    )
    .await?;
    let ia = run(
        grouped("instance_size_aggregations", "period_start", true),
        true,
    )
    .await?;
    let da = run(
        grouped("database_size_aggregations", "period_start", true),
        true,
    )
    .await?;
    Ok(PipelineCounts {
        stats: merge(is, ds),
        aggregations: merge(ia, da),
    })
}

/// Refresh the planner statistics of the aggregation tables after a large run (PostgreSQL
/// only; fresh partitions have none and the list statements would be planned blind).
pub async fn analyze_aggregations(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE instance_size_aggregations, database_size_aggregations")
            .await?;
    }
    Ok(())
}
