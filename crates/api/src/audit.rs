//! What people do (issue 16): every successful write through the API leaves one log-centre
//! entry with the contract's module name (`domain.md` §8.2), a message naming the object and
//! the user and object ids in `context` (the request span adds `request_id` and `user_id`;
//! secrets are scrubbed by the log centre). Logins are recorded by the service that checks
//! them (`wf_services::users::login`), background runs by the runners.

use axum::body::Body;
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::Value;

/// The log-centre module of a write, or `None` for reads, logins (logged by the service) and
/// the endpoints that only check input.
pub fn module_of(method: &Method, path: &str) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let rest = path.strip_prefix("/api/v1/")?;
    if rest.ends_with("/validate-params")
        || rest.ends_with("/validate-expression")
        || rest.ends_with("/bulk/instance-tags")
        || rest == "auth/login"
        || rest == "auth/refresh"
    {
        return None;
    }
    let first = rest.split('/').next().unwrap_or_default();
    Some(match first {
        "auth" => "auth",
        "instances" if rest.ends_with("/actions/sync-capacity") => "capacity_sync",
        "instances" => "instances",
        "connections" => "connections",
        "credentials" => "credentials",
        "accounts" if rest.starts_with("accounts/actions/") => "accounts_sync",
        "accounts" => "accounts_classifications",
        "capacity" | "databases" => "aggregation_sync",
        "partition" => "partition_service",
        "scheduler" => "scheduler",
        "history" => "sync_session",
        "users" => "users",
        "tags" => "tags",
        "cache" => "cache",
        _ => "api",
    })
}

/// Chinese name of the resource a path segment stands for.
fn resource_name(segment: &str) -> &str {
    match segment {
        "instances" => "实例",
        "credentials" => "凭据",
        "users" => "用户",
        "tags" => "标签",
        "classifications" => "账户分类",
        "rules" => "分类规则",
        "assignments" => "分类分配",
        "jobs" => "定时任务",
        "sessions" => "同步会话",
        "partition" => "分区",
        "cache" => "缓存",
        "connections" => "连接",
        "accounts" => "账户",
        "capacity" | "aggregations" => "容量聚合",
        "auth" => "会话",
        s => s,
    }
}

/// `(verb, resource, id from the path)` of a write path.
fn describe(method: &Method, path: &str) -> (String, String, Option<i64>) {
    let segs: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let id_at = segs.iter().rposition(|s| s.parse::<i64>().is_ok());
    let path_id = id_at.and_then(|i| segs[i].parse().ok());
    // the resource is the segment before the id, else the last plain segment
    let resource = match id_at {
        Some(i) if i > 0 => segs[i - 1],
        _ => segs
            .iter()
            .rev()
            .find(|s| !matches!(**s, "actions" | "bulk"))
            .copied()
            .unwrap_or("api"),
    };
    let last = segs.last().copied().unwrap_or_default();
    let verb = match (method, last) {
        (&Method::DELETE, _) | (_, "delete" | "batch-delete" | "remove" | "remove-all") => "删除",
        (&Method::PUT | &Method::PATCH, _) => "更新",
        (_, "restore") => "恢复",
        (_, "batch-create") => "批量创建",
        (_, "assign") => "分配",
        (_, "pause") => "暂停",
        (_, "resume") => "恢复",
        (_, "logout") => "登出",
        (_, "change-password") => "修改密码",
        (_, "instances" | "credentials" | "users" | "tags" | "classifications" | "rules") => "创建",
        (_, action) => {
            return (
                format!("执行 {action}"),
                resource_name(resource).into(),
                path_id,
            );
        }
    };
    (verb.into(), resource_name(resource).into(), path_id)
}

/// The first object of `data` (depth ≤ 2) that has an id and a name: `(id, name)`.
fn named_object(data: &Value) -> Option<(Option<i64>, Option<String>)> {
    const NAMES: [&str; 7] = [
        "name",
        "username",
        "display_name",
        "rule_name",
        "instance_name",
        "session_id",
        "job_id",
    ];
    let pick = |o: &serde_json::Map<String, Value>| {
        let name = NAMES
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(String::from));
        let id = o.get("id").and_then(Value::as_i64);
        (id.is_some() || name.is_some()).then_some((id, name))
    };
    let o = data.as_object()?;
    pick(o).or_else(|| o.values().filter_map(Value::as_object).find_map(pick))
}

/// Log one write (INFO, `module`) and give the response back unchanged. JSON bodies are read
/// to name the object; other bodies (files) are passed through untouched.
pub async fn record(resp: Response, module: &'static str, method: &Method, path: &str) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (verb, resource, path_id) = describe(method, path);
    let (resp, object) = if is_json {
        let (parts, body) = resp.into_parts();
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => {
                let object = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("data").and_then(named_object));
                (Response::from_parts(parts, Body::from(bytes)), object)
            }
            Err(e) => {
                tracing::warn!(error = %e, "response body unreadable for the audit entry");
                (Response::from_parts(parts, Body::empty()), None)
            }
        }
    } else {
        (resp, None)
    };
    let (data_id, name) = object.unwrap_or_default();
    let object_id = path_id.or(data_id);
    let mut message = format!("{verb}{resource}");
    if let Some(n) = &name {
        message.push_str(&format!(" {n}"));
    }
    if let Some(id) = object_id {
        message.push_str(&format!(" (id={id})"));
    }
    tracing::info!(
        module = module,
        object_id = object_id,
        object_name = name.as_deref(),
        method = %method,
        path = path,
        status = resp.status().as_u16(),
        "{message}"
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modules_and_messages() {
        assert_eq!(module_of(&Method::GET, "/api/v1/instances"), None);
        assert_eq!(module_of(&Method::POST, "/api/v1/auth/login"), None);
        assert_eq!(
            module_of(&Method::POST, "/api/v1/instances/3/actions/sync-capacity"),
            Some("capacity_sync")
        );
        assert_eq!(
            module_of(&Method::DELETE, "/api/v1/accounts/classifications/rules/4"),
            Some("accounts_classifications")
        );
        let d = |m: Method, p: &str| describe(&m, p);
        assert_eq!(
            d(Method::POST, "/api/v1/instances"),
            ("创建".into(), "实例".into(), None)
        );
        assert_eq!(
            d(Method::POST, "/api/v1/instances/7/delete"),
            ("删除".into(), "实例".into(), Some(7))
        );
        assert_eq!(
            d(Method::PUT, "/api/v1/users/2"),
            ("更新".into(), "用户".into(), Some(2))
        );
        assert_eq!(
            d(Method::POST, "/api/v1/accounts/classifications/rules"),
            ("创建".into(), "分类规则".into(), None)
        );
        assert_eq!(
            d(Method::POST, "/api/v1/scheduler/jobs/sync_accounts/run").0,
            "执行 run"
        );
        let data = json!({"instance": {"id": 3, "name": "tour-pg"}});
        assert_eq!(named_object(&data), Some((Some(3), Some("tour-pg".into()))));
    }
}
