//! Permission snapshot v4 and facts v2 (`domain.md` §1.7).
//!
//! Adapters hand over a *payload*: a JSON object whose keys are adapter permission keys
//! (`global_privileges`, `database_privileges_pg`, `role_attributes`, …) plus a flat
//! `type_specific` object. [`build_snapshot`] turns it into the stored snapshot v4 and
//! [`build_facts`] derives the facts v2 used by statistics and classification.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Keys removed from `type_specific` (they are derived from facts).
const FORBIDDEN_TYPE_SPECIFIC: [&str; 4] = ["is_superuser", "is_locked", "roles", "privileges"];

/// Adapter key → snapshot category (`domain.md` §1.7 table). `roles` holds every role
/// membership (PostgreSQL), separate from `predefined_roles` (`domain.md` §13.8 fix).
fn category_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "global_privileges" => "global_privileges",
        "database_privileges" | "database_privileges_pg" => "database_privileges",
        "predefined_roles" => "predefined_roles",
        "roles" => "roles",
        "role_attributes" => "role_attributes",
        "system_privileges" => "system_privileges",
        "tablespace_privileges" => "tablespace_privileges",
        "server_roles" => "server_roles",
        "server_permissions" => "server_permissions",
        // SQL Server DENY, kept beside the grants (domain.md §13.1 #7)
        "server_denied_permissions" => "server_denied_permissions",
        "database_denied_permissions" => "database_denied_permissions",
        "database_roles" => "database_roles",
        "database_permissions" => "database_permissions",
        "oracle_roles" => "oracle_roles",
        _ => return None,
    })
}

/// Remove forbidden keys from a flat `type_specific` object; returns the sanitised object and
/// one `TYPE_SPECIFIC_FORBIDDEN_FIELD:<key>` error per removed key.
pub fn sanitize_type_specific(ts: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (k, v) in ts {
        if FORBIDDEN_TYPE_SPECIFIC.contains(&k.as_str()) {
            errors.push(format!("TYPE_SPECIFIC_FORBIDDEN_FIELD:{k}"));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    (out, errors)
}

/// Build snapshot v4 `{version, categories, type_specific: {db_type: {...}}, extra, errors, meta}`.
pub fn build_snapshot(db_type: &str, payload: &Map<String, Value>) -> Value {
    let mut categories = Map::new();
    let mut extra = Map::new();
    let mut errors: Vec<Value> = Vec::new();
    let mut type_specific = Map::new();
    for (k, v) in payload {
        if k == "type_specific" {
            if let Value::Object(ts) = v {
                let (clean, errs) = sanitize_type_specific(ts);
                errors.extend(errs.into_iter().map(Value::String));
                type_specific.insert(db_type.to_string(), Value::Object(clean));
            }
        } else if let Some(cat) = category_for(k) {
            categories.insert(cat.to_string(), v.clone());
        } else {
            extra.insert(k.clone(), v.clone());
        }
    }
    json!({
        "version": 4,
        "categories": categories,
        "type_specific": type_specific,
        "extra": extra,
        "errors": errors,
        "meta": {},
    })
}

/// True when `v` is a snapshot object with `version == 4`.
pub fn is_v4(v: &Value) -> bool {
    v.get("version").and_then(Value::as_i64) == Some(4)
}

/// Names from a list value: strings as is, objects via their `role`/`name` key.
fn list_names(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o
                    .get("role")
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str)
                    .map(String::from),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Privilege names of a category value: list as is; object with `granted` list; else truthy keys.
fn privilege_names(v: &Value) -> Vec<String> {
    match v {
        Value::Array(_) => list_names(v),
        Value::Object(o) => {
            if let Some(g) = o.get("granted").filter(|g| g.is_array()) {
                list_names(g)
            } else {
                o.iter()
                    .filter(|(_, x)| truthy(x))
                    .map(|(k, _)| k.clone())
                    .collect()
            }
        }
        _ => Vec::new(),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(false),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Flatten a SQL Server per-database permission object `{database, schema, table, column}` to
/// permission names (fixes `domain.md` §13.7: facts hold permission names, not scope names).
fn sqlserver_db_permissions(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s)
        }
    };
    match v {
        Value::Object(o) => {
            for (scope, inner) in o {
                match inner {
                    Value::Array(_) => list_names(inner).into_iter().for_each(&mut push),
                    Value::Object(m) => m.values().flat_map(list_names).for_each(&mut push),
                    _ => {
                        let _ = scope;
                    }
                }
            }
        }
        Value::Array(_) => list_names(v).into_iter().for_each(&mut push),
        _ => {}
    }
    out
}

fn map_of_lists(v: &Value, sqlserver_perm: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(o) = v {
        for (k, inner) in o {
            let names = if sqlserver_perm {
                sqlserver_db_permissions(inner)
            } else {
                privilege_names(inner)
            };
            out.insert(k.clone(), json!(names));
        }
    }
    out
}

struct Caps {
    order: Vec<String>,
    reasons: BTreeMap<String, Vec<String>>,
}

impl Caps {
    fn add(&mut self, cap: &str, reason: String) {
        if !self.order.iter().any(|c| c == cap) {
            self.order.push(cap.to_string());
        }
        self.reasons
            .entry(cap.to_string())
            .or_default()
            .push(reason);
    }
}

fn ts_bool(ts: &Map<String, Value>, key: &str) -> bool {
    matches!(ts.get(key), Some(Value::Bool(true)))
}

/// Parse an ISO datetime (naive = UTC).
fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return Some(n.and_utc());
        }
    }
    DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Build facts v2 from a snapshot (`domain.md` §1.7 construction rules).
