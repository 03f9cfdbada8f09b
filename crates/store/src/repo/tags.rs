//! Tags and instance–tag links (`domain.md` §1.6–1.7).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    ModelTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeSet, HashMap};

use super::{Paged, icontains_any};
use crate::entity::{instance_tag, tag};

/// Filters of `GET /tags`.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub search: Option<String>,
    pub category: Option<String>,
    pub active: Option<bool>,
}

/// One page of tags ordered by category, display name, name, newest first.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &TagFilter,
    page_no: u64,
    size: u64,
) -> Result<Paged<tag::Model>, DbErr> {
    let mut cond = Condition::all();
    if let Some(s) = &f.search {
        cond = cond.add(icontains_any(
            &[
                tag::Column::Name,
                tag::Column::DisplayName,
                tag::Column::Category,
            ],
            s,
        ));
    }
    if let Some(c) = &f.category {
        cond = cond.add(tag::Column::Category.eq(c.as_str()));
    }
    cond = super::flag(cond, tag::Column::IsActive, f.active);
    let pager = tag::Entity::find()
        .filter(cond)
        .order_by_asc(tag::Column::Category)
        .order_by_asc(tag::Column::DisplayName)
        .order_by_asc(tag::Column::Name)
        .order_by_desc(tag::Column::CreatedAt)
        .paginate(db, size);
    super::fetch_page(pager, page_no, size).await
}

/// Linked-instance counts (soft-deleted instances included) per tag.
pub async fn usage(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<HashMap<i32, i64>, DbErr> {
    let q = instance_tag::Entity::find().filter(instance_tag::Column::TagId.is_in(ids));
    super::counts_by(
        db,
        q,
        instance_tag::Column::TagId,
        instance_tag::Column::InstanceId.count(),
    )
    .await
}

/// Whole-table statistics of `GET /tags`.
#[derive(Debug, Clone, Default)]
pub struct TagStats {
    pub total: u64,
    pub active: u64,
    pub category_count: u64,
}

#[derive(FromQueryResult)]
struct StatsRow {
    total: i64,
    active: Option<i64>,
    categories: i64,
}

/// Total, active and distinct-category counts in one statement.
pub async fn stats(db: &impl ConnectionTrait) -> Result<TagStats, DbErr> {
    let row = StatsRow::find_by_statement(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) AS total, SUM(CASE WHEN is_active THEN 1 ELSE 0 END) AS active, \
COUNT(DISTINCT category) AS categories FROM tags",
    ))
    .one(db)
    .await?;
    Ok(row
        .map(|r| TagStats {
            total: r.total as u64,
            active: r.active.unwrap_or(0) as u64,
            category_count: r.categories as u64,
        })
        .unwrap_or_default())
}

/// Active tags, of one category (by display name) or all (by category, display name).
pub async fn active_options(
    db: &impl ConnectionTrait,
    category: Option<&str>,
) -> Result<Vec<tag::Model>, DbErr> {
    let mut sel = tag::Entity::find().filter(tag::Column::IsActive.eq(true));
    if let Some(c) = category {
        sel = sel.filter(tag::Column::Category.eq(c));
    } else {
        sel = sel.order_by_asc(tag::Column::Category);
    }
    sel.order_by_asc(tag::Column::DisplayName)
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await
}

/// Every tag by category and name.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<tag::Model>, DbErr> {
    tag::Entity::find()
        .order_by_asc(tag::Column::Category)
        .order_by_asc(tag::Column::Name)
        .all(db)
        .await
}

/// Tag by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<tag::Model>, DbErr> {
    tag::Entity::find_by_id(id).one(db).await
}

/// Tag by its unique name.
pub async fn by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<tag::Model>, DbErr> {
    tag::Entity::find()
        .filter(tag::Column::Name.eq(name))
        .one(db)
        .await
}

