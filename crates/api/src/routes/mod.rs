//! One router module per namespace of `api-v1.md` §1.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod common;
pub mod connections;
pub mod credentials;
pub mod discovery;
pub mod files;
pub mod health;
pub mod instance_batch;
pub mod instances;
pub mod tags;
pub mod users;

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, SimpleExpr};
use serde_json::Value;
use wf_store::entity::{instance_tag, tag};

/// HTML sanitiser for display strings (`api-v1.md` §2.2): escape `& < > " '`, remove
/// `<script`, `</script`, `javascript:`, `onload=`, `onerror=`, trim. Never applied to
/// passwords (see `docs/decisions.md`).
pub fn sanitize(s: &str) -> String {
    let mut out = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;");
    for bad in ["<script", "</script", "javascript:", "onload=", "onerror="] {
        loop {
            let lower = out.to_lowercase();
            match lower.find(bad) {
                Some(i) if out.is_char_boundary(i) && out.is_char_boundary(i + bad.len()) => {
                    out.replace_range(i..i + bad.len(), "")
                }
                _ => break,
            }
        }
    }
    out.trim().to_string()
}

/// Boolean-ish input: JSON booleans, numbers, and `true/1/yes/on` / `false/0/no/off`.
pub fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Optional boolean-ish body field: absent/null → `None`; unparsable → 400
/// `<field> 必须是布尔值`.
pub fn optional_bool(
    body: &crate::payload::Payload,
    field: &str,
) -> Result<Option<bool>, crate::error::ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => boolish(v)
            .map(Some)
            .ok_or_else(|| wf_domain::AppError::validation(format!("{field} 必须是布尔值")).into()),
    }
}

/// True when another row (id ≠ `except`) of `E` already has `value` in the unique column.
pub async fn taken_by_other<E: sea_orm::EntityTrait>(
    db: &sea_orm::DatabaseConnection,
    unique_col: E::Column,
    id_col: E::Column,
    value: &str,
    except: Option<i32>,
) -> Result<bool, sea_orm::DbErr>
where
    E::Model: Sync,
{
    use sea_orm::{PaginatorTrait, QueryFilter};
    let mut q = E::find().filter(unique_col.eq(value));
    if let Some(id) = except {
        q = q.filter(id_col.ne(id));
    }
    Ok(q.count(db).await? > 0)
}

/// Query string with repeated parameters preserved.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// First value of `k`.
    pub fn get(&self, k: &str) -> Option<&String> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }
    /// First value, trimmed, non-empty.
    pub fn trimmed(&self, k: &str) -> Option<String> {
        self.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
    /// Every non-empty value of `k` (repeated parameters).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RawQuery(q) = RawQuery::from_request_parts(parts, state).await?;
        Ok(Params(
            q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        ))
    }
}

/// Case-insensitive substring match of a column, with `%`/`_` escaped.
pub fn icontains<C: sea_orm::sea_query::IntoColumnRef>(col: C, needle: &str) -> SimpleExpr {
    let pattern = format!("%{}%", wf_engines::like_escape(&needle.to_lowercase()));
    Func::lower(Expr::col(col)).like(LikeExpr::new(pattern).escape('\\'))
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

/// `status=active|inactive` → a condition on the `is_active` column; other values: no filter.
pub fn status_filter<C: ColumnTrait>(q: &Params, is_active: C) -> Option<SimpleExpr> {
    match q.trimmed("status").as_deref() {
        Some("active") => Some(is_active.eq(true)),
        Some("inactive") => Some(is_active.eq(false)),
        _ => None,
    }
}

/// `search` over several columns: case-insensitive substring of any of them.
pub fn icontains_any<C: sea_orm::sea_query::IntoColumnRef + Copy>(
    cols: &[C],
    needle: &str,
) -> sea_orm::Condition {
    cols.iter().fold(sea_orm::Condition::any(), |c, col| {
        c.add(icontains(*col, needle))
    })
}

/// `"asc"`/`"desc"` → sea-orm order, with a default for anything else.
pub fn order_param(v: Option<&String>, default_desc: bool) -> sea_orm::Order {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("asc") => sea_orm::Order::Asc,
        Some("desc") => sea_orm::Order::Desc,
        _ if default_desc => sea_orm::Order::Desc,
        _ => sea_orm::Order::Asc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sanitising() {
        assert_eq!(sanitize(" a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#x27;");
        assert_eq!(sanitize("x javascript:alert(1) onload=y"), "x alert(1) y");
        assert_eq!(boolish(&Value::String("On".into())), Some(true));
        assert_eq!(boolish(&Value::String("maybe".into())), None);
    }
}
