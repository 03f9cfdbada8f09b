//! Classification rule expressions, DSL version 4 (`domain.md` §4.2): validation with
//! JSON-path error messages, canonical storage (sorted keys), and a fail-closed evaluator over
//! permission facts v2 (`domain.md` §1.7). Pure functions — the auto-classification run and
//! the rule endpoints call them; nothing here touches the store.

use serde_json::{Map, Value};

/// Error codes recorded (never raised) by the evaluator.
pub const UNKNOWN_DSL_FUNCTION: &str = "UNKNOWN_DSL_FUNCTION";
/// A function's arguments are malformed.
pub const INVALID_DSL_ARGS: &str = "INVALID_DSL_ARGS";
/// A required function argument is absent.
pub const MISSING_DSL_ARGS: &str = "MISSING_DSL_ARGS";

const FUNCTIONS: [&str; 5] = [
    "db_type_in",
    "is_superuser",
    "has_capability",
    "has_role",
    "has_privilege",
];
const SCOPES: [&str; 4] = ["global", "server", "database", "tablespace"];

/// True when the object is a DSL v4 document (`version` 4 and an object `expr`).
pub fn is_v4(v: &Value) -> bool {
    v.get("version").and_then(Value::as_i64) == Some(4)
        && v.get("expr").is_some_and(Value::is_object)
}

/// Canonical JSON text: object keys sorted at every level, non-ASCII kept as is
/// (`json.dumps(sort_keys=True, ensure_ascii=False)` of the original, compact separators
/// aside).
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&o[k])))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

fn non_empty_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// Validate a DSL v4 document; every problem is reported with its path, e.g.
/// `rule_expression.expr.args[1].args.scope 不支持: x`.
pub fn validate(doc: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let root = "rule_expression";
    let Some(o) = doc.as_object() else {
        return Err(vec![format!("{root} 必须为对象")]);
    };
    if o.get("version").and_then(Value::as_i64) != Some(4) {
        errors.push(format!("{root}.version 仅支持 4"));
    }
    match o.get("expr") {
        Some(e) if e.is_object() => validate_node(e, &format!("{root}.expr"), &mut errors),
        _ => errors.push(format!("{root}.expr 必须为对象")),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn validate_node(node: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(o) = node.as_object() else {
        errors.push(format!("{path} 必须为对象"));
        return;
    };
    if let Some(op) = o.get("op") {
        let Some(name) = non_empty_str(Some(op)).map(|s| s.trim().to_uppercase()) else {
            errors.push(format!("{path}.op 必须为非空字符串"));
            return;
        };
        if !["AND", "OR", "NOT"].contains(&name.as_str()) {
            errors.push(format!(
                "{path}.op 不支持: {}",
                op.as_str().unwrap_or_default()
            ));
            return;
        }
        let Some(args) = o.get("args").and_then(Value::as_array) else {
            errors.push(format!("{path}.args 必须为数组"));
            return;
        };
        if name == "NOT" && args.len() != 1 {
            errors.push(format!("{path}.args NOT 必须且只能有一个参数"));
        }
        for (i, a) in args.iter().enumerate() {
            validate_node(a, &format!("{path}.args[{i}]"), errors);
        }
        return;
    }
    let Some(fname) = o.get("fn") else {
        errors.push(format!("{path} 必须包含 op 或 fn"));
        return;
    };
    let Some(fname) = fname.as_str() else {
        errors.push(format!("{path}.fn 必须为字符串"));
        return;
    };
    if !FUNCTIONS.contains(&fname) {
        errors.push(format!("{path}.fn 未知函数: {fname}"));
        return;
    }
    let empty = Map::new();
    let args = match o.get("args") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(_) => {
            errors.push(format!("{path}.args 必须为对象"));
            return;
        }
    };
    let ap = format!("{path}.args");
    let need_name = |errors: &mut Vec<String>| {
        if non_empty_str(args.get("name")).is_none() {
            errors.push(format!("{ap}.name 必须为非空字符串"));
        }
    };
    match fname {
        "db_type_in" => {
            let ok = args
                .get("types")
                .and_then(Value::as_array)
                .is_some_and(|t| {
                    !t.is_empty() && t.iter().all(|x| non_empty_str(Some(x)).is_some())
                });
            if !ok {
                errors.push(format!("{ap}.types 必须为非空字符串数组"));
            }
        }
        "has_capability" | "has_role" => need_name(errors),
        "has_privilege" => {
            need_name(errors);
            match args.get("scope").and_then(Value::as_str) {
                Some(s) if SCOPES.contains(&s.trim().to_lowercase().as_str()) => {}
                Some(s) => errors.push(format!("{ap}.scope 不支持: {s}")),
                None => errors.push(format!("{ap}.scope 必须为字符串")),
            }
            if let Some(d) = args.get("database")
                && !d.is_null()
                && non_empty_str(Some(d)).is_none()
            {
                errors.push(format!("{ap}.database 必须为非空字符串"));
            }
        }
        _ => {}
    }
}

/// Result of evaluating a document against one account's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub matched: bool,
    /// Error codes met on the way (fail closed: the node evaluated to false).
    pub errors: Vec<&'static str>,
}

