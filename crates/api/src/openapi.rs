//! The OpenAPI document: utoipa describes every route (OpenAPI 3.1) and [`swagger2`] converts
//! it to the Swagger 2.0 document the contract serves (`api-v1.md` §2.1). No crate does this
//! conversion, so it is a small serde_json transformation.

use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use utoipa::{OpenApi, ToSchema};

use crate::routes;

/// Success envelope without `data` (`api-v1.md` §2.3). Routes with `data` answer
/// `<Data>Envelope`, generated in the Swagger 2.0 document for every data type.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageEnvelope {
    success: bool,
    error: bool,
    message: String,
    /// UTC ISO-8601 with microseconds.
    timestamp: String,
}

/// Error envelope (`api-v1.md` §2.4).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorEnvelope {
    success: bool,
    error: bool,
    error_id: String,
    category: String,
    severity: String,
    message_code: String,
    message: String,
    timestamp: String,
    recoverable: bool,
    suggestions: Vec<String>,
    context: serde_json::Value,
    extra: Option<serde_json::Value>,
}

/// Generic JSON object request body; fields are described in `api-v1.md` §4.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JsonObject {
    #[schema(additional_properties)]
    fields: Option<Map<String, serde_json::Value>>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::discovery::root,
        routes::auth::csrf_token, routes::auth::login, routes::auth::logout, routes::auth::change_password,
        routes::auth::refresh, routes::auth::me,
        routes::health::ping, routes::health::basic, routes::health::health, routes::health::detailed,
        routes::health::cache, routes::health::app_info,
        routes::instances::list, routes::instances::create, routes::instances::detail, routes::instances::update,
        routes::instances::delete, routes::instances::restore,
        routes::accounts::instance_accounts, routes::accounts::instance_account_permissions,
        routes::accounts::instance_account_history, routes::accounts::ledgers, routes::accounts::ledger_permissions,
        routes::accounts::sync_one, routes::accounts::sync_all, routes::accounts::statistics,
        routes::accounts::statistics_summary, routes::accounts::statistics_db_types, routes::accounts::statistics_classifications,
        routes::classifications::list, routes::classifications::create, routes::classifications::detail,
        routes::classifications::update, routes::classifications::delete, routes::classifications::validate_expression,
        routes::classifications::rules_list, routes::classifications::rules_create, routes::classifications::rules_filter,
        routes::classifications::rules_stats, routes::classifications::rule_detail, routes::classifications::rule_update,
        routes::classifications::rule_delete, routes::classifications::assignments,
        routes::classifications::remove_assignment, routes::classifications::auto_classify,
        routes::classifications::colors, routes::classifications::permissions,
        routes::history::list, routes::history::detail, routes::history::error_logs, routes::history::cancel,
        routes::connections::test, routes::connections::validate_params, routes::connections::batch_test,
        routes::connections::status,
        routes::credentials::list, routes::credentials::create, routes::credentials::detail,
        routes::credentials::update, routes::credentials::delete,
        routes::users::list, routes::users::create, routes::users::detail, routes::users::update,
        routes::users::delete, routes::users::stats,
        routes::instance_batch::batch_create, routes::instance_batch::batch_delete, routes::instance_batch::statistics,
        routes::tags::list, routes::tags::create, routes::tags::options, routes::tags::categories, routes::tags::by_name,
        routes::tags::detail, routes::tags::update, routes::tags::delete, routes::tags::batch_delete,
        routes::tags::bulk_instances, routes::tags::bulk_tags, routes::tags::bulk_assign, routes::tags::bulk_remove,
        routes::tags::bulk_instance_tags, routes::tags::bulk_remove_all,
        routes::common::instance_options, routes::common::database_options, routes::common::database_type_options,
        routes::files::instance_export, routes::files::template_download, routes::files::account_export,
        routes::cache::stats, routes::cache::clear_user, routes::cache::clear_instance, routes::cache::clear_all,
        routes::cache::clear_classification, routes::cache::clear_classification_db_type,
        routes::cache::classification_stats,
        routes::instances::sync_capacity, routes::capacity::aggregate_current,
        routes::capacity::instances, routes::capacity::instances_summary, routes::capacity::databases,
        routes::capacity::databases_summary, routes::databases::ledgers, routes::databases::capacity_trend,
        routes::instances::database_sizes, routes::files::database_ledger_export,
        routes::partition::info, routes::partition::status, routes::partition::list, routes::partition::create,
        routes::partition::cleanup, routes::partition::statistics, routes::partition::core_metrics,
        routes::scheduler::list, routes::scheduler::detail, routes::scheduler::update, routes::scheduler::pause,
        routes::scheduler::resume, routes::scheduler::run, routes::scheduler::reload,
        routes::history_logs::list, routes::history_logs::search, routes::history_logs::statistics,
        routes::history_logs::modules, routes::history_logs::detail, routes::files::log_export,
        routes::dashboard::overview, routes::dashboard::charts, routes::dashboard::activities,
        routes::dashboard::status,
    ),
    components(schemas(MessageEnvelope, ErrorEnvelope, JsonObject)),
    tags(
        (name = "auth"), (name = "health"), (name = "admin"), (name = "instances"), (name = "connections"),
        (name = "credentials"), (name = "accounts"), (name = "users"), (name = "tags"), (name = "tags_bulk"),
        (name = "common"), (name = "files"), (name = "cache"), (name = "history"), (name = "classifications"),
    )
)]
struct ApiDoc;

