//! The account ledger (`domain.md` §1.8–1.11): per-instance account pages, the cross-instance
//! ledger, permission rows, change history and classification look-ups; plus the inventory
//! databases of an instance (option lists).

use sea_orm::sea_query::{Expr, ExprTrait, Query, QueryStatementBuilder, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;

use super::{Paged, icontains, instances_with_tags};
use crate::entity::{
    account_change_log, account_classification, account_classification_assignment,
    account_permission, instance, instance_account, instance_database,
};

fn inventory_ids(active: bool) -> SelectStatement {
    let mut sub = Query::select();
    sub.column(instance_account::Column::Id)
        .from(instance_account::Entity)
        .and_where(Expr::col(instance_account::Column::IsActive).eq(active));
    sub
}

/// "The account's inventory row is active". SQLite turns `IN (subquery)` into a loop over the
/// whole subquery and sorts the ledger after (167 ms at 100,000 accounts); a correlated
/// `EXISTS` lets it walk the username index and probe (0.1 ms). PostgreSQL plans both as the
/// same semi-join and keeps `IN`.
fn active_inventory(backend: sea_orm::DbBackend) -> sea_orm::sea_query::SimpleExpr {
    if backend == sea_orm::DbBackend::Sqlite {
        Expr::cust(
            "EXISTS (SELECT 1 FROM \"instance_accounts\" WHERE \"instance_accounts\".\"id\" = \
             \"account_permission\".\"instance_account_id\" AND \"instance_accounts\".\"is_active\" = 1)",
        )
    } else {
        account_permission::Column::InstanceAccountId.in_subquery(inventory_ids(true))
    }
}

/// Sort keys of the account lists (ties by id ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSort {
    Id,
    Username,
    DbType,
    IsSuperuser,
    IsLocked,
    LastChangeTime,
}

impl AccountSort {
    fn column(self) -> account_permission::Column {
        use account_permission::Column as C;
        match self {
            AccountSort::Id => C::Id,
            AccountSort::Username => C::Username,
            AccountSort::DbType => C::DbType,
            AccountSort::IsSuperuser => C::IsSuperuser,
            AccountSort::IsLocked => C::IsLocked,
            AccountSort::LastChangeTime => C::LastChangeTime,
        }
    }
}

async fn account_page(
    db: &impl ConnectionTrait,
    cond: Condition,
    sort: AccountSort,
    desc: bool,
    page_no: u64,
    size: u64,
    known_total: Option<u64>,
) -> Result<Paged<account_permission::Model>, DbErr> {
    let select = account_permission::Entity::find().filter(cond);
    page_of(db, select, sort, desc, page_no, size, known_total, false).await
}

/// One page of `select` in `sort` order (ties by id ascending), read as `M`; with a known
/// (cached) total only the page is read. `sorted_after`: the filter is selective through its
/// own indexes (a search, tags), so the rows are found first and sorted after — walking the
/// username index would test the ledger row by row until a page turns up (the pool's
/// generic plans cannot tell a rare term from a common one).
#[allow(clippy::too_many_arguments)]
async fn page_of<M: FromQueryResult + Send + Sync>(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<account_permission::Entity>,
    sort: AccountSort,
    desc: bool,
    page_no: u64,
    size: u64,
    known_total: Option<u64>,
    sorted_after: bool,
) -> Result<Paged<M>, DbErr> {
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let select = if sorted_after && sort == AccountSort::Username {
        // same order and collation as the column, but no index provides it
        select.order_by(
            Expr::cust("\"account_permission\".\"username\" || ''"),
            order,
        )
    } else {
        select.order_by(sort.column(), order)
    };
    let select = select.order_by(account_permission::Column::Id, sea_orm::Order::Asc);
    let Some(total) = known_total else {
        return super::fetch_page(select.into_model::<M>().paginate(db, size), page_no, size).await;
    };
    let rows = match (page_no - 1).checked_mul(size).filter(|o| *o < total) {
        Some(offset) => {
            // LIMIT/OFFSET as literals: as parameters, the pool's generic plan costs the page
            // as a read of 10 % of the ledger and balanced on the edge of a hash join over the
            // whole table (2 s instead of 0.6 ms at 1,000,000 accounts, issue 12)
            use sea_orm::QueryTrait;
            let mut stmt = db.get_database_backend().build(&select.into_query());
            stmt.sql.push_str(&format!(" LIMIT {size} OFFSET {offset}"));
            M::find_by_statement(stmt).all(db).await?
        }
        None => Vec::new(),
    };
    Ok(Paged { total, rows })
}