/// Evaluate a DSL v4 document against permission facts v2. Malformed documents and nodes
/// evaluate to false (fail closed) and record an error code; nothing panics.
pub fn evaluate(doc: &Value, facts: &Value) -> Evaluation {
    let mut ev = Evaluation::default();
    if !is_v4(doc) {
        ev.errors.push(INVALID_DSL_ARGS);
        return ev;
    }
    ev.matched = eval_node(&doc["expr"], facts, &mut ev.errors);
    ev
}

fn list_contains(v: Option<&Value>, name: &str) -> bool {
    v.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(name)))
}

fn eval_node(node: &Value, facts: &Value, errors: &mut Vec<&'static str>) -> bool {
    let Some(o) = node.as_object() else {
        errors.push(INVALID_DSL_ARGS);
        return false;
    };
    if let Some(op) = o.get("op") {
        let args: &[Value] = match o.get("args").and_then(Value::as_array) {
            Some(a) => a,
            None => {
                errors.push(INVALID_DSL_ARGS);
                return false;
            }
        };
        return match op.as_str().map(|s| s.trim().to_uppercase()).as_deref() {
            Some("AND") => args.iter().all(|a| eval_node(a, facts, errors)),
            Some("OR") => args.iter().any(|a| eval_node(a, facts, errors)),
            Some("NOT") if args.len() == 1 => !eval_node(&args[0], facts, errors),
            _ => {
                errors.push(INVALID_DSL_ARGS);
                false
            }
        };
    }
    let Some(fname) = o.get("fn").and_then(Value::as_str) else {
        errors.push(INVALID_DSL_ARGS);
        return false;
    };
    let empty = Map::new();
    let args = match o.get("args") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(_) => {
            errors.push(INVALID_DSL_ARGS);
            return false;
        }
    };
    let caps = facts.get("capabilities");
    let name = non_empty_str(args.get("name"));
    match fname {
        "is_superuser" => list_contains(caps, "SUPERUSER"),
        "db_type_in" => {
            let Some(types) = args
                .get("types")
                .and_then(Value::as_array)
                .filter(|t| !t.is_empty())
            else {
                errors.push(MISSING_DSL_ARGS);
                return false;
            };
            let db = facts
                .get("db_type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            types
                .iter()
                .filter_map(Value::as_str)
                .any(|t| t.trim().to_lowercase() == db)
        }
        "has_capability" | "has_role" => {
            let Some(name) = name else {
                errors.push(MISSING_DSL_ARGS);
                return false;
            };
            let list = if fname == "has_role" {
                facts.get("roles")
            } else {
                caps
            };
            list_contains(list, name)
        }
        "has_privilege" => {
            let (Some(name), Some(scope)) = (name, args.get("scope").and_then(Value::as_str))
            else {
                errors.push(MISSING_DSL_ARGS);
                return false;
            };
            let database = non_empty_str(args.get("database"));
            has_privilege(facts, name, &scope.trim().to_lowercase(), database, errors)
        }
        _ => {
            errors.push(UNKNOWN_DSL_FUNCTION);
            false
        }
    }
}

/// `name` in a map of lists: the `database` key's list, or any list without one.
fn in_map(map: Option<&Value>, name: &str, database: Option<&str>) -> bool {
    let Some(m) = map.and_then(Value::as_object) else {
        return false;
    };
    match database {
        Some(d) => list_contains(m.get(d), name),
        None => m.values().any(|l| list_contains(Some(l), name)),
    }
}