fn convert_schema(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, val) in o {
                match (k.as_str(), val) {
                    ("$ref", Value::String(r)) => {
                        out.insert(
                            k.clone(),
                            json!(r.replace("#/components/schemas/", "#/definitions/")),
                        );
                    }
                    ("type", Value::Array(types)) => {
                        let non_null: Vec<&Value> = types
                            .iter()
                            .filter(|t| t.as_str() != Some("null"))
                            .collect();
                        out.insert(
                            "type".into(),
                            non_null
                                .first()
                                .map(|t| (*t).clone())
                                .unwrap_or(json!("object")),
                        );
                        if non_null.len() < types.len() {
                            out.insert("x-nullable".into(), json!(true));
                        }
                    }
                    ("oneOf" | "anyOf", Value::Array(alts)) => {
                        // Swagger 2.0 has no oneOf: keep the first non-null alternative.
                        let first = alts
                            .iter()
                            .find(|a| a.get("type").and_then(Value::as_str) != Some("null"));
                        if let Some(Value::Object(f)) = first.map(convert_schema) {
                            out.extend(f);
                        }
                        out.insert("x-nullable".into(), json!(true));
                    }
                    // tuples: Swagger 2.0 has no prefixItems; describe the first element type
                    ("prefixItems", Value::Array(items)) => {
                        if let Some(first) = items.first() {
                            out.insert("items".into(), convert_schema(first));
                        }
                    }
                    ("items", Value::Bool(_)) => {}
                    ("examples" | "const" | "contentMediaType" | "propertyNames", _) => {}
                    _ => {
                        out.insert(k.clone(), convert_schema(val));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(convert_schema).collect()),
        other => other.clone(),
    }
}

/// Name of the generated envelope definition of a data definition.
fn envelope_name(data: &str) -> String {
    format!("{data}Envelope")
}

/// A success response schema `$ref` to a data type becomes a `$ref` to its envelope; the
/// data type's name is recorded so [`envelope_definition`] can be added.
fn wrap_success(schema: Value, wrapped: &mut std::collections::BTreeSet<String>) -> Value {
    let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
    else {
        return schema;
    };
    if name.ends_with("Envelope") {
        return schema;
    }
    wrapped.insert(name.to_string());
    json!({"$ref": format!("#/definitions/{}", envelope_name(name))})
}

/// `{success, error, message, timestamp, data: <data>}` (`api-v1.md` §2.3).
fn envelope_definition(data: &str) -> Value {
    json!({
        "type": "object",
        "required": ["success", "error", "message", "timestamp", "data"],
        "properties": {
            "success": {"type": "boolean"},
            "error": {"type": "boolean"},
            "message": {"type": "string"},
            "timestamp": {"type": "string", "description": "UTC ISO-8601 with microseconds"},
            "data": {"$ref": format!("#/definitions/{data}")},
        },
    })
}

