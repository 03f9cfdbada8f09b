//! Change detection between two snapshots and the change-log message (`domain.md` §2.7).

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

use crate::snapshot::has_capability;

/// Change type written to `account_change_log.change_type`.
pub const ADD: &str = "add";
/// Privilege change.
pub const MODIFY_PRIVILEGE: &str = "modify_privilege";
/// Non-privilege change.
pub const MODIFY_OTHER: &str = "modify_other";
/// Account disappeared from the instance (`domain.md` §13.1.3 fix).
pub const DELETE: &str = "delete";
/// Account reappeared on the instance (`domain.md` §13.1.3 fix).
pub const REACTIVATE: &str = "reactivate";

/// Label of a snapshot category (unknown keys use the key itself).
pub fn label(field: &str) -> String {
    match field {
        "global_privileges" => "全局权限",
        "database_privileges" => "数据库权限",
        "predefined_roles" => "预设角色",
        "roles" => "角色",
        "role_attributes" => "角色属性",
        "tablespace_privileges" => "表空间权限",
        "server_roles" => "服务器角色",
        "server_permissions" => "服务器权限",
        "server_denied_permissions" => "服务器拒绝权限",
        "database_denied_permissions" => "数据库拒绝权限",
        "database_roles" => "数据库角色",
        "database_permissions" => "数据库权限",
        "oracle_roles" => "Oracle 角色",
        "system_privileges" => "系统权限",
        "is_superuser" => "超级用户",
        "is_locked" => "锁定状态",
        "type_specific" => "数据库特性",
        other => other,
    }
    .to_string()
}

/// Python-like `repr` used by the diff: null → "", bool → 是/否, list → "、"-joined,
/// object → sorted `k:v` pairs joined by "; ".
pub fn repr(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "是".into(),
        Value::Bool(false) => "否".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.iter().map(repr).collect::<Vec<_>>().join("、"),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            keys.iter()
                .map(|k| format!("{}:{}", k, repr(&o[*k])))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

fn as_set(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Null => BTreeSet::new(),
        Value::Array(a) => a.iter().map(repr).collect(),
        other => [repr(other)].into_iter().collect(),
    }
}

fn entries(
    field: &str,
    object: String,
    old: &BTreeSet<String>,
    new: &BTreeSet<String>,
    out: &mut Vec<Value>,
) {
    let grants: Vec<&String> = new.difference(old).collect();
    let revokes: Vec<&String> = old.difference(new).collect();
    let lbl = label(field);
    if !grants.is_empty() {
        out.push(json!({"field": field, "label": lbl, "object": object, "action": "GRANT", "permissions": grants}));
    }
    if !revokes.is_empty() {
        out.push(json!({"field": field, "label": lbl, "object": object, "action": "REVOKE", "permissions": revokes}));
    }
}

/// Privilege diff entries between two `categories` objects (either may be null).
pub fn privilege_diff(old: &Value, new: &Value) -> Vec<Value> {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let ov = o.get(key).unwrap_or(&Value::Null);
        let nv = n.get(key).unwrap_or(&Value::Null);
        if ov.is_object() || nv.is_object() {
            let om = ov.as_object().unwrap_or(&empty);
            let nm = nv.as_object().unwrap_or(&empty);
            let sub: BTreeSet<&String> = om.keys().chain(nm.keys()).collect();
            for sk in sub {
                let os = as_set(om.get(sk).unwrap_or(&Value::Null));
                let ns = as_set(nm.get(sk).unwrap_or(&Value::Null));
                entries(key, format!("{}:{}", label(key), sk), &os, &ns, &mut out);
            }
        } else {
            let os = as_set(ov);
            let ns = as_set(nv);
            entries(key, label(key), &os, &ns, &mut out);
        }
    }
    out
}

fn other_entry(field: &str, before: &Value, after: &Value) -> Value {
    let lbl = label(field);
    let (b, a) = (repr(before), repr(after));
    let description = match (b.is_empty(), a.is_empty()) {
        (false, false) => format!("{lbl} 从 {b} 调整为 {a}"),
        (true, false) => format!("{lbl} 设置为 {a}"),
        (false, true) => format!("{lbl} 已清空"),
        (true, true) => format!("{lbl} 已更新"),
    };
    json!({"field": field, "label": lbl, "before": b, "after": a, "description": description})
}