/// Which accounts of one instance to list.
#[derive(Debug, Clone)]
pub struct InstanceAccountFilter<'a> {
    pub instance_id: i32,
    /// Username substring.
    pub search: Option<&'a str>,
    /// Also list accounts whose inventory row is inactive.
    pub include_deleted: bool,
}

/// Accounts of one instance (by default only those whose inventory row is active).
pub async fn instance_page(
    db: &impl ConnectionTrait,
    f: &InstanceAccountFilter<'_>,
    sort: AccountSort,
    desc: bool,
    page_no: u64,
    size: u64,
) -> Result<Paged<account_permission::Model>, DbErr> {
    let mut cond = Condition::all().add(account_permission::Column::InstanceId.eq(f.instance_id));
    if let Some(s) = f.search {
        cond = cond.add(icontains(account_permission::Column::Username, s));
    }
    if !f.include_deleted {
        cond = cond.add(active_inventory(db.get_database_backend()));
    }
    account_page(db, cond, sort, desc, page_no, size, None).await
}

/// Summary of one instance's accounts.
#[derive(Debug, Clone, Default, FromQueryResult)]
pub struct AccountSummary {
    pub total: i64,
    pub active: Option<i64>,
    pub superuser: Option<i64>,
}

/// Totals of one instance's accounts: all, active inventory rows, superusers.
pub async fn instance_summary(
    db: &impl ConnectionTrait,
    instance_id: i32,
) -> Result<AccountSummary, DbErr> {
    let backend = db.get_database_backend();
    // placeholder style differs: `$1` on PostgreSQL, `?` on SQLite
    let param = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT COUNT(*) AS total, SUM(CASE WHEN ia.is_active THEN 1 ELSE 0 END) AS active, \
SUM(CASE WHEN ap.is_superuser THEN 1 ELSE 0 END) AS superuser FROM account_permission ap \
JOIN instance_accounts ia ON ia.id = ap.instance_account_id WHERE ap.instance_id = {param}"
    );
    Ok(
        AccountSummary::find_by_statement(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [instance_id.into()],
        ))
        .one(db)
        .await?
        .unwrap_or_default(),
    )
}

/// `is_active` of inventory rows by id.
pub async fn inventory_active(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<HashMap<i32, bool>, DbErr> {
    Ok(instance_account::Entity::find()
        .filter(instance_account::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.is_active))
        .collect())
}

/// Account (permission row) by id.
pub async fn find(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<account_permission::Model>, DbErr> {
    account_permission::Entity::find_by_id(id).one(db).await
}

/// The 50 newest change-log entries of one account of one instance.
pub async fn history(
    db: &impl ConnectionTrait,
    instance_id: i32,
    username: &str,
    db_type: &str,
) -> Result<Vec<account_change_log::Model>, DbErr> {
    account_change_log::Entity::find()
        .filter(account_change_log::Column::InstanceId.eq(instance_id))
        .filter(account_change_log::Column::Username.eq(username))
        .filter(account_change_log::Column::DbType.eq(db_type))
        .order_by_desc(account_change_log::Column::ChangeTime)
        .order_by_desc(account_change_log::Column::Id)
        .limit(50)
        .all(db)
        .await
}

/// Filters of the account ledger (`GET /accounts/ledgers`).
#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    /// Substring of the username, or of the instance's name or host.
    pub search: Option<String>,
    pub db_type: Option<String>,
    pub instance_id: Option<i64>,
    pub is_locked: Option<bool>,
    pub is_superuser: Option<bool>,
    pub tags: Vec<String>,
    pub classification_id: Option<i64>,
}

