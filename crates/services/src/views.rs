//! Shared response shapes (`Serialize + ToSchema`): the page object of `api-v1.md` §2.10 and
//! the small objects several namespaces embed. Each list endpoint has its own named page type
//! (made by [`page_type!`]) so the Swagger document carries a definition per list.

use serde::Serialize;
use utoipa::ToSchema;
use wf_domain::{theme, time};
use wf_store::entity::tag;

/// `pages` = ceil(total / limit), 0 when empty (`api-v1.md` §2.10).
pub fn pages(total: u64, limit: u64) -> u64 {
    if total == 0 {
        0
    } else {
        total.div_ceil(limit.max(1))
    }
}

/// Define a named page type `{items, total, page, pages, limit}` of `$item`, plus any extra
/// fields the endpoint adds after them.
#[macro_export]
macro_rules! page_type {
    ($(#[$m:meta])* $name:ident, $item:ty $(, $extra:ident : $ety:ty)*) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            pub total: u64,
            pub page: u64,
            pub pages: u64,
            pub limit: u64,
            $(pub $extra: $ety,)*
        }
        impl $name {
            /// Build with `pages` computed from `total` and `limit`.
            #[allow(clippy::too_many_arguments)]
            pub fn new(items: Vec<$item>, total: u64, page: u64, limit: u64 $(, $extra: $ety)*) -> Self {
                $name { items, total, page, pages: $crate::views::pages(total, limit), limit $(, $extra)* }
            }
        }
    };
}

/// Brief tag of list items: `{name, display_name, color}` (colour key).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagBrief {
    pub name: String,
    pub display_name: String,
    pub color: String,
}

impl From<&tag::Model> for TagBrief {
    fn from(t: &tag::Model) -> Self {
        TagBrief {
            name: t.name.clone(),
            display_name: t.display_name.clone(),
            color: t.color.clone(),
        }
    }
}

/// Full tag object (`api-v1.md` §4.19).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagView {
    pub id: i32,
    pub name: String,
    pub display_name: String,
    pub category: String,
    /// Colour key (`primary`, `success`, …).
    pub color: String,
    /// Hex colour of the key.
    pub color_value: String,
    pub color_name: String,
    pub css_class: String,
    pub is_active: bool,
    /// UTC ISO-8601.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl From<&tag::Model> for TagView {
    fn from(t: &tag::Model) -> Self {
        let (hex, name, css) = theme::resolve(&t.color);
        TagView {
            id: t.id,
            name: t.name.clone(),
            display_name: t.display_name.clone(),
            category: t.category.clone(),
            color: t.color.clone(),
            color_value: hex.to_string(),
            color_name: name.to_string(),
            css_class: css,
            is_active: t.is_active,
            created_at: t.created_at.as_ref().map(time::iso),
            updated_at: t.updated_at.as_ref().map(time::iso),
        }
    }
}

/// Check that the listed JSON fields, when present, are strings (`api-v1.md` types them as
/// strings): a number, boolean, array or object is 400 `<field> 必须是字符串`. Form bodies
/// carry text only and always pass.
pub fn require_strings(body: &wf_domain::Body, fields: &[&str]) -> Result<(), wf_domain::AppError> {
    for f in fields {
        body.string(f)?;
    }
    Ok(())
}
