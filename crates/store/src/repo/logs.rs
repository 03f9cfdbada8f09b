//! The unified log centre's table (`unified_logs`, `domain.md` §8) and retention.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::entity::{sync_session, unified_log};

/// Delete log entries older than `cutoff` and sync sessions created before it (their records
/// cascade): `(logs, sessions)` deleted (`domain.md` §8.5).
pub async fn delete_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let logs = unified_log::Entity::delete_many()
        .filter(unified_log::Column::Timestamp.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    let sessions = sync_session::Entity::delete_many()
        .filter(sync_session::Column::CreatedAt.lt(cutoff))
        .filter(sync_session::Column::Status.ne("running"))
        .exec(db)
        .await?
        .rows_affected;
    Ok((logs, sessions))
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct NewLog {
    pub timestamp: DateTime<Utc>,
    /// `INFO`, `WARNING`, `ERROR`, `CRITICAL`.
    pub level: &'static str,
    pub module: String,
    pub message: String,
    pub traceback: Option<String>,
    pub context: serde_json::Value,
}

impl NewLog {
    /// The module as stored: its first 100 characters (`varchar(100)`).
    fn module_column(&self) -> &str {
        match self.module.char_indices().nth(100) {
            Some((end, _)) => &self.module[..end],
            None => &self.module,
        }
    }
}

/// One row of a PostgreSQL log batch, serialized borrowed.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    timestamp: &'a DateTime<Utc>,
    level: &'a str,
    module: &'a str,
    message: &'a str,
    traceback: Option<&'a str>,
    context: &'a serde_json::Value,
}

/// Insert entries, up to 1,000 per statement. On PostgreSQL a batch is **one** JSON
/// parameter expanded by `jsonb_to_recordset` (7,000 bind parameters per batch cost more CPU
/// than the rows themselves at 10,000 entries/s); on SQLite multi-row inserts.
pub async fn insert_batch(
    db: &sea_orm::DatabaseConnection,
    entries: Vec<NewLog>,
) -> Result<(), DbErr> {
    use sea_orm::{Set, TransactionTrait};
    let now = Utc::now();
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let txn = db.begin().await?;
        // log batches do not wait for the WAL flush: losing the last few milliseconds of log
        // entries in a crash is acceptable (the in-memory queue is lost anyway)
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
        for chunk in entries.chunks(1_000) {
            // the batch's JSON text is written straight from the entries (no value tree)
            let mut rows = Vec::with_capacity(chunk.len() * 160);
            rows.push(b'[');
            for (i, e) in chunk.iter().enumerate() {
                if i > 0 {
                    rows.push(b',');
                }
                serde_json::to_writer(
                    &mut rows,
                    &JsonRow {
                        timestamp: &e.timestamp,
                        level: e.level,
                        module: e.module_column(),
                        message: &e.message,
                        traceback: e.traceback.as_deref(),
                        context: &e.context,
                    },
                )
                .map_err(|err| DbErr::Custom(format!("log batch encoding: {err}")))?;
            }
            rows.push(b']');
            let rows = String::from_utf8(rows)
                .map_err(|err| DbErr::Custom(format!("log batch encoding: {err}")))?;
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "INSERT INTO unified_logs (timestamp, level, module, message, traceback, context, created_at) \
                 SELECT t.timestamp, t.level, t.module, t.message, t.traceback, t.context, $2 \
                 FROM jsonb_to_recordset($1::text::jsonb) AS t(timestamp timestamptz, level text, module text, message text, traceback text, context jsonb)",
                [rows.into(), now.into()],
            ))
            .await?;
        }
        return txn.commit().await;
    }
    for chunk in entries.chunks(500) {
        let models = chunk.iter().map(|e| unified_log::ActiveModel {
            timestamp: Set(e.timestamp),
            level: Set(e.level.to_string()),
            module: Set(e.module_column().to_string()),
            message: Set(e.message.clone()),
            traceback: Set(e.traceback.clone()),
            context: Set(Some(e.context.clone())),
            created_at: Set(now),
            ..Default::default()
        });
        unified_log::Entity::insert_many(models)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Filters of the log list, search and export.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Upper-case level.
    pub level: Option<String>,
    /// Substring of the module (SQL `LIKE`).
    pub module: Option<String>,
    /// Substring of the message or of the context's JSON text.
    pub search: Option<String>,
    /// When the window is "the last N hours": N. The cached total of such a filter is keyed
    /// by N instead of the moving start instant (a total at most a couple of seconds old).
    pub window_hours: Option<i64>,
}