/// A ledger row: the account's list columns and its instance's name and host (null when the
/// instance row is gone). Permission documents are not read.
#[derive(Debug, Clone, FromQueryResult)]
pub struct LedgerRow {
    pub id: i32,
    pub username: String,
    pub instance_id: i32,
    pub db_type: String,
    pub is_locked: bool,
    pub is_superuser: bool,
    pub instance_name: Option<String>,
    pub instance_host: Option<String>,
}

/// Ledger rows matching `f`, joined to their instance.
fn ledger_select(
    backend: sea_orm::DbBackend,
    f: &LedgerFilter,
) -> sea_orm::Select<account_permission::Entity> {
    use account_permission::Column as C;
    use sea_orm::JoinType;
    account_permission::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::Username,
            C::InstanceId,
            C::DbType,
            C::IsLocked,
            C::IsSuperuser,
        ])
        .column_as(
            Expr::col((instance::Entity, instance::Column::Name)),
            "instance_name",
        )
        .column_as(
            Expr::col((instance::Entity, instance::Column::Host)),
            "instance_host",
        )
        .join(
            JoinType::LeftJoin,
            account_permission::Entity::belongs_to(instance::Entity)
                .from(C::InstanceId)
                .to(instance::Column::Id)
                .into(),
        )
        .filter(ledger_condition(backend, f))
}

/// One page of the ledger: accounts whose inventory row is active.
pub async fn ledger_page(
    db: &impl ConnectionTrait,
    f: &LedgerFilter,
    sort: AccountSort,
    desc: bool,
    page_no: u64,
    size: u64,
    known_total: Option<u64>,
) -> Result<Paged<LedgerRow>, DbErr> {
    page_of(
        db,
        ledger_select(db.get_database_backend(), f),
        sort,
        desc,
        page_no,
        size,
        known_total,
        f.search.is_some() || !f.tags.is_empty(),
    )
    .await
}

/// The number of ledger rows matching `f`.
pub async fn ledger_count(db: &impl ConnectionTrait, f: &LedgerFilter) -> Result<u64, DbErr> {
    account_permission::Entity::find()
        .filter(ledger_condition(db.get_database_backend(), f))
        .count(db)
        .await
}

/// The ledger filter's count statement as text: the key of its cached total.
pub fn ledger_count_key(db: &impl ConnectionTrait, f: &LedgerFilter) -> String {
    use sea_orm::QueryTrait;
    let q = account_permission::Entity::find()
        .filter(ledger_condition(db.get_database_backend(), f))
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .into_query();
    let stmt = db.get_database_backend().build(&q);
    format!("{}:{:?}", stmt.sql, stmt.values)
}

/// Up to `limit` ledger rows matching `f` after the keyset `(username, id)`, ordered by
/// username then id (the account export reads the whole ledger in such pages).
pub async fn ledger_export_page(
    db: &impl ConnectionTrait,
    f: &LedgerFilter,
    after: Option<(String, i32)>,
    limit: u64,
) -> Result<Vec<LedgerRow>, DbErr> {
    use account_permission::Column as C;
    let mut select = ledger_select(db.get_database_backend(), f);
    if let Some((name, id)) = after {
        select = select.filter(
            Condition::any()
                .add(C::Username.gt(name.clone()))
                .add(Condition::all().add(C::Username.eq(name)).add(C::Id.gt(id))),
        );
    }
    select
        .order_by_asc(C::Username)
        .order_by_asc(C::Id)
        .limit(limit)
        .into_model::<LedgerRow>()
        .all(db)
        .await
}