/// Other diff entries (`is_superuser`, `is_locked`, `type_specific`). `old_*` may be null
/// for a new account.
pub fn other_diff(
    db_type: &str,
    old_snapshot: &Value,
    old_facts: &Value,
    new_snapshot: &Value,
    new_facts: &Value,
) -> Vec<Value> {
    let mut out = Vec::new();
    for (field, cap) in [("is_superuser", "SUPERUSER"), ("is_locked", "LOCKED")] {
        let (b, a) = (
            has_capability(old_facts, cap),
            has_capability(new_facts, cap),
        );
        if b != a {
            out.push(other_entry(field, &Value::Bool(b), &Value::Bool(a)));
        }
    }
    let ts = |s: &Value| {
        s.get("type_specific")
            .and_then(|t| t.get(db_type))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (b, a) = (ts(old_snapshot), ts(new_snapshot));
    let empty_obj = |v: &Value| v.is_null() || v.as_object().map(|o| o.is_empty()).unwrap_or(false);
    if b != a && !(empty_obj(&b) && empty_obj(&a)) {
        out.push(other_entry("type_specific", &b, &a));
    }
    out
}

/// Change type from the two diffs (`None` = no change).
pub fn change_type(privilege_diff: &[Value], other_diff: &[Value]) -> Option<&'static str> {
    if !privilege_diff.is_empty() {
        Some(MODIFY_PRIVILEGE)
    } else if !other_diff.is_empty() {
        Some(MODIFY_OTHER)
    } else {
        None
    }
}

fn count(entries: &[Value], action: &str) -> usize {
    entries
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| e["permissions"].as_array().map(|a| a.len()).unwrap_or(0))
        .sum()
}

/// Change-log message (`账户 {username} …`).
pub fn message(
    username: &str,
    change_type: &str,
    privilege_diff: &[Value],
    other_diff: &[Value],
) -> String {
    let mut segments = Vec::new();
    if change_type == ADD {
        let n = count(privilege_diff, "GRANT");
        segments.push(if n > 0 {
            format!("新增账户,赋予 {n} 项权限")
        } else {
            "新增账户".to_string()
        });
    } else if !privilege_diff.is_empty() {
        let (g, r, a) = (
            count(privilege_diff, "GRANT"),
            count(privilege_diff, "REVOKE"),
            count(privilege_diff, "ALTER"),
        );
        let mut parts = Vec::new();
        if g > 0 {
            parts.push(format!("新增 {g} 项授权"));
        }
        if r > 0 {
            parts.push(format!("撤销 {r} 项授权"));
        }
        if a > 0 && g == 0 && r == 0 {
            parts.push(format!("更新 {a} 项权限"));
        }
        segments.push(format!("权限更新:{}", parts.join(",")));
    }
    if !other_diff.is_empty() {
        let d: Vec<&str> = other_diff
            .iter()
            .filter_map(|e| e["description"].as_str())
            .collect();
        segments.push(format!("其他变更:{}", d.join(",")));
    }
    if segments.is_empty() {
        format!("账户 {username} 未发生变更")
    } else {
        format!("账户 {username} {}", segments.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_revoke_and_messages() {
        let old = json!({"global_privileges": ["SELECT", "INSERT"], "database_privileges": {"a": ["SELECT"]}});
        let new = json!({"global_privileges": ["SELECT", "UPDATE"], "database_privileges": {"a": ["SELECT"], "B": ["ALL"]}});
        let d = privilege_diff(&old, &new);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0]["object"], "数据库权限:B");
        assert_eq!(d[0]["action"], "GRANT");
        assert_eq!(d[1]["permissions"], json!(["UPDATE"]));
        assert_eq!(d[2]["action"], "REVOKE");
        assert_eq!(change_type(&d, &[]), Some(MODIFY_PRIVILEGE));
        assert_eq!(
            message("u", MODIFY_PRIVILEGE, &d, &[]),
            "账户 u 权限更新:新增 2 项授权,撤销 1 项授权"
        );
        assert!(privilege_diff(&old, &old).is_empty());
        let add = privilege_diff(&Value::Null, &new);
        assert_eq!(
            message("u", ADD, &add, &[]),
            "账户 u 新增账户,赋予 4 项权限"
        );
        assert_eq!(message("u", MODIFY_OTHER, &[], &[]), "账户 u 未发生变更");
    }

    #[test]
    fn other_changes() {
        let s_old = json!({"type_specific": {"mysql": {"plugin": "a"}}});
        let s_new = json!({"type_specific": {"mysql": {"plugin": "b"}}});
        let f_old = json!({"capabilities": []});
        let f_new = json!({"capabilities": ["LOCKED"]});
        let d = other_diff("mysql", &s_old, &f_old, &s_new, &f_new);
        assert_eq!(d[0]["description"], "锁定状态 从 否 调整为 是");
        assert_eq!(
            d[1]["description"],
            "数据库特性 从 plugin:a 调整为 plugin:b"
        );
        assert_eq!(change_type(&[], &d), Some(MODIFY_OTHER));
        assert_eq!(repr(&json!({"b": true, "a": [1, 2]})), "a:1、2; b:是");
    }
}
