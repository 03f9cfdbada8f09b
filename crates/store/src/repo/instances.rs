//! Instances (`domain.md` §1.3): the list page statement, look-ups, writes, batch create and
//! delete, statistics and option/export reads.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Order, Query, QueryStatementBuilder, SimpleExpr,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
};
use std::collections::BTreeSet;

use super::{icontains_any, instances_with_tags};
use crate::entity::{credential, instance, instance_tag, tag};

/// Filters of `GET /instances` (`api-v1.md` §4.7).
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Substring of name, host or description (case-insensitive).
    pub search: Option<String>,
    pub db_type: Option<String>,
    /// `Some(true)` active only, `Some(false)` inactive only.
    pub active: Option<bool>,
    /// Instances carrying any of these tag names.
    pub tags: Vec<String>,
    pub include_deleted: bool,
}

impl InstanceFilter {
    fn condition(&self) -> Condition {
        use instance::Column as C;
        let mut cond = Condition::all();
        if let Some(s) = &self.search {
            cond = cond.add(icontains_any(&[C::Name, C::Host, C::Description], s));
        }
        if let Some(t) = &self.db_type {
            cond = cond.add(C::DbType.eq(t.as_str()));
        }
        cond = super::flag(cond, C::IsActive, self.active);
        if !self.tags.is_empty() {
            cond = cond.add(C::Id.in_subquery(instances_with_tags(self.tags.clone())));
        }
        if !self.include_deleted {
            cond = cond.add(C::DeletedAt.is_null());
        }
        cond
    }
}

/// Sort keys of the instance list; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceSort {
    Id,
    Name,
    DbType,
    Host,
    LastSyncTime,
}

/// One row of the instance page statement: instance columns, the total of matching rows,
/// the per-instance aggregates and at most one tag (one row per tag of the instance).
#[derive(Debug, FromQueryResult)]
pub struct ListRow {
    pub id: i32,
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub description: Option<String>,
    pub is_active: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    pub main_version: Option<String>,
    pub total_count: i64,
    pub active_db_count: i64,
    pub active_account_count: i64,
    pub last_sync_time: Option<DateTime<Utc>>,
    pub tag_name: Option<String>,
    pub tag_display_name: Option<String>,
    pub tag_color: Option<String>,
}

/// Latest completed account/capacity sync of the instance whose id is `{ID}`.
const LAST_SYNC_SQL: &str = "(SELECT MAX(r.completed_at) FROM sync_instance_records r WHERE r.instance_id = {ID} \
AND r.status = 'completed' AND r.sync_category IN ('account', 'capacity'))";
const ACTIVE_DBS_SQL: &str = "(SELECT COUNT(*) FROM instance_databases d WHERE d.instance_id = page.id AND d.is_active = true)";
const ACTIVE_ACCOUNTS_SQL: &str = "(SELECT COUNT(*) FROM instance_accounts a WHERE a.instance_id = page.id AND a.is_active = true)";

/// The statement counting the filter's rows; its text and values identify the filter (cache
/// key of the services' cached totals).
pub fn count_statement(db: &impl ConnectionTrait, filter: &InstanceFilter) -> Statement {
    db.get_database_backend().build(&count_query(filter))
}

fn count_query(filter: &InstanceFilter) -> sea_orm::sea_query::SelectStatement {
    instance::Entity::find()
        .filter(filter.condition())
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_query()
}

/// Number of instances matching the filter.
pub async fn count(db: &impl ConnectionTrait, filter: &InstanceFilter) -> Result<u64, DbErr> {
    instance::Entity::find()
        .filter(filter.condition())
        .count(db)
        .await
}

/// Rows between two page anchors of the id order (see [`anchor_ids`]).
pub const ANCHOR_STEP: u64 = 1_000;