pub fn build_facts(db_type: &str, snapshot: &Value, now: DateTime<Utc>) -> Value {
    let mut errors: Vec<Value> = Vec::new();
    let empty = Map::new();
    let categories = if is_v4(snapshot) {
        snapshot
            .get("categories")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    } else {
        errors.push(json!("SNAPSHOT_MISSING"));
        &empty
    };
    if is_v4(snapshot) && categories.is_empty() {
        errors.push(json!("PERMISSION_DATA_MISSING"));
    }
    if let Some(Value::Array(e)) = snapshot.get("errors") {
        errors.extend(e.iter().cloned());
    }
    let ts = snapshot
        .get("type_specific")
        .and_then(|t| t.get(db_type))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let cat = |k: &str| categories.get(k).cloned().unwrap_or(Value::Null);

    // roles
    let mut roles: Vec<String> = match db_type {
        "mysql" => match cat("roles") {
            Value::Object(o) => o.get("direct").map(list_names).unwrap_or_default(),
            other => list_names(&other),
        },
        "postgresql" => {
            let mut r = list_names(&cat("predefined_roles"));
            r.extend(list_names(&cat("roles")));
            r
        }
        "sqlserver" => {
            let mut r = list_names(&cat("server_roles"));
            if let Value::Object(o) = cat("database_roles") {
                for v in o.values() {
                    r.extend(list_names(v));
                }
            }
            r
        }
        "oracle" => list_names(&cat("oracle_roles")),
        _ => Vec::new(),
    };
    roles.sort();
    roles.dedup();

    // privileges
    let mut privileges = Map::new();
    for (fact_key, cat_key) in [
        ("global", "global_privileges"),
        ("server", "server_permissions"),
        ("system", "system_privileges"),
    ] {
        let names = privilege_names(&cat(cat_key));
        if !names.is_empty() {
            privileges.insert(fact_key.into(), json!(names));
        }
    }
    for (fact_key, cat_key, sqlserver) in [
        ("database", "database_privileges", false),
        (
            "database_permissions",
            "database_permissions",
            db_type == "sqlserver",
        ),
        ("tablespace", "tablespace_privileges", false),
    ] {
        let m = map_of_lists(&cat(cat_key), sqlserver);
        if !m.is_empty() {
            privileges.insert(fact_key.into(), Value::Object(m));
        }
    }

    // capabilities
    let mut caps = Caps {
        order: Vec::new(),
        reasons: BTreeMap::new(),
    };
    let global = privilege_names(&cat("global_privileges"));
    let system = privilege_names(&cat("system_privileges"));
    let server_perms = privilege_names(&cat("server_permissions"));
    match db_type {
        "mysql" => {
            if ts_bool(ts, "super_priv") {
                caps.add("SUPERUSER", "type_specific.super_priv=True".into());
            }
            if ts_bool(ts, "account_locked") {
                caps.add("LOCKED", "type_specific.account_locked=True".into());
            }
            if global.iter().any(|p| p == "GRANT OPTION") {
                caps.add(
                    "GRANT_ADMIN",
                    "global_privileges contains GRANT OPTION".into(),
                );
            }
        }
        "postgresql" => {
            let attrs = cat("role_attributes");
            let attr = |k: &str| matches!(attrs.get(k), Some(Value::Bool(true)));
            for k in ["rolsuper", "can_super"] {
                if attr(k) {
                    caps.add("SUPERUSER", format!("role_attributes.{k}=True"));
                }
            }
            for k in ["rolcreaterole", "can_create_role"] {
                if attr(k) {
                    caps.add("GRANT_ADMIN", format!("role_attributes.{k}=True"));
                }
            }
            if matches!(attrs.get("can_login"), Some(Value::Bool(false))) {
                caps.add("LOCKED", "role_attributes.can_login=False".into());
            }
            if let Some(vu) = ts.get("valid_until").and_then(Value::as_str)
                && let Some(t) = parse_iso(vu)
                && t <= now
            {
                caps.add("LOCKED", format!("type_specific.valid_until={vu}"));
            }
            if let Value::Object(o) = &attrs {
                for (k, v) in o {
                    if v == &Value::Bool(true) {
                        caps.add(k, format!("role_attributes.{k}=True"));
                    }
                }
            }
        }
        "sqlserver" => {
            if roles.iter().any(|r| r == "sysadmin") {
                caps.add("SUPERUSER", "server_roles contains sysadmin".into());
            }
            if roles.iter().any(|r| r == "securityadmin") {
                caps.add("GRANT_ADMIN", "server_roles contains securityadmin".into());
            }
            if server_perms.iter().any(|p| p == "CONTROL SERVER") {
                caps.add(
                    "GRANT_ADMIN",
                    "server_permissions contains CONTROL SERVER".into(),
                );
            }
            if ts
                .get("connect_to_engine")
                .and_then(Value::as_str)
                .map(|s| s.eq_ignore_ascii_case("DENY"))
                .unwrap_or(false)
            {
                caps.add("LOCKED", "type_specific.connect_to_engine=DENY".into());
            }
            for k in [
                "is_locked_out",
                "is_password_expired",
                "must_change_password",
                "is_disabled",
            ] {
                if ts_bool(ts, k) {
                    caps.add("LOCKED", format!("type_specific.{k}=True"));
                }
            }
        }
        "oracle" => {
            if roles.iter().any(|r| r == "DBA") {
                caps.add("SUPERUSER", "oracle_roles contains DBA".into());
                caps.add("GRANT_ADMIN", "oracle_roles contains DBA".into());
            }
            if system.iter().any(|p| p == "GRANT ANY PRIVILEGE") {
                caps.add(
                    "GRANT_ADMIN",
                    "system_privileges contains GRANT ANY PRIVILEGE".into(),
                );
            }
            if let Some(st) = ts.get("account_status").and_then(Value::as_str) {
                let st = st.trim().to_uppercase();
                if !st.is_empty() && st != "OPEN" {
                    caps.add("LOCKED", format!("type_specific.account_status={st}"));
                }
            }
        }
        _ => {}
    }
    let capabilities: BTreeSet<String> = caps.order.iter().cloned().collect();
    json!({
        "version": 2,
        "db_type": db_type,
        "capabilities": capabilities.into_iter().collect::<Vec<_>>(),
        "capability_reasons": caps.reasons,
        "roles": roles,
        "privileges": privileges,
        "errors": errors,
        "meta": {"source": "snapshot", "snapshot_version": 4},
    })
}

