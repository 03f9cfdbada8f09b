//! Cross-cutting middleware: error envelopes with request context, the signed session
//! cookie, and the global CSRF check (`api-v1.md` §2.4, §2.6, §2.8).

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::SignedCookieJar;
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use wf_domain::AppError;
use wf_domain::error::{MSG_METHOD_NOT_ALLOWED, MSG_NOT_FOUND, MSG_TOO_LARGE};

use crate::ctx::{ClientIp, RequestMeta};
use crate::error::ApiError;
use crate::payload::Payload;
use crate::session::{self, REMEMBER_COOKIE, RememberAction, SESSION_COOKIE, SessionHandle};
use crate::state::AppState;

/// Client IP: the socket peer, or the `X-Forwarded-For` hop chosen by `PROXY_FIX_X_FOR` when
/// the peer is a trusted proxy (`domain.md` §9.6).
pub fn client_ip(peer: &str, xff: Option<&str>, trusted: &[String], hops: u32) -> String {
    if hops > 0
        && trusted.iter().any(|t| t == peer)
        && let Some(xff) = xff
    {
        let list: Vec<&str> = xff
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if list.len() >= hops as usize {
            return list[list.len() - hops as usize].to_string();
        }
    }
    peer.to_string()
}

fn framework_message(status: u16) -> &'static str {
    match status {
        404 => MSG_NOT_FOUND,
        405 => MSG_METHOD_NOT_ALLOWED,
        413 => MSG_TOO_LARGE,
        415 => "The server does not support the media type transmitted in the request.",
        _ => "The browser (or proxy) sent a request that this server could not understand.",
    }
}

/// The request id: a valid incoming `X-Request-Id` (1–128 characters of `[A-Za-z0-9._-]`),
/// else a new 32-hex id.
fn request_id(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
        .map(String::from)
        // 128 random bits from the thread's generator (uuid's v4 asked the kernel each time)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()))
}

/// Render every error as the JSON error envelope, adding the request context (request id,
/// user id); every response carries `X-Request-Id`, and the request runs inside
/// `wf_services::context::request_scope` holding both (the log centre reads them from it).
pub async fn envelope(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = client_ip(
        &peer,
        xff,
        &st.settings.proxy_fix_trusted_ips,
        st.settings.proxy_fix_x_for,
    );
    req.extensions_mut().insert(ClientIp(ip.clone()));
    st.svc.note_request();
    let meta = RequestMeta {
        id: request_id(req.headers().get("x-request-id")),
        user: Default::default(),
    };
    req.extensions_mut().insert(meta.clone());
    // cheap handles only; the context strings are built when an error is rendered
    let host = req.headers().get(header::HOST).cloned();
    let ua = req.headers().get(header::USER_AGENT).cloned();
    let (uri, method) = (req.uri().clone(), req.method().clone());
    // the request's log context and its one reading of the cache generations
    let log = wf_services::context::RequestLog {
        request_id: meta.id.clone(),
        user_id: meta.user.clone(),
        method: method.to_string(),
        path: uri.path().to_string(),
    };
    // the session cookie is loaded and written back inside (one middleware layer, not two)
    let mut resp =
        wf_services::context::request_scope(log.clone(), session(State(st.clone()), req, next))
            .await;
    if let Ok(v) = HeaderValue::from_str(&meta.id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status().as_u16();
    if status < 400
        && let Some(module) = crate::audit::module_of(&method, uri.path())
    {
        resp = wf_services::context::request_scope(
            log.clone(),
            crate::audit::record(resp, module, &method, uri.path()),
        )
        .await;
    }
    let err = match resp.extensions().get::<AppError>() {
        Some(e) => e.clone(),
        None if status >= 400 => {
            let is_json = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.starts_with("application/json"))
                .unwrap_or(false);
            if is_json {
                return resp;
            }
            if status >= 500 {
                AppError::system("服务器内部错误")
            } else {
                AppError::framework(status, framework_message(status))
            }
        }
        None => return resp,
    };
    let host = host
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let url = format!("http://{host}{uri}");
    let ua = ua.as_ref().and_then(|v| v.to_str().ok());
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    if err.status >= 500 {
        // the one log line of a 5xx: the same error_id the client sees, the route and the cause
        wf_services::context::with_request_log(log, || {
            tracing::error!(
                error_id = %error_id,
                status = err.status,
                code = %err.message_code,
                method = %method,
                route = %uri.path(),
                cause = err.cause.as_deref().unwrap_or(err.message.as_str()),
                "request failed"
            )
        });
    }
    let request = meta;
    let mut meta = Map::new();
    meta.insert("ip_address".into(), json!(ip));
    if let Some(ua) = ua {
        meta.insert("user_agent".into(), json!(ua));
    }
    let mut body = json!({
        "success": false,
        "error": true,
        "error_id": error_id,
        "category": err.category.as_str(),
        "severity": err.severity.as_str(),
        "message_code": err.message_code,
        "message": err.message,
        "timestamp": wf_domain::time::envelope_now(),
        "recoverable": err.severity.recoverable(),
        "suggestions": err.category.suggestions(),
        "context": {"request_id": request.id, "user_id": request.user_id(), "url": url, "method": method.as_str(), "meta": Value::Object(meta)},
    });
    if let Some(extra) = &err.extra {
        body["extra"] = (**extra).clone();
    }
    let (mut parts, _) = resp.into_parts();
    parts.status = axum::http::StatusCode::from_u16(err.status).unwrap_or(parts.status);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.extensions.remove::<AppError>();
    Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    )
}

