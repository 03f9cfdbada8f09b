//! One router module per namespace of `api-v1.md` §1. Handlers parse, authorize, call one
//! service and wrap the envelope; the helpers here parse the query string and path ids.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod capacity;
pub mod classifications;
pub mod common;
pub mod connections;
pub mod credentials;
pub mod dashboard;
pub mod databases;
pub mod discovery;
pub mod files;
pub mod health;
pub mod history;
pub mod history_logs;
pub mod instance_batch;
pub mod instances;
pub mod partition;
pub mod scheduler;
pub mod tags;
pub mod users;

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;

use crate::error::ApiError;

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
    /// First value, trimmed, non-empty and not `all` (type filters).
    pub fn filter(&self, k: &str) -> Option<String> {
        self.trimmed(k).filter(|v| v != "all")
    }
    /// Every non-empty value of `k` (repeated parameters).
    pub fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, v)| n == k && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
    /// `tags` filters: repeated parameters and/or comma-separated values, trimmed, non-empty.
    pub fn tags(&self) -> Vec<String> {
        self.all("tags")
            .iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect()
    }
    /// `status=active|inactive` → `Some(true|false)`; other values: no filter.
    pub fn status(&self) -> Option<bool> {
        match self.trimmed("status").as_deref() {
            Some("active") => Some(true),
            Some("inactive") => Some(false),
            _ => None,
        }
    }
    /// `true`/`false` exactly → `Some`; anything else: no filter.
    pub fn flag(&self, k: &str) -> Option<bool> {
        match self.trimmed(k).as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }
    }
    /// `order=asc|desc` (case-insensitive) → descending?; anything else → `default_desc`.
    pub fn desc(&self, default_desc: bool) -> bool {
        match self
            .get("order")
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("asc") => false,
            Some("desc") => true,
            _ => default_desc,
        }
    }
    /// Lower-cased, trimmed `sort`.
    pub fn sort(&self) -> String {
        self.get("sort")
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default()
    }
    /// `page` (`api-v1.md` §2.10): non-integer → 1, < 1 → 1.
    pub fn page(&self) -> u64 {
        crate::ctx::page_param(self.get("page"))
    }
    /// `page_size` with its default and maximum.
    pub fn page_size(&self, default: u64, max: u64) -> u64 {
        crate::ctx::page_size_param(self.get("page_size"), default, max)
    }
    /// Boolean parameter (`true/1/on/yes`).
    pub fn bool(&self, k: &str) -> bool {
        crate::ctx::bool_param(self.get(k))
    }
    /// Only the literal `true` (case-insensitive) — `get_all`, `latest_only`.
    pub fn literal_true(&self, k: &str) -> bool {
        self.trimmed(k)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    /// A `YYYY-MM-DD` date; absent/blank → `None`, unparsable → 400 `无法解析日期`.
    pub fn date(&self, k: &str) -> Result<Option<chrono::NaiveDate>, wf_domain::AppError> {
        self.trimmed(k)
            .map(|v| {
                chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| wf_domain::AppError::validation("无法解析日期"))
            })
            .transpose()
    }
    /// An optional integer; non-integer → 400 with `msg`.
    pub fn int_or(&self, k: &str, msg: &str) -> Result<Option<i64>, wf_domain::AppError> {
        self.trimmed(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| wf_domain::AppError::validation(msg))
            })
            .transpose()
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

/// Integer path ids of a route, in order, like Flask's `<int:…>`: non-digits are a framework
/// 404; values beyond 32 bits are `None` (no such row).
pub struct Ids(pub Vec<Option<i32>>);

impl Ids {
    /// The first id.
    pub fn one(&self) -> Option<i32> {
        self.0.first().copied().flatten()
    }
    /// The second id.
    pub fn two(&self) -> Option<i32> {
        self.0.get(1).copied().flatten()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(wf_domain::AppError::framework_not_found()))?;
        raw.iter()
            .map(|(_, v)| crate::ctx::path_id(v))
            .collect::<Result<Vec<_>, _>>()
            .map(Ids)
    }
}