/// Page anchors of the filter in id order (`desc`: newest first): the ids at 0-based positions
/// `ANCHOR_STEP`, `2 × ANCHOR_STEP`, … — one index-only pass over the filtered ids. A deep
/// page then starts at the anchor before it (`WHERE id <= anchor`) and skips fewer than
/// `ANCHOR_STEP` rows, so its cost does not grow with the fleet (issue 12).
pub async fn anchor_ids(
    db: &impl ConnectionTrait,
    filter: &InstanceFilter,
    desc: bool,
) -> Result<Vec<i32>, DbErr> {
    #[derive(FromQueryResult)]
    struct Anchor {
        id: i32,
    }
    let dir = if desc { "DESC" } else { "ASC" };
    let mut ranked = instance::Entity::find()
        .filter(filter.condition())
        .select_only()
        .column(instance::Column::Id)
        .into_query();
    ranked.expr_as(
        Expr::cust(format!("ROW_NUMBER() OVER (ORDER BY instances.id {dir})")),
        Alias::new("rn"),
    );
    let mut q = Query::select();
    q.column(Alias::new("id"))
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::cust(format!(
            "(rn - 1) % {ANCHOR_STEP} = 0 AND rn > 1"
        )))
        .order_by(Alias::new("rn"), Order::Asc);
    let stmt = db.get_database_backend().build(&q);
    Ok(Anchor::find_by_statement(stmt)
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect())
}

/// One page of the instance list as **one statement**: the filtered, sorted page is a
/// subquery (`start_id` — a page anchor of the id order — lets a deep page start near its
/// rows instead of skipping up to the whole fleet); the total
/// is an uncorrelated scalar subquery (or `known_total`, passed as a parameter so the
/// statement text stays the same); aggregates are correlated to the page's rows only; tags are
/// joined in, sorted by name. `offset` must fit in `i64`.
#[allow(clippy::too_many_arguments)]
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &InstanceFilter,
    sort: InstanceSort,
    desc: bool,
    offset: u64,
    limit: u64,
    known_total: Option<u64>,
    start_id: Option<i32>,
) -> Result<Vec<ListRow>, DbErr> {
    use instance::Column as C;
    let ord = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let dir = if desc { Order::Desc } else { Order::Asc };
    let sort_col = match sort {
        InstanceSort::Name => Some("name"),
        InstanceSort::DbType => Some("db_type"),
        InstanceSort::Host => Some("host"),
        InstanceSort::Id | InstanceSort::LastSyncTime => None,
    };
    let last_sync_inner = LAST_SYNC_SQL.replace("{ID}", "instances.id");
    let last_sync_outer = LAST_SYNC_SQL.replace("{ID}", "page.id");
    let mut inner = instance::Entity::find().filter(filter.condition());
    if let Some(start) = start_id {
        inner = inner.filter(if desc {
            C::Id.lte(start)
        } else {
            C::Id.gte(start)
        });
    }
    if sort == InstanceSort::LastSyncTime {
        inner = inner.order_by(Expr::cust(last_sync_inner), ord.clone());
    } else if let Some(col) = sort_col {
        inner = inner.order_by(Expr::col((instance::Entity, Alias::new(col))), ord.clone());
    }
    // A substring search or a tag filter is answered from its own indexes (trigram bitmap,
    // tag links) and the page is sorted after: walking the id index would filter row by row
    // until 20 matches turn up — the whole fleet for a rare name (the pool's generic plans
    // cannot tell a rare term from a common one).
    let id_order = if filter.search.is_some() || !filter.tags.is_empty() {
        Expr::cust("\"instances\".\"id\" + 0")
    } else {
        Expr::col((instance::Entity, C::Id))
    };
    let inner = inner
        .order_by(id_order, ord)
        .select_only()
        .columns([
            C::Id,
            C::Name,
            C::DbType,
            C::Host,
            C::Port,
            C::Description,
            C::IsActive,
            C::DeletedAt,
            C::MainVersion,
        ])
        .limit(limit)
        .offset(offset)
        .into_query();
    let page_alias = Alias::new("page");
    let t = Alias::new("t");
    let mut outer = Query::select();
    outer
        .column((page_alias.clone(), Asterisk))
        .expr_as(
            match known_total {
                Some(n) => Expr::val(n as i64),
                None => SimpleExpr::SubQuery(
                    None,
                    Box::new(count_query(filter).into_sub_query_statement()),
                ),
            },
            Alias::new("total_count"),
        )
        .expr_as(Expr::cust(ACTIVE_DBS_SQL), Alias::new("active_db_count"))
        .expr_as(
            Expr::cust(ACTIVE_ACCOUNTS_SQL),
            Alias::new("active_account_count"),
        )
        .expr_as(
            Expr::cust(last_sync_outer.clone()),
            Alias::new("last_sync_time"),
        )
        .expr_as(
            Expr::col((t.clone(), Alias::new("name"))),
            Alias::new("tag_name"),
        )
        .expr_as(
            Expr::col((t.clone(), Alias::new("display_name"))),
            Alias::new("tag_display_name"),
        )
        .expr_as(
            Expr::col((t.clone(), Alias::new("color"))),
            Alias::new("tag_color"),
        )
        .from_subquery(inner, page_alias.clone())
        .left_join(
            Alias::new("instance_tags"),
            Expr::col((Alias::new("instance_tags"), Alias::new("instance_id")))
                .equals((page_alias.clone(), Alias::new("id"))),
        )
        .join_as(
            sea_orm::JoinType::LeftJoin,
            Alias::new("tags"),
            t.clone(),
            Expr::col((t.clone(), Alias::new("id")))
                .equals((Alias::new("instance_tags"), Alias::new("tag_id"))),
        );
    if sort == InstanceSort::LastSyncTime {
        outer.order_by_expr(Expr::cust(last_sync_outer), dir.clone());
    } else if let Some(col) = sort_col {
        outer.order_by((page_alias.clone(), Alias::new(col)), dir.clone());
    }
    outer
        .order_by((page_alias, Alias::new("id")), dir)
        .order_by((t, Alias::new("name")), Order::Asc);
    let stmt = db.get_database_backend().build(&outer);
    ListRow::find_by_statement(stmt).all(db).await
}