/// Sort keys of the log list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSort {
    Id,
    Timestamp,
    Level,
    Module,
    Message,
}

fn condition(backend: sea_orm::DbBackend, f: &LogFilter) -> sea_orm::Condition {
    use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
    use wf_domain::body::like_escape;
    let mut c = sea_orm::Condition::all();
    if let Some(s) = f.start {
        c = c.add(unified_log::Column::Timestamp.gte(s));
    }
    if let Some(e) = f.end {
        c = c.add(unified_log::Column::Timestamp.lte(e));
    }
    if let Some(l) = &f.level {
        c = c.add(unified_log::Column::Level.eq(l.as_str()));
    }
    if let Some(m) = &f.module {
        c = c.add(
            Expr::col(unified_log::Column::Module)
                .like(LikeExpr::new(format!("%{}%", like_escape(m))).escape('\\')),
        );
    }
    if let Some(s) = &f.search {
        let pattern = format!("%{}%", like_escape(s));
        let ctx = match backend {
            sea_orm::DbBackend::Postgres => "CAST(context AS TEXT)",
            _ => "context",
        };
        c = c.add(
            sea_orm::Condition::any()
                .add(
                    Expr::col(unified_log::Column::Message)
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(Expr::cust(ctx).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    c
}

/// The count statement text of a filter (key of its cached total).
pub fn count_key(db: &impl ConnectionTrait, f: &LogFilter) -> String {
    use sea_orm::QueryTrait;
    let keyed = match f.window_hours {
        Some(_) => LogFilter {
            start: None,
            ..f.clone()
        },
        None => f.clone(),
    };
    let q = unified_log::Entity::find()
        .filter(condition(db.get_database_backend(), &keyed))
        .into_query();
    let s = db.get_database_backend().build(&q);
    format!("logs:{:?}:{}:{:?}", f.window_hours, s.sql, s.values)
}

/// Entries matching `f`.
pub async fn count(db: &impl ConnectionTrait, f: &LogFilter) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    unified_log::Entity::find()
        .filter(condition(db.get_database_backend(), f))
        .count(db)
        .await
}

/// One page in `sort` order (ties: id in the same direction).
pub async fn page(
    db: &impl ConnectionTrait,
    f: &LogFilter,
    sort: LogSort,
    desc: bool,
    offset: u64,
    limit: u64,
) -> Result<Vec<unified_log::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    use unified_log::Column as C;
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let col = match sort {
        LogSort::Id => C::Id,
        LogSort::Timestamp => C::Timestamp,
        LogSort::Level => C::Level,
        LogSort::Module => C::Module,
        LogSort::Message => C::Message,
    };
    unified_log::Entity::find()
        .filter(condition(db.get_database_backend(), f))
        .order_by(col, order.clone())
        .order_by(C::Id, order)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
}

/// One entry.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<unified_log::Model>, DbErr> {
    unified_log::Entity::find_by_id(id).one(db).await
}

/// Distinct modules, sorted.
pub async fn modules(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    unified_log::Entity::find()
        .select_only()
        .column(unified_log::Column::Module)
        .distinct()
        .order_by_asc(unified_log::Column::Module)
        .into_tuple()
        .all(db)
        .await
}

/// `(level counts, top-10 modules by count)` of the entries since `since`.
pub async fn statistics(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>), DbErr> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{QueryOrder, QuerySelect};
    use unified_log::Column as C;
    let levels: Vec<(String, i64)> = unified_log::Entity::find()
        .select_only()
        .column(C::Level)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(C::Timestamp.gte(since))
        .group_by(C::Level)
        .into_tuple()
        .all(db)
        .await?;
    let modules: Vec<(String, i64)> = unified_log::Entity::find()
        .select_only()
        .column(C::Module)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(C::Timestamp.gte(since))
        .group_by(C::Module)
        .order_by_desc(Expr::cust("COUNT(*)"))
        .order_by_asc(C::Module)
        .limit(10)
        .into_tuple()
        .all(db)
        .await?;
    Ok((levels, modules))
}