fn has_privilege(
    facts: &Value,
    name: &str,
    scope: &str,
    database: Option<&str>,
    errors: &mut Vec<&'static str>,
) -> bool {
    let Some(p) = facts.get("privileges").filter(|p| p.is_object()) else {
        return false;
    };
    match scope {
        "global" => list_contains(p.get("global"), name),
        "server" => list_contains(p.get("server"), name) || list_contains(p.get("system"), name),
        "tablespace" => in_map(p.get("tablespace"), name, database),
        "database" => {
            in_map(p.get("database"), name, database)
                || in_map(p.get("database_permissions"), name, database)
                || in_map(p.get("tablespace"), name, database)
        }
        _ => {
            errors.push(INVALID_DSL_ARGS);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(expr: Value) -> Value {
        json!({"version": 4, "expr": expr})
    }

    fn facts(db: &str, caps: &[&str], roles: &[&str], privileges: Value) -> Value {
        json!({"version": 2, "db_type": db, "capabilities": caps, "roles": roles, "privileges": privileges})
    }

    #[test]
    fn validation_errors_carry_their_path() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!([1]), vec!["rule_expression 必须为对象"]),
            (
                json!({"version": 3, "expr": {"fn": "is_superuser"}}),
                vec!["rule_expression.version 仅支持 4"],
            ),
            (
                json!({"version": 4}),
                vec!["rule_expression.expr 必须为对象"],
            ),
            (
                doc(json!({"op": "XOR", "args": []})),
                vec!["rule_expression.expr.op 不支持: XOR"],
            ),
            (
                doc(json!({"op": "AND", "args": {}})),
                vec!["rule_expression.expr.args 必须为数组"],
            ),
            (
                doc(json!({"op": "not", "args": []})),
                vec!["rule_expression.expr.args NOT 必须且只能有一个参数"],
            ),
            (
                doc(json!({"op": "OR", "args": [{"x": 1}]})),
                vec!["rule_expression.expr.args[0] 必须包含 op 或 fn"],
            ),
            (
                doc(json!({"op": "OR", "args": [{"fn": "is_root"}]})),
                vec!["rule_expression.expr.args[0].fn 未知函数: is_root"],
            ),
            (
                doc(json!({"fn": "has_role", "args": []})),
                vec!["rule_expression.expr.args 必须为对象"],
            ),
            (
                doc(json!({"fn": "has_role"})),
                vec!["rule_expression.expr.args.name 必须为非空字符串"],
            ),
            (
                doc(json!({"fn": "db_type_in", "args": {"types": ["mysql", ""]}})),
                vec!["rule_expression.expr.args.types 必须为非空字符串数组"],
            ),
            (
                doc(
                    json!({"op": "AND", "args": [{"fn": "is_superuser"}, {"fn": "has_privilege", "args": {"name": "SELECT", "scope": "x"}}]}),
                ),
                vec!["rule_expression.expr.args[1].args.scope 不支持: x"],
            ),
            (
                doc(
                    json!({"fn": "has_privilege", "args": {"name": "", "scope": "global", "database": ""}}),
                ),
                vec![
                    "rule_expression.expr.args.name 必须为非空字符串",
                    "rule_expression.expr.args.database 必须为非空字符串",
                ],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(validate(&input).unwrap_err(), expected, "{input}");
        }
        let ok = doc(json!({"op": " or ", "args": [
            {"fn": "is_superuser", "args": null},
            {"op": "AND", "args": [
                {"fn": "has_privilege", "args": {"name": "GRANT OPTION", "scope": "Global"}},
                {"op": "NOT", "args": [{"fn": "has_role", "args": {"name": "readonly"}}]}
            ]},
            {"fn": "db_type_in", "args": {"types": ["MySQL"]}}
        ]}));
        assert_eq!(validate(&ok), Ok(()));
    }

    #[test]
    fn canonical_text_sorts_keys() {
        let v = json!({"version": 4, "expr": {"fn": "has_role", "args": {"name": "管理员"}}});
        assert_eq!(
            canonical(&v),
            r#"{"expr":{"args":{"name":"管理员"},"fn":"has_role"},"version":4}"#
        );
    }

    #[test]
    fn functions_per_engine() {
        let mysql = facts(
            "mysql",
            &["SUPERUSER", "GRANT_ADMIN"],
            &[],
            json!({"global": ["SELECT", "GRANT OPTION"], "database": {"Sales_DB": ["INSERT"]}}),
        );
        let pg = facts(
            "postgresql",
            &["can_login", "LOCKED"],
            &["pg_read_all_data"],
            json!({"database": {"app": ["CONNECT", "CREATE"]}}),
        );
        let mssql = facts(
            "sqlserver",
            &["LOCKED"],
            &["sysadmin", "db_owner"],
            json!({"server": ["VIEW SERVER STATE"], "database_permissions": {"Sales": ["SELECT", "UPDATE"]}}),
        );
        let oracle = facts(
            "oracle",
            &["SUPERUSER"],
            &["DBA", "CONNECT"],
            json!({"system": ["CREATE SESSION"], "tablespace": {"USERS": ["UNLIMITED"]}}),
        );
        let f = |name: &str, args: Value| doc(json!({"fn": name, "args": args}));
        let cases: Vec<(&Value, Value, bool)> = vec![
            (&mysql, f("is_superuser", json!({})), true),
            (&pg, f("is_superuser", json!({})), false),
            (&mysql, f("db_type_in", json!({"types": [" MySQL "]})), true),
            (
                &oracle,
                f("db_type_in", json!({"types": ["mysql", "postgresql"]})),
                false,
            ),
            (&pg, f("has_capability", json!({"name": "can_login"})), true),
            (
                &pg,
                f("has_capability", json!({"name": "CAN_LOGIN"})),
                false,
            ),
            (&mssql, f("has_role", json!({"name": "sysadmin"})), true),
            (&oracle, f("has_role", json!({"name": "dba"})), false),
            (
                &mysql,
                f(
                    "has_privilege",
                    json!({"name": "GRANT OPTION", "scope": "global"}),
                ),
                true,
            ),
            // database scope keeps the schema name's case (domain.md §13.1 #6)
            (
                &mysql,
                f(
                    "has_privilege",
                    json!({"name": "INSERT", "scope": "database", "database": "Sales_DB"}),
                ),
                true,
            ),
            (
                &mysql,
                f(
                    "has_privilege",
                    json!({"name": "INSERT", "scope": "database", "database": "SALES_DB"}),
                ),
                false,
            ),
            (
                &pg,
                f(
                    "has_privilege",
                    json!({"name": "CREATE", "scope": "DATABASE"}),
                ),
                true,
            ),
            (
                &mssql,
                f(
                    "has_privilege",
                    json!({"name": "UPDATE", "scope": "database", "database": "Sales"}),
                ),
                true,
            ),
            (
                &mssql,
                f(
                    "has_privilege",
                    json!({"name": "VIEW SERVER STATE", "scope": "server"}),
                ),
                true,
            ),
            (
                &oracle,
                f(
                    "has_privilege",
                    json!({"name": "CREATE SESSION", "scope": "server"}),
                ),
                true,
            ),
            (
                &oracle,
                f(
                    "has_privilege",
                    json!({"name": "UNLIMITED", "scope": "tablespace", "database": "USERS"}),
                ),
                true,
            ),
            (
                &oracle,
                f(
                    "has_privilege",
                    json!({"name": "UNLIMITED", "scope": "database"}),
                ),
                true,
            ),
        ];
        for (facts, d, expected) in cases {
            let ev = evaluate(&d, facts);
            assert_eq!(ev.matched, expected, "{d} on {facts}");
            assert!(ev.errors.is_empty(), "{d}: {:?}", ev.errors);
        }
        let no_privileges = json!({"db_type": "mysql", "capabilities": [], "roles": []});
        assert!(
            !evaluate(
                &f(
                    "has_privilege",
                    json!({"name": "SELECT", "scope": "global"})
                ),
                &no_privileges
            )
            .matched
        );
    }

    #[test]
    fn operators_short_circuit_and_fail_closed() {
        let fx = facts("mysql", &["SUPERUSER"], &["r"], json!({}));
        let t = json!({"fn": "is_superuser"});
        let fl = json!({"fn": "has_role", "args": {"name": "other"}});
        let cases: Vec<(Value, bool)> = vec![
            (json!({"op": "AND", "args": []}), true),
            (json!({"op": "OR", "args": []}), false),
            (json!({"op": "and", "args": [t, fl]}), false),
            (json!({"op": "OR", "args": [fl, t]}), true),
            (json!({"op": "NOT", "args": [fl]}), true),
            (json!({"op": "NOT", "args": [t]}), false),
        ];
        for (e, expected) in cases {
            assert_eq!(evaluate(&doc(e.clone()), &fx).matched, expected, "{e}");
        }
        // a bad node is false and recorded; OR goes on to the next argument
        let ev = evaluate(
            &doc(json!({"op": "OR", "args": [{"fn": "nope"}, {"fn": "is_superuser"}]})),
            &fx,
        );
        assert_eq!((ev.matched, ev.errors), (true, vec![UNKNOWN_DSL_FUNCTION]));
        let ev = evaluate(
            &doc(json!({"op": "AND", "args": [{"fn": "is_superuser"}, {"fn": "has_role"}]})),
            &fx,
        );
        assert_eq!((ev.matched, ev.errors), (false, vec![MISSING_DSL_ARGS]));
        let ev = evaluate(&doc(json!({"fn": "has_role", "args": [1]})), &fx);
        assert_eq!((ev.matched, ev.errors), (false, vec![INVALID_DSL_ARGS]));
        // short circuit: the unknown function after a false AND member is never evaluated
        let ev = evaluate(
            &doc(
                json!({"op": "AND", "args": [{"fn": "has_role", "args": {"name": "x"}}, {"fn": "nope"}]}),
            ),
            &fx,
        );
        assert_eq!((ev.matched, ev.errors.len()), (false, 0));
        // not v4 → false
        assert!(!evaluate(&json!({"version": 3, "expr": {"fn": "is_superuser"}}), &fx).matched);
    }
}