/// Load the signed session cookie (or the remember-me cookie) into a [`SessionHandle`] and
/// write it back when a handler changed it.
pub async fn session(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let key = st.keys.cookie.clone();
    let jar = SignedCookieJar::from_headers(req.headers(), key.clone());
    let mut data = jar
        .get(SESSION_COOKIE)
        .and_then(|c| session::decode_session(c.value()))
        .unwrap_or_default();
    let mut restored = false;
    if data.uid.is_none()
        && let Some(uid) = jar
            .get(REMEMBER_COOKIE)
            .and_then(|c| session::parse_remember(c.value(), chrono::Utc::now().timestamp()))
    {
        data.uid = Some(uid);
        restored = true;
    }
    let handle = SessionHandle::new(data);
    if restored {
        handle.update(|_| {});
    }
    req.extensions_mut().insert(handle.clone());
    let mut resp = next.run(req).await;
    let (data, dirty, remember) = handle.state();
    if !dirty && remember == RememberAction::Keep {
        return resp;
    }
    let mut out = SignedCookieJar::new(key);
    if dirty {
        out = out.add(session::session_cookie(&data));
    }
    match remember {
        RememberAction::Set(uid) => {
            out = out.add(session::remember_cookie(
                uid,
                chrono::Utc::now().timestamp(),
                st.settings.remember_cookie_duration,
            ));
        }
        RememberAction::Clear => {
            let expired = format!(
                "{REMEMBER_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
            );
            if let Ok(v) = HeaderValue::from_str(&expired) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        RememberAction::Keep => {}
    }
    let jar_resp = out.into_response();
    for v in jar_resp.headers().get_all(header::SET_COOKIE) {
        resp.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    resp
}

/// Global CSRF check for `POST`/`PUT`/`PATCH`/`DELETE` on matched routes, before
/// authentication: token from `X-CSRFToken`, `X-CSRF-Token` or the `csrf_token` form field;
/// failures are framework 400s with the English messages of `api-v1.md` §2.8.
/// Runs after [`int_path_params`]'s check, as one route layer ([`route_checks`]).
pub async fn csrf_global(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return next.run(req).await;
    }
    let header_token = ["x-csrftoken", "x-csrf-token"]
        .iter()
        .filter_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()))
        .find(|s| !s.is_empty())
        .map(String::from);
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (req, token) = match header_token {
        Some(t) => (req, t),
        None if ct.starts_with("application/x-www-form-urlencoded")
            || ct.starts_with("multipart/form-data") =>
        {
            let (parts, body) = req.into_parts();
            let bytes = match axum::body::to_bytes(body, st.settings.max_content_length).await {
                Ok(b) => b,
                Err(_) => return ApiError(AppError::framework(413, MSG_TOO_LARGE)).into_response(),
            };
            let raw_ct = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let token = Payload::parse(&raw_ct, &bytes)
                .text("csrf_token")
                .unwrap_or_default();
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None => (req, String::new()),
    };
    let secret = req
        .extensions()
        .get::<SessionHandle>()
        .and_then(|h| h.get().csrf);
    match st
        .keys
        .check_csrf(&token, secret.as_deref(), chrono::Utc::now().timestamp())
    {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError(AppError::framework(400, e.message())).into_response(),
    }
}

/// Path parameters that are strings in the contract; every other `{…_id}` is an integer.
const STRING_PARAMS: [&str; 4] = ["job_id", "session_id", "tag_name", "db_type"];

/// Route-level typing of integer path parameters (`api-v1.md` §1.1 route notes): a
/// non-digit value in an integer slot does not match the route, so it is a framework 404
/// before CSRF, authentication and permission checks.
pub async fn int_path_params(req: Request, next: Next) -> Response {
    match non_integer_id(&req) {
        true => ApiError(AppError::framework_not_found()).into_response(),
        false => next.run(req).await,
    }
}

/// Whether an integer `{…_id}` slot of the matched route holds anything but digits (no
/// allocation; routes without parameters return at once).
fn non_integer_id(req: &Request) -> bool {
    let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() else {
        return false;
    };
    if !matched.as_str().contains('{') {
        return false;
    }
    matched
        .as_str()
        .split('/')
        .zip(req.uri().path().split('/'))
        .any(|(t, a)| {
            t.strip_prefix('{')
                .and_then(|n| n.strip_suffix('}'))
                .is_some_and(|name| {
                    name.ends_with("_id")
                        && !STRING_PARAMS.contains(&name)
                        && (a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit()))
                })
        })
}

/// The route checks of matched routes as one layer (one layer fewer per request): integer
/// path parameters (framework 404), then the global CSRF check of writes.
pub async fn route_checks(st: State<AppState>, req: Request, next: Next) -> Response {
    if non_integer_id(&req) {
        return ApiError(AppError::framework_not_found()).into_response();
    }
    csrf_global(st, req, next).await
}

/// Catch-all for unknown paths: framework 404.
pub async fn not_found() -> Response {
    ApiError(AppError::framework_not_found()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn proxy_rules() {
        let trusted = vec!["127.0.0.1".to_string()];
        assert_eq!(
            client_ip("127.0.0.1", Some("1.2.3.4"), &trusted, 0),
            "127.0.0.1"
        );
        assert_eq!(
            client_ip("127.0.0.1", Some("9.9.9.9, 1.2.3.4"), &trusted, 1),
            "1.2.3.4"
        );
        assert_eq!(
            client_ip("10.0.0.1", Some("1.2.3.4"), &trusted, 1),
            "10.0.0.1"
        );
    }
}