/// Instance by id (soft-deleted included).
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<instance::Model>, DbErr> {
    instance::Entity::find_by_id(id).one(db).await
}

/// Instances by id (any order; unknown ids are skipped).
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<Vec<instance::Model>, DbErr> {
    instance::Entity::find()
        .filter(instance::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// The ids among `ids` that exist (soft-deleted included).
pub async fn existing_ids(db: &impl ConnectionTrait, ids: &[i32]) -> Result<Vec<i32>, DbErr> {
    super::existing_ids::<instance::Entity>(db, instance::Column::Id, ids).await
}

/// True when another instance (id ≠ `except`) is named `name`.
pub async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    super::taken_by_other::<instance::Entity>(
        db,
        instance::Column::Name,
        instance::Column::Id,
        name,
        except,
    )
    .await
}

/// Fields of a new instance.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub database_name: Option<String>,
    pub credential_id: Option<i32>,
    pub description: String,
    pub is_active: bool,
    pub insecure_tls: bool,
}

impl NewInstance {
    fn active_model(&self, now: DateTime<Utc>) -> instance::ActiveModel {
        instance::ActiveModel {
            name: Set(self.name.clone()),
            db_type: Set(self.db_type.clone()),
            host: Set(self.host.clone()),
            port: Set(self.port),
            database_name: Set(self.database_name.clone()),
            sync_count: Set(0),
            credential_id: Set(self.credential_id),
            description: Set(Some(self.description.clone())),
            is_active: Set(self.is_active),
            insecure_tls: Set(self.insecure_tls),
            created_at: Set(Some(now)),
            updated_at: Set(Some(now)),
            ..Default::default()
        }
    }
}

/// Insert one instance.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewInstance,
) -> Result<instance::Model, DbErr> {
    new.active_model(Utc::now()).insert(db).await
}