/// True when the facts' capabilities contain `cap`.
pub fn has_capability(facts: &Value, cap: &str) -> bool {
    facts
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|a| a.iter().any(|c| c.as_str() == Some(cap)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn mysql_snapshot_and_facts() {
        let payload = obj(json!({
            "global_privileges": ["SELECT", "GRANT OPTION"],
            "database_privileges": {"AppDb": ["SELECT"]},
            "type_specific": {"super_priv": true, "account_locked": false, "is_superuser": true, "host": "%"},
            "errors": ["x"],
        }));
        let s = build_snapshot("mysql", &payload);
        assert_eq!(s["version"], 4);
        assert_eq!(s["categories"]["database_privileges"]["AppDb"][0], "SELECT");
        assert_eq!(s["type_specific"]["mysql"]["host"], "%");
        assert!(s["type_specific"]["mysql"].get("is_superuser").is_none());
        assert_eq!(s["errors"][0], "TYPE_SPECIFIC_FORBIDDEN_FIELD:is_superuser");
        assert_eq!(s["extra"]["errors"][0], "x");
        let f = build_facts("mysql", &s, Utc::now());
        assert_eq!(f["capabilities"], json!(["GRANT_ADMIN", "SUPERUSER"]));
        assert_eq!(f["privileges"]["global"], json!(["SELECT", "GRANT OPTION"]));
        assert!(has_capability(&f, "SUPERUSER"));
        assert!(!has_capability(&f, "LOCKED"));
    }

    #[test]
    fn postgres_facts() {
        let s = build_snapshot(
            "postgresql",
            &obj(json!({
                "role_attributes": {"can_super": false, "can_login": false, "can_create_role": true},
                "predefined_roles": ["pg_read_all_data"],
                "type_specific": {"valid_until": "2000-01-01T00:00:00+00:00"},
            })),
        );
        let f = build_facts("postgresql", &s, Utc::now());
        let caps: Vec<&str> = f["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(caps, vec!["GRANT_ADMIN", "LOCKED", "can_create_role"]);
        assert_eq!(
            f["capability_reasons"]["LOCKED"].as_array().unwrap().len(),
            2
        );
        assert_eq!(f["roles"], json!(["pg_read_all_data"]));
    }

    #[test]
    fn missing_snapshot() {
        let f = build_facts("mysql", &json!({}), Utc::now());
        assert_eq!(f["errors"], json!(["SNAPSHOT_MISSING"]));
        let f = build_facts("mysql", &build_snapshot("mysql", &Map::new()), Utc::now());
        assert_eq!(f["errors"], json!(["PERMISSION_DATA_MISSING"]));
    }

    #[test]
    fn sqlserver_and_oracle() {
        let s = build_snapshot(
            "sqlserver",
            &obj(json!({
                "server_roles": ["sysadmin"],
                "database_roles": {"db1": ["db_owner"]},
                "database_permissions": {"db1": {"database": ["SELECT"], "schema": {"dbo": ["EXECUTE"]}, "table": {}, "column": {}}},
                "type_specific": {"is_disabled": true},
            })),
        );
        let f = build_facts("sqlserver", &s, Utc::now());
        assert_eq!(f["roles"], json!(["db_owner", "sysadmin"]));
        assert_eq!(
            f["privileges"]["database_permissions"]["db1"],
            json!(["SELECT", "EXECUTE"])
        );
        assert_eq!(f["capabilities"], json!(["LOCKED", "SUPERUSER"]));
        let s = build_snapshot(
            "oracle",
            &obj(
                json!({"oracle_roles": ["DBA"], "type_specific": {"account_status": "EXPIRED & LOCKED"}}),
            ),
        );
        let f = build_facts("oracle", &s, Utc::now());
        assert_eq!(
            f["capabilities"],
            json!(["GRANT_ADMIN", "LOCKED", "SUPERUSER"])
        );
    }
}