/// True when another tag (id ≠ `except`) is named `name`.
pub async fn name_taken(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<bool, DbErr> {
    super::taken_by_other::<tag::Entity>(db, tag::Column::Name, tag::Column::Id, name, except).await
}

/// Tag fields written by create and update (`color`/`is_active` only when `Some`).
#[derive(Debug, Clone)]
pub struct TagFields {
    pub name: String,
    pub display_name: String,
    pub category: String,
    pub color: Option<String>,
    pub is_active: Option<bool>,
}

/// Insert a tag (colour `primary` and active unless given).
pub async fn insert(db: &impl ConnectionTrait, f: &TagFields) -> Result<tag::Model, DbErr> {
    let now = Utc::now();
    tag::ActiveModel {
        name: Set(f.name.clone()),
        display_name: Set(f.display_name.clone()),
        category: Set(f.category.clone()),
        color: Set(f.color.clone().unwrap_or_else(|| "primary".into())),
        is_active: Set(f.is_active.unwrap_or(true)),
        created_at: Set(Some(now)),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Update a tag.
pub async fn update(
    db: &impl ConnectionTrait,
    current: tag::Model,
    f: &TagFields,
) -> Result<tag::Model, DbErr> {
    let mut am: tag::ActiveModel = current.into();
    am.name = Set(f.name.clone());
    am.display_name = Set(f.display_name.clone());
    am.category = Set(f.category.clone());
    if let Some(c) = &f.color {
        am.color = Set(c.clone());
    }
    if let Some(a) = f.is_active {
        am.is_active = Set(a);
    }
    am.updated_at = Set(Some(Utc::now()));
    am.update(db).await
}

/// Delete a tag.
pub async fn delete(db: &impl ConnectionTrait, t: tag::Model) -> Result<(), DbErr> {
    t.delete(db).await.map(|_| ())
}

/// Number of instances linked to the tag.
pub async fn link_count(db: &impl ConnectionTrait, tag_id: i32) -> Result<u64, DbErr> {
    instance_tag::Entity::find()
        .filter(instance_tag::Column::TagId.eq(tag_id))
        .count(db)
        .await
}

/// The ids among `ids` that exist.
pub async fn existing_ids(db: &impl ConnectionTrait, ids: &[i32]) -> Result<Vec<i32>, DbErr> {
    super::existing_ids::<tag::Entity>(db, tag::Column::Id, ids).await
}

/// Tags by id.
pub async fn find_many(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<Vec<tag::Model>, DbErr> {
    tag::Entity::find()
        .filter(tag::Column::Id.is_in(ids))
        .all(db)
        .await
}

#[derive(FromQueryResult)]
struct TagRow {
    instance_id: i32,
    id: i32,
    name: String,
    display_name: String,
    category: String,
    color: String,
    is_active: bool,
    created_at: Option<chrono::DateTime<Utc>>,
    updated_at: Option<chrono::DateTime<Utc>>,
}

/// Tags of the given instances, by instance id, sorted by name (one query per 1,000 ids).
pub async fn of_instances(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<tag::Model>>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let mut out: HashMap<i32, Vec<tag::Model>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let mut q = Query::select();
        q.column((instance_tag::Entity, instance_tag::Column::InstanceId))
            .columns([
                (tag::Entity, tag::Column::Id),
                (tag::Entity, tag::Column::Name),
                (tag::Entity, tag::Column::DisplayName),
                (tag::Entity, tag::Column::Category),
                (tag::Entity, tag::Column::Color),
                (tag::Entity, tag::Column::IsActive),
                (tag::Entity, tag::Column::CreatedAt),
                (tag::Entity, tag::Column::UpdatedAt),
            ])
            .from(instance_tag::Entity)
            .inner_join(
                tag::Entity,
                Expr::col((tag::Entity, tag::Column::Id))
                    .equals((instance_tag::Entity, instance_tag::Column::TagId)),
            )
            .and_where(
                Expr::col((instance_tag::Entity, instance_tag::Column::InstanceId))
                    .is_in(chunk.to_vec()),
            )
            .order_by((tag::Entity, tag::Column::Name), sea_orm::Order::Asc);
        let stmt = db.get_database_backend().build(&q);
        for r in TagRow::find_by_statement(stmt).all(db).await? {
            out.entry(r.instance_id).or_default().push(tag::Model {
                id: r.id,
                name: r.name,
                display_name: r.display_name,
                category: r.category,
                color: r.color,
                is_active: r.is_active,
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
    }
    Ok(out)
}

/// Link every instance of `instances` to every tag of `tags`; existing links are kept.
/// Returns the number of links created (batches of 500 rows).
pub async fn assign(
    db: &impl ConnectionTrait,
    instances: &[i32],
    tags: &[i32],
) -> Result<usize, DbErr> {
    let existing: BTreeSet<(i32, i32)> = instance_tag::Entity::find()
        .filter(instance_tag::Column::InstanceId.is_in(instances.to_vec()))
        .filter(instance_tag::Column::TagId.is_in(tags.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.instance_id, l.tag_id))
        .collect();
    let now = Utc::now();
    let new: Vec<instance_tag::ActiveModel> = instances
        .iter()
        .flat_map(|i| tags.iter().map(move |t| (*i, *t)))
        .filter(|p| !existing.contains(p))
        .map(|(i, t)| instance_tag::ActiveModel {
            instance_id: Set(i),
            tag_id: Set(t),
            created_at: Set(Some(now)),
        })
        .collect();
    for chunk in new.chunks(500) {
        instance_tag::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(new.len())
}

/// Remove the links between `instances` and `tags` (every tag when `tags` is `None`).
pub async fn unlink(
    db: &impl ConnectionTrait,
    instances: Vec<i32>,
    tags: Option<Vec<i32>>,
) -> Result<u64, DbErr> {
    let mut q = instance_tag::Entity::delete_many()
        .filter(instance_tag::Column::InstanceId.is_in(instances));
    if let Some(t) = tags {
        q = q.filter(instance_tag::Column::TagId.is_in(t));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Distinct tag ids linked to any of the instances.
pub async fn ids_of_instances(
    db: &impl ConnectionTrait,
    instances: Vec<i32>,
) -> Result<BTreeSet<i32>, DbErr> {
    Ok(instance_tag::Entity::find()
        .select_only()
        .column(instance_tag::Column::TagId)
        .filter(instance_tag::Column::InstanceId.is_in(instances))
        .into_tuple::<i32>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