fn ledger_condition(backend: sea_orm::DbBackend, f: &LedgerFilter) -> Condition {
    use account_permission::Column as C;
    let mut cond = Condition::all().add(active_inventory(backend));
    if let Some(s) = &f.search {
        let sub = super::instances_named_like(s);
        let of_instances = if backend == sea_orm::DbBackend::Postgres {
            // `instance_id = ANY(ARRAY(…))` is an index condition, so the username trigram
            // bitmap and the instance_id b-tree combine (`IN (subquery)` under OR scans)
            Expr::cust_with_expr(
                "\"account_permission\".\"instance_id\" = ANY(ARRAY($1))",
                sea_orm::sea_query::SimpleExpr::SubQuery(
                    None,
                    Box::new(sub.into_sub_query_statement()),
                ),
            )
        } else {
            C::InstanceId.in_subquery(sub)
        };
        cond = cond.add(
            Condition::any()
                .add(icontains(C::Username, s))
                .add(of_instances),
        );
    }
    if let Some(t) = &f.db_type {
        cond = cond.add(C::DbType.eq(t.as_str()));
    }
    if let Some(id) = f.instance_id {
        cond = cond.add(C::InstanceId.eq(id));
    }
    cond = super::flag(cond, C::IsLocked, f.is_locked);
    cond = super::flag(cond, C::IsSuperuser, f.is_superuser);
    if !f.tags.is_empty() {
        cond = cond.add(C::InstanceId.in_subquery(instances_with_tags(f.tags.clone())));
    }
    if let Some(cid) = f.classification_id {
        let mut sub = Query::select();
        sub.column(account_classification_assignment::Column::AccountId)
            .from(account_classification_assignment::Entity)
            .and_where(
                Expr::col(account_classification_assignment::Column::ClassificationId).eq(cid),
            )
            .and_where(Expr::col(account_classification_assignment::Column::IsActive).eq(true));
        cond = cond.add(C::Id.in_subquery(sub));
    }
    cond
}

/// A classification shown on a ledger row.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ClassificationBadge {
    pub account_id: i32,
    pub name: String,
    pub color: Option<String>,
}

/// Active classifications of the accounts, by account id, highest priority first.
pub async fn classifications_of(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<ClassificationBadge>>, DbErr> {
    use account_classification as c;
    use account_classification_assignment as a;
    let mut out: HashMap<i32, Vec<ClassificationBadge>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let mut q = Query::select();
        q.column((a::Entity, a::Column::AccountId))
            .column((c::Entity, c::Column::Name))
            .column((c::Entity, c::Column::Color))
            .from(a::Entity)
            .inner_join(
                c::Entity,
                Expr::col((c::Entity, c::Column::Id))
                    .equals((a::Entity, a::Column::ClassificationId)),
            )
            .and_where(Expr::col((a::Entity, a::Column::IsActive)).eq(true))
            .and_where(Expr::col((a::Entity, a::Column::AccountId)).is_in(chunk.to_vec()))
            .order_by((c::Entity, c::Column::Priority), sea_orm::Order::Desc)
            .order_by((c::Entity, c::Column::Name), sea_orm::Order::Asc);
        let stmt = db.get_database_backend().build(&q);
        for r in ClassificationBadge::find_by_statement(stmt).all(db).await? {
            out.entry(r.account_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// Inventory databases of one instance by name, with the total (`limit`/`offset` paging).
pub async fn databases_of(
    db: &impl ConnectionTrait,
    instance_id: i32,
    limit: u64,
    offset: u64,
) -> Result<Paged<instance_database::Model>, DbErr> {
    let base = instance_database::Entity::find()
        .filter(instance_database::Column::InstanceId.eq(instance_id));
    let total = base.clone().count(db).await?;
    let rows = base
        .order_by_asc(instance_database::Column::DatabaseName)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok(Paged { total, rows })
}