/// Insert many instances in statement batches of 200 rows.
pub async fn insert_many(db: &impl ConnectionTrait, rows: &[NewInstance]) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in rows.chunks(200) {
        instance::Entity::insert_many(chunk.iter().map(|r| r.active_model(now)))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Replace-style update: `name`, `db_type`, `host`, `port` always; the optional fields only
/// when `Some` (`Some(None)` clears).
#[derive(Debug, Clone)]
pub struct InstanceChanges {
    pub name: String,
    pub db_type: String,
    pub host: String,
    pub port: i32,
    pub database_name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub credential_id: Option<Option<i32>>,
    pub is_active: Option<bool>,
    pub insecure_tls: Option<bool>,
}

impl InstanceChanges {
    /// The row a create writes: absent optional fields take their defaults (no database, no
    /// credential, empty description, active, TLS required).
    pub fn new_instance(&self) -> NewInstance {
        NewInstance {
            name: self.name.clone(),
            db_type: self.db_type.clone(),
            host: self.host.clone(),
            port: self.port,
            database_name: self.database_name.clone().flatten(),
            credential_id: self.credential_id.flatten(),
            description: self.description.clone().flatten().unwrap_or_default(),
            is_active: self.is_active.unwrap_or(true),
            insecure_tls: self.insecure_tls.unwrap_or(false),
        }
    }
}

/// Apply [`InstanceChanges`] to `current`.
pub async fn update(
    db: &impl ConnectionTrait,
    current: instance::Model,
    ch: &InstanceChanges,
) -> Result<instance::Model, DbErr> {
    let mut am: instance::ActiveModel = current.into();
    am.name = Set(ch.name.clone());
    am.db_type = Set(ch.db_type.clone());
    am.host = Set(ch.host.clone());
    am.port = Set(ch.port);
    if let Some(d) = ch.database_name.clone() {
        am.database_name = Set(d);
    }
    if let Some(d) = ch.description.clone() {
        am.description = Set(d);
    }
    if let Some(c) = ch.credential_id {
        am.credential_id = Set(c);
    }
    if let Some(a) = ch.is_active {
        am.is_active = Set(a);
    }
    if let Some(t) = ch.insecure_tls {
        am.insecure_tls = Set(t);
    }
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Set or clear `deleted_at` (soft delete / restore); `updated_at` becomes now.
pub async fn set_deleted(
    db: &impl ConnectionTrait,
    current: instance::Model,
    deleted_at: Option<DateTime<Utc>>,
) -> Result<instance::Model, DbErr> {
    let mut am: instance::ActiveModel = current.into();
    am.deleted_at = Set(deleted_at);
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Replace the tag links of an instance by the tags named `names` (unknown names ignored).
pub async fn replace_tags(
    db: &impl ConnectionTrait,
    instance_id: i32,
    names: &[String],
) -> Result<(), DbErr> {
    instance_tag::Entity::delete_many()
        .filter(instance_tag::Column::InstanceId.eq(instance_id))
        .exec(db)
        .await?;
    if names.is_empty() {
        return Ok(());
    }
    let ids: Vec<i32> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Id)
        .filter(tag::Column::Name.is_in(names.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    instance_tag::Entity::insert_many(ids.into_iter().map(|t| instance_tag::ActiveModel {
        instance_id: Set(instance_id),
        tag_id: Set(t),
        created_at: Set(Some(now)),
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The names among `names` that already exist (queried in chunks of 500).
pub async fn existing_names(
    db: &impl ConnectionTrait,
    names: &[String],
) -> Result<BTreeSet<String>, DbErr> {
    let mut out = BTreeSet::new();
    for chunk in names.chunks(500) {
        let found: Vec<String> = instance::Entity::find()
            .select_only()
            .column(instance::Column::Name)
            .filter(instance::Column::Name.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// The credential ids among `ids` that exist.
pub async fn existing_credentials(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<BTreeSet<i32>, DbErr> {
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(credential::Entity::find()
        .select_only()
        .column(credential::Column::Id)
        .filter(credential::Column::Id.is_in(ids))
        .into_tuple::<i32>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Refresh the planner statistics of `instances` after a bulk load (PostgreSQL only; SQLite
/// has no such need at these sizes).
pub async fn analyze(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE instances").await?;
    }
    Ok(())
}

/// Tables cleared by a hard delete, children first, with their response counter
/// (`api-v1.md` §4.7 batch delete). `{ids}` is replaced by bound parameters.
pub const HARD_DELETE: [(&str, &str); 11] = [
    (
        "deleted_assignments",
        "DELETE FROM account_classification_assignments WHERE account_id IN (SELECT id FROM account_permission WHERE instance_id IN ({ids}))",
    ),
    (
        "deleted_account_permissions",
        "DELETE FROM account_permission WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_sync_records",
        "DELETE FROM sync_instance_records WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_change_logs",
        "DELETE FROM account_change_log WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_accounts",
        "DELETE FROM instance_accounts WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_databases",
        "DELETE FROM instance_databases WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_size_stats",
        "DELETE FROM instance_size_stats WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_instance_size_aggregations",
        "DELETE FROM instance_size_aggregations WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_database_size_stats",
        "DELETE FROM database_size_stats WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_database_size_aggregations",
        "DELETE FROM database_size_aggregations WHERE instance_id IN ({ids})",
    ),
    (
        "deleted_tag_links",
        "DELETE FROM instance_tags WHERE instance_id IN ({ids})",
    ),
];

/// `IN (…)` list of bound parameters for `ids` in the backend's placeholder style.
fn placeholders(backend: sea_orm::DbBackend, n: usize) -> String {
    (1..=n)
        .map(|i| super::param(backend, i))
        .collect::<Vec<_>>()
        .join(",")
}

/// Hard-delete instances and every row that belongs to them; returns the rows removed per
/// counter of [`HARD_DELETE`]. Run it inside a transaction. `ids` must not be empty and is
/// deleted in chunks of 1,000 (bound parameters).
pub async fn hard_delete(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<Vec<(&'static str, u64)>, DbErr> {
    let backend = db.get_database_backend();
    let mut counts: Vec<(&'static str, u64)> = HARD_DELETE.iter().map(|(k, _)| (*k, 0)).collect();
    for chunk in ids.chunks(1000) {
        let list = placeholders(backend, chunk.len());
        let values: Vec<sea_orm::Value> = chunk.iter().map(|i| (*i).into()).collect();
        for (n, (_, sql)) in HARD_DELETE.iter().enumerate() {
            let res = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql.replace("{ids}", &list),
                    values.clone(),
                ))
                .await?;
            counts[n].1 += res.rows_affected();
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("DELETE FROM instances WHERE id IN ({list})"),
            values,
        ))
        .await?;
    }
    Ok(counts)
}

/// Soft-delete the instances among `ids` that are not deleted yet.
pub async fn soft_delete_many(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<u64, DbErr> {
    let now = Utc::now();
    let res = instance::Entity::update_many()
        .col_expr(instance::Column::DeletedAt, Expr::value(now))
        .col_expr(instance::Column::UpdatedAt, Expr::value(now))
        .filter(instance::Column::Id.is_in(ids))
        .filter(instance::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Counters of `GET /instances/statistics`.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub total: u64,
    pub active: u64,
    pub disabled: u64,
    pub deleted: u64,
}

#[derive(FromQueryResult)]
struct CounterRow {
    total: i64,
    active: Option<i64>,
    disabled: Option<i64>,
    deleted: Option<i64>,
}

/// Totals by state in one statement (active/disabled exclude soft-deleted rows).
pub async fn counters(db: &impl ConnectionTrait) -> Result<Counters, DbErr> {
    let sql = "SELECT COUNT(*) AS total, \
SUM(CASE WHEN deleted_at IS NULL AND is_active = true THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN deleted_at IS NULL AND is_active = false THEN 1 ELSE 0 END) AS disabled, \
SUM(CASE WHEN deleted_at IS NOT NULL THEN 1 ELSE 0 END) AS deleted FROM instances";
    let row = CounterRow::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .one(db)
        .await?;
    Ok(row
        .map(|r| Counters {
            total: r.total as u64,
            active: r.active.unwrap_or(0) as u64,
            disabled: r.disabled.unwrap_or(0) as u64,
            deleted: r.deleted.unwrap_or(0) as u64,
        })
        .unwrap_or_default())
}

/// One group of a statistics breakdown.
#[derive(Debug, Clone, FromQueryResult)]
pub struct GroupRow {
    pub key: Option<String>,
    pub db_type: Option<String>,
    pub n: i64,
}

/// Breakdowns of `GET /instances/statistics`: by type, the 10 most used ports, by
/// type and main version.
pub async fn breakdowns(
    db: &impl ConnectionTrait,
) -> Result<(Vec<GroupRow>, Vec<GroupRow>, Vec<GroupRow>), DbErr> {
    let backend = db.get_database_backend();
    let q = |sql: &str| {
        GroupRow::find_by_statement(Statement::from_string(backend, sql.to_string())).all(db)
    };
    Ok((
        q("SELECT db_type AS key, NULL AS db_type, COUNT(*) AS n FROM instances GROUP BY db_type ORDER BY n DESC, db_type").await?,
        q("SELECT CAST(port AS TEXT) AS key, NULL AS db_type, COUNT(*) AS n FROM instances GROUP BY port ORDER BY n DESC, port LIMIT 10").await?,
        q("SELECT main_version AS key, db_type, COUNT(*) AS n FROM instances GROUP BY db_type, main_version ORDER BY db_type, n DESC").await?,
    ))
}

/// Active instances by name, optionally of one type (case-insensitive), for option lists.
pub async fn active_options(
    db: &impl ConnectionTrait,
    db_type: Option<&str>,
) -> Result<Vec<instance::Model>, DbErr> {
    let mut sel = instance::Entity::find().filter(instance::Column::IsActive.eq(true));
    if let Some(t) = db_type {
        sel = sel.filter(
            sea_orm::sea_query::Func::lower(Expr::col(instance::Column::DbType))
                .eq(t.to_lowercase()),
        );
    }
    sel.order_by_asc(instance::Column::Name).all(db).await
}

/// Instances with `is_active = true` (soft-deleted ones included, as the sync-all check of
/// `api-v1.md` §4.10 counts them).
pub async fn count_active(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    instance::Entity::find()
        .filter(instance::Column::IsActive.eq(true))
        .count(db)
        .await
}

/// The instances a fleet sync works on: active and not deleted, by name.
pub async fn sync_targets(db: &impl ConnectionTrait) -> Result<Vec<instance::Model>, DbErr> {
    instance::Entity::find()
        .filter(instance::Column::IsActive.eq(true))
        .filter(instance::Column::DeletedAt.is_null())
        .order_by_asc(instance::Column::Name)
        .all(db)
        .await
}

/// Ids of the active instances.
pub async fn active_ids(db: &impl ConnectionTrait) -> Result<Vec<i32>, DbErr> {
    instance::Entity::find()
        .select_only()
        .column(instance::Column::Id)
        .filter(instance::Column::IsActive.eq(true))
        .into_tuple()
        .all(db)
        .await
}

/// Every instance by id (deleted included), optionally filtered by a search over name, host
/// and description and by type (export, bulk pickers).
pub async fn all_by_id(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    db_type: Option<&str>,
) -> Result<Vec<instance::Model>, DbErr> {
    use instance::Column as C;
    let mut cond = Condition::all();
    if let Some(s) = search {
        cond = cond.add(icontains_any(&[C::Name, C::Host, C::Description], s));
    }
    if let Some(t) = db_type {
        cond = cond.add(C::DbType.eq(t));
    }
    instance::Entity::find()
        .filter(cond)
        .order_by_asc(C::Id)
        .all(db)
        .await
}

/// Add one to `sync_count` and set `last_connected`/`last_check_at` to now (a successful
/// manual sync).
pub async fn record_sync_success(db: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    let now = Utc::now();
    instance::Entity::update_many()
        .col_expr(
            instance::Column::SyncCount,
            Expr::col(instance::Column::SyncCount).add(1),
        )
        .col_expr(instance::Column::LastConnected, Expr::value(now))
        .col_expr(instance::Column::LastCheckAt, Expr::value(now))
        .filter(instance::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Outcome of a connection test written to the instance (`domain.md` §13.6.46): on success
/// the version fields and `last_connected`; always `last_check_at`/`last_connection_error`.
#[derive(Debug, Clone)]
pub enum CheckOutcome {
    Connected {
        database_version: String,
        main_version: String,
        detailed_version: String,
    },
    Failed(String),
}

/// Persist a connection-test outcome.
pub async fn record_check(
    db: &impl ConnectionTrait,
    current: instance::Model,
    outcome: CheckOutcome,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let mut am: instance::ActiveModel = current.into();
    am.last_check_at = Set(Some(now));
    match outcome {
        CheckOutcome::Connected {
            database_version,
            main_version,
            detailed_version,
        } => {
            am.last_connected = Set(Some(now));
            am.last_connection_error = Set(None);
            am.database_version = Set(Some(database_version));
            am.main_version = Set(Some(main_version));
            am.detailed_version = Set(Some(detailed_version));
            am.updated_at = Set(Some(now));
        }
        CheckOutcome::Failed(e) => am.last_connection_error = Set(Some(e)),
    }
    am.update(db).await?;
    Ok(())
}