fn convert_operation(op: &Value, wrapped: &mut std::collections::BTreeSet<String>) -> Value {
    let mut out = Map::new();
    for k in ["tags", "summary", "description", "operationId"] {
        if let Some(v) = op.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let mut params = Vec::new();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut np = Map::new();
        for k in ["name", "in", "required", "description"] {
            if let Some(v) = p.get(k) {
                np.insert(k.into(), v.clone());
            }
        }
        let schema = convert_schema(p.get("schema").unwrap_or(&json!({"type": "string"})));
        for k in ["type", "format", "minimum", "maximum"] {
            if let Some(v) = schema.get(k) {
                np.insert(k.into(), v.clone());
            }
        }
        if !np.contains_key("type") {
            np.insert("type".into(), json!("string"));
        }
        params.push(Value::Object(np));
    }
    if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
        params.push(json!({"name": "payload", "in": "body", "required": true, "schema": convert_schema(schema)}));
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    let mut responses = Map::new();
    for (code, r) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mut nr = Map::new();
        nr.insert(
            "description".into(),
            r.get("description").cloned().unwrap_or(json!("")),
        );
        let media = r
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next());
        if let Some((ctype, _)) = media.filter(|(c, _)| !c.starts_with("application/json")) {
            // a download (CSV): Swagger 2.0 describes it as a file of that media type
            out.insert("produces".into(), json!([ctype]));
            nr.insert(
                "schema".into(),
                json!({"type": "string", "format": "binary"}),
            );
        } else if let Some(s) = media.and_then(|(_, m)| m.get("schema")) {
            let schema = convert_schema(s);
            let schema = if code.starts_with('2') {
                wrap_success(schema, wrapped)
            } else {
                schema
            };
            nr.insert("schema".into(), schema);
        }
        responses.insert(code.clone(), Value::Object(nr));
    }
    responses.entry("default").or_insert(
        json!({"description": "error envelope", "schema": {"$ref": "#/definitions/ErrorEnvelope"}}),
    );
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// Convert an OpenAPI 3.x JSON document to Swagger 2.0 with `basePath` `/api/v1`.
pub fn to_swagger2(doc: &Value, title: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut wrapped = std::collections::BTreeSet::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let rel = path.strip_prefix("/api/v1").unwrap_or(path);
        let rel = if rel.is_empty() { "/" } else { rel };
        let mut ops = Map::new();
        for (method, op) in item.as_object().into_iter().flatten() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                ops.insert(method.clone(), convert_operation(op, &mut wrapped));
            }
        }
        paths.insert(rel.to_string(), Value::Object(ops));
    }
    let mut definitions = doc
        .pointer("/components/schemas")
        .map(convert_schema)
        .unwrap_or(json!({}));
    if let Some(defs) = definitions.as_object_mut() {
        for name in wrapped {
            defs.insert(envelope_name(&name), envelope_definition(&name));
        }
    }
    let tags = doc.get("tags").cloned().unwrap_or(json!([]));
    json!({
        "swagger": "2.0",
        "basePath": "/api/v1",
        "info": {"title": title, "version": version},
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "tags": tags,
        "paths": paths,
        "definitions": definitions,
    })
}

/// The served Swagger 2.0 document (built once).
pub fn swagger2(title: &str, version: &str) -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let v3 = serde_json::to_value(ApiDoc::openapi()).unwrap_or(json!({}));
        to_swagger2(&v3, title, version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The served document: Swagger 2.0, unique operation ids, and for every JSON success
    /// response an envelope whose `data` is a definition with properties (issue 7).
    #[test]
    fn every_route_has_a_typed_data_definition() {
        let doc = swagger2("鲸落", "1.3.6");
        assert_eq!(doc["swagger"], "2.0");
        let defs = doc["definitions"].as_object().unwrap();
        let mut ids = std::collections::BTreeSet::new();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(ids.insert(id.clone()), "duplicate operationId {id}");
                for (code, r) in op["responses"].as_object().unwrap() {
                    if !code.starts_with('2') {
                        continue;
                    }
                    let schema = &r["schema"];
                    if schema["format"] == "binary" {
                        assert_eq!(op["produces"], json!(["text/csv"]), "{method} {path}");
                        continue;
                    }
                    let name = schema["$ref"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_start_matches("#/definitions/");
                    let env = defs
                        .get(name)
                        .unwrap_or_else(|| panic!("{method} {path}: no {name}"));
                    if name == "MessageEnvelope" {
                        continue;
                    }
                    let data = env["properties"]["data"]["$ref"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("#/definitions/");
                    let def = &defs[data];
                    assert!(
                        def.get("properties").is_some()
                            || def.get("allOf").is_some()
                            || def["items"].get("$ref").is_some()
                            || def["additionalProperties"].get("$ref").is_some(),
                        "{method} {path}: data {data} has no properties"
                    );
                }
            }
        }
        assert_eq!(operations, 132, "every route of the router is documented");
    }
}
