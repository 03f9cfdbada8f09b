//! Cross-cutting contract through the real router: discovery, health, envelopes, 404/405,
//! CSRF (400 vs 403), login, rate limits, JWT, sessions and roles (`api-v1.md` §2, §4.1–§4.4).

mod common;

use common::{ADMIN_PW, TestApp};
use serde_json::{Value, json};

#[tokio::test]
async fn discovery_health_and_docs() {
    let mut app = TestApp::new().await;
    let d = app.get("/api/v1/").await.ok(200, "API v1 已就绪");
    assert_eq!(
        d,
        json!({"docs_url": "/api/v1/docs", "openapi_url": "/api/v1/openapi.json", "swagger_url": "/api/v1/swagger.json", "health_ping_url": "/api/v1/health/ping"})
    );
    for p in ["/api/v1/openapi.json", "/api/v1/swagger.json"] {
        let r = app.get(p).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["swagger"], "2.0");
        assert_eq!(r.body["basePath"], "/api/v1");
        assert_eq!(r.body["info"]["title"], "鲸落");
        assert_eq!(r.body["info"]["version"], "1.3.6");
        assert!(r.body["paths"]["/instances"]["get"].is_object());
        assert!(r.body["paths"]["/users/{user_id}"]["put"]["parameters"][0]["type"] == "integer");
        assert!(r.body["definitions"]["ErrorEnvelope"].is_object());
        assert!(!r.body.to_string().contains("#/components/"));
    }
    let r = app.send("GET", "/api/v1/docs", None, &[]).await;
    assert_eq!(r.status, 200);
    let r = app
        .send("GET", "/api/v1/docs/swagger-ui-bundle.js", None, &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get("/api/v1/health/ping").await.ok(200, "健康检查成功"),
        json!({"status": "ok"})
    );
    let b = app
        .get("/api/v1/health/basic")
        .await
        .ok(200, "服务运行正常");
    assert_eq!(
        (b["status"].as_str(), b["version"].as_str()),
        (Some("healthy"), Some("1.0.7"))
    );
    assert!(b["timestamp"].is_f64());
    let h = app.get("/api/v1/health/health").await.ok(200, "操作成功");
    assert_eq!(
        (
            h["status"].as_str(),
            h["database"].as_str(),
            h["redis"].as_str()
        ),
        (Some("healthy"), Some("connected"), Some("connected"))
    );
    assert!(h["timestamp"].as_str().unwrap().ends_with("+08:00"));
    assert!(h["uptime"].as_str().unwrap().contains("天"));
    let d = app.get("/api/v1/health/detailed").await.ok(200, "操作成功");
    assert_eq!(
        d["components"]["system"],
        json!({"healthy": true, "status": "ok"})
    );
    assert_eq!(d["components"]["database"]["status"], "connected");
    app.get("/api/v1/health/cache")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", Some("请先登录"));
    app.login_admin().await;
    assert_eq!(
        app.get("/api/v1/health/cache")
            .await
            .ok(200, "缓存健康检查成功"),
        json!({"healthy": true, "status": "connected"})
    );
    assert_eq!(
        app.get("/api/v1/admin/app-info")
            .await
            .ok(200, "获取应用信息成功"),
        json!({"app_name": "鲸落", "app_version": "1.3.6"})
    );
}

#[tokio::test]
async fn docs_can_be_disabled() {
    let mut app = TestApp::with_env(&[("API_V1_DOCS_ENABLED", "false")]).await;
    app.get("/api/v1/docs")
        .await
        .err(404, "INVALID_REQUEST", None);
    assert_eq!(
        app.get("/api/v1/").await.ok(200, "API v1 已就绪")["docs_url"],
        Value::Null
    );
    assert_eq!(app.get("/api/v1/swagger.json").await.status, 200);
}

#[tokio::test]
async fn framework_errors_are_envelopes() {
    let mut app = TestApp::new().await;
    let msg404 = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
    let b = app
        .get("/api/v1/health/does-not-exist")
        .await
        .err(404, "INVALID_REQUEST", Some(msg404))
        .clone();
    assert_eq!(b["category"], "business");
    assert_eq!(
        b["suggestions"],
        json!(["确认业务规则", "联系管理员核对数据"])
    );
    assert_eq!(b["context"]["method"], "GET");
    assert_eq!(b["context"]["meta"]["ip_address"], "127.0.0.1");
    app.get("/api/v1/instances/")
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    // a non-integer id does not match the route: 404 before CSRF (400) and login (401)
    app.get("/api/v1/instances/abc")
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    app.send("POST", "/api/v1/instances/abc/delete", None, &[])
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    app.send("PUT", "/api/v1/users/-1", None, &[])
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    app.get("/api/v1/instances/1/accounts/x/permissions")
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    // string parameters are not integers
    app.get("/api/v1/tags/by-name/abc")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
    app.send("DELETE", "/api/v1/health/ping", None, &[])
        .await
        .err(
            405,
            "INVALID_REQUEST",
            Some("The method is not allowed for the requested URL."),
        );
    app.login_admin().await;
    // non-integer ids do not match the route; ids beyond 2^31 are unknown ids
    app.get("/api/v1/instances/abc")
        .await
        .err(404, "INVALID_REQUEST", Some(msg404));
    app.get("/api/v1/instances/99999999999999999999").await.err(
        404,
        "INVALID_REQUEST",
        Some(msg404),
    );
    app.get("/api/v1/users/4294967296")
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("用户不存在"));
    app.get("/api/v1/credentials/2147483648").await.err(
        404,
        "RESOURCE_NOT_FOUND",
        Some("凭据不存在"),
    );
    // body over 16 MiB
    let big = vec![b'a'; 16 * 1024 * 1024 + 10];
    let token = app.fetch_csrf().await;
    let r = app
        .send(
            "POST",
            "/api/v1/users",
            Some(("application/json", big)),
            &[("X-CSRFToken", &token)],
        )
        .await;
    r.err(413, "INVALID_REQUEST", None);
}

#[tokio::test]
async fn csrf_two_stage_checks() {
    let mut app = TestApp::new().await;
    let body = Some((
        "application/json",
        br#"{"username":"admin","password":"x"}"#.to_vec(),
    ));
    // no token → 400 before authentication
    app.send("POST", "/api/v1/users", body.clone(), &[])
        .await
        .err(400, "INVALID_REQUEST", Some("The CSRF token is missing."));
    // token but no session cookie → session token missing
    let token = app.fetch_csrf().await;
    let mut stranger = app.client();
    stranger
        .send(
            "POST",
            "/api/v1/auth/login",
            body.clone(),
            &[("X-CSRFToken", &token)],
        )
        .await
        .err(
            400,
            "INVALID_REQUEST",
            Some("The CSRF session token is missing."),
        );
    // garbage token
    app.send(
        "POST",
        "/api/v1/auth/login",
        body.clone(),
        &[("X-CSRFToken", "a.b.c")],
    )
    .await
    .err(400, "INVALID_REQUEST", Some("The CSRF token is invalid."));
    // token of another session
    let mut other = app.client();
    let other_token = other.fetch_csrf().await;
    app.send(
        "POST",
        "/api/v1/auth/login",
        body.clone(),
        &[("X-CSRFToken", &other_token)],
    )
    .await
    .err(
        400,
        "INVALID_REQUEST",
        Some("The CSRF tokens do not match."),
    );
    // token only in a JSON body fails the global check
    let b = serde_json::to_vec(
        &json!({"username": "admin", "password": ADMIN_PW, "csrf_token": token}),
    )
    .unwrap();
    app.send(
        "POST",
        "/api/v1/auth/login",
        Some(("application/json", b)),
        &[],
    )
    .await
    .err(400, "INVALID_REQUEST", Some("The CSRF token is missing."));
    // X-CSRF-Token passes the global check but not the endpoint check
    let r = app
        .send(
            "POST",
            "/api/v1/auth/login",
            body.clone(),
            &[("X-CSRF-Token", &token)],
        )
        .await;
    let e = r.err(403, "CSRF_MISSING", Some("缺少 CSRF 令牌")).clone();
    assert_eq!(e["category"], "authorization");
    // unauthenticated write with a valid token → 401
    app.post("/api/v1/users", json!({})).await.err(
        401,
        "AUTHENTICATION_REQUIRED",
        Some("请先登录"),
    );
    // the form field works for form bodies
    let form = format!("username=admin&password={ADMIN_PW}&csrf_token={token}");
    let r = app
        .send(
            "POST",
            "/api/v1/auth/login",
            Some(("application/x-www-form-urlencoded", form.into_bytes())),
            &[],
        )
        .await;
    r.ok(200, "登录成功");
    // the token survives login and logout
    app.post("/api/v1/auth/logout", json!({}))
        .await
        .ok(200, "登出成功");
    app.login_admin().await;
}

#[tokio::test]
async fn login_logout_and_sessions() {
    let mut app = TestApp::new().await;
    app.post(
        "/api/v1/auth/login",
        json!({"username": " ", "password": "x"}),
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("用户名和密码不能为空"));
    app.post("/api/v1/auth/login", json!({"username": "admin"}))
        .await
        .err(400, "VALIDATION_ERROR", Some("用户名和密码不能为空"));
    app.post("/api/v1/auth/login", json!(["admin"]))
        .await
        .err(400, "VALIDATION_ERROR", None);
    let e = app
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "wrong"}),
        )
        .await;
    assert_eq!(
        e.err(401, "INVALID_CREDENTIALS", Some("用户名或密码错误"))["category"],
        "authentication"
    );
    app.post(
        "/api/v1/auth/login",
        json!({"username": "ghost", "password": "wrong"}),
    )
    .await
    .err(401, "INVALID_CREDENTIALS", Some("用户名或密码错误"));
    // malformed JSON counts as an empty object
    let token = app.fetch_csrf().await;
    app.send(
        "POST",
        "/api/v1/auth/login",
        Some(("application/json", b"{not json".to_vec())),
        &[("X-CSRFToken", &token)],
    )
    .await
    .err(400, "VALIDATION_ERROR", Some("用户名和密码不能为空"));
    let data = app.login_admin().await;
    assert_eq!(data["user"]["username"], "admin");
    assert_eq!(data["user"]["role"], "admin");
    assert_eq!(data["user"]["is_active"], true);
    assert!(data["access_token"].as_str().unwrap().split('.').count() == 3);
    let listed = app
        .get("/api/v1/users?search=admin")
        .await
        .ok(200, "获取用户列表成功");
    assert!(
        listed["items"][0]["last_login"].is_string(),
        "login records last_login"
    );
    // remember_token re-establishes the session without the session cookie
    app.drop_cookie("whalefall_session");
    app.get("/api/v1/users").await.ok(200, "获取用户列表成功");
    app.csrf = None;
    app.post("/api/v1/auth/logout", json!({}))
        .await
        .ok(200, "登出成功");
    app.get("/api/v1/users")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", Some("请先登录"));
    app.post("/api/v1/auth/logout", json!({}))
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
    // a disabled user
    app.login_admin().await;
    let uid = app.create_user("disabled_u", "user", "TestPass1").await;
    app.put(&format!("/api/v1/users/{uid}"), json!({"is_active": false}))
        .await
        .ok(200, "用户更新成功");
    let mut u = app.client();
    let e = u
        .post(
            "/api/v1/auth/login",
            json!({"username": "disabled_u", "password": "TestPass1"}),
        )
        .await;
    assert_eq!(
        e.err(403, "ACCOUNT_DISABLED", Some("账户已被停用"))["category"],
        "authorization"
    );
}

#[tokio::test]
async fn login_rate_limit_memory() {
    let mut app =
        TestApp::with_env(&[("LOGIN_RATE_LIMIT", "3"), ("LOGIN_RATE_WINDOW", "60")]).await;
    for _ in 0..3 {
        app.post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "bad"}),
        )
        .await
        .err(401, "INVALID_CREDENTIALS", None);
    }
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": ADMIN_PW}),
        )
        .await;
    let b = r
        .err(429, "RATE_LIMIT_EXCEEDED", Some("请求过于频繁,请稍后再试"))
        .clone();
    assert_eq!(b["extra"]["endpoint"], "login_attempts");
    assert_eq!(b["extra"]["identifier"], "admin:127.0.0.1");
    assert_eq!(b["extra"]["limit"], 3);
    assert_eq!(b["extra"]["remaining"], 0);
    assert_eq!(r.headers["retry-after"], "60");
    assert_eq!(r.headers["x-ratelimit-limit"], "3");
    assert_eq!(r.headers["x-ratelimit-remaining"], "0");
    assert!(r.headers.contains_key("x-ratelimit-reset"));
    // another username is a different key
    app.post(
        "/api/v1/auth/login",
        json!({"username": "admin2", "password": "x"}),
    )
    .await
    .err(401, "INVALID_CREDENTIALS", None);
}

#[tokio::test]
async fn login_rate_limit_redis() {
    let mut app = TestApp::with_env(&[
        ("LOGIN_RATE_LIMIT", "2"),
        ("CACHE_TYPE", "redis"),
        ("CACHE_REDIS_URL", "redis://127.0.0.1:6379/0"),
    ])
    .await;
    assert!(app.state.redis.is_some(), "redis on 127.0.0.1:6379");
    let user = format!("redis_{}", common::unique());
    for _ in 0..2 {
        app.post(
            "/api/v1/auth/login",
            json!({"username": user, "password": "bad"}),
        )
        .await
        .err(401, "INVALID_CREDENTIALS", None);
    }
    app.post(
        "/api/v1/auth/login",
        json!({"username": user, "password": "bad"}),
    )
    .await
    .err(429, "RATE_LIMIT_EXCEEDED", None);
    // a second node sharing Redis sees the same counter
    let mut node2 = TestApp::with_env(&[("LOGIN_RATE_LIMIT", "2"), ("CACHE_TYPE", "redis")]).await;
    node2
        .post(
            "/api/v1/auth/login",
            json!({"username": user, "password": "bad"}),
        )
        .await
        .err(429, "RATE_LIMIT_EXCEEDED", None);
    let h = app.get("/api/v1/health/health").await.ok(200, "操作成功");
    assert_eq!(h["redis"], "connected");
}

#[tokio::test]
async fn jwt_me_and_refresh() {
    let mut app = TestApp::new().await;
    let data = app.login_admin().await;
    let access = data["access_token"].as_str().unwrap().to_string();
    let refresh = data["refresh_token"].as_str().unwrap().to_string();
    let mut anon = app.client();
    let me = anon
        .send(
            "GET",
            "/api/v1/auth/me",
            None,
            &[("Authorization", &format!("Bearer {access}"))],
        )
        .await
        .ok(200, "操作成功");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["email"], Value::Null);
    assert!(me["created_at"].as_str().unwrap().contains("+00:00"));
    anon.get("/api/v1/auth/me")
        .await
        .err(401, "TOKEN_INVALID", Some("无效的令牌"));
    anon.send(
        "GET",
        "/api/v1/auth/me",
        None,
        &[("Authorization", "Bearer garbage")],
    )
    .await
    .err(401, "TOKEN_INVALID", None);
    anon.send(
        "GET",
        "/api/v1/auth/me",
        None,
        &[("Authorization", &format!("Bearer {refresh}"))],
    )
    .await
    .err(401, "TOKEN_INVALID", None);
    let expired = wf_api::jwt::issue("test-jwt-key", 1, "access", -5, true);
    anon.send(
        "GET",
        "/api/v1/auth/me",
        None,
        &[("Authorization", &format!("Bearer {expired}"))],
    )
    .await
    .err(401, "TOKEN_EXPIRED", Some("令牌已过期"));
    // refresh needs CSRF (session cookie) and a refresh token
    let token = app.fetch_csrf().await;
    let r = app
        .send(
            "POST",
            "/api/v1/auth/refresh",
            None,
            &[
                ("X-CSRFToken", &token),
                ("Authorization", &format!("Bearer {refresh}")),
            ],
        )
        .await;
    let d = r.ok(200, "操作成功");
    assert_eq!(
        (d["token_type"].as_str(), d["expires_in"].as_i64()),
        (Some("Bearer"), Some(3600))
    );
    let new_access = d["access_token"].as_str().unwrap();
    anon.send(
        "GET",
        "/api/v1/auth/me",
        None,
        &[("Authorization", &format!("Bearer {new_access}"))],
    )
    .await
    .ok(200, "操作成功");
    let r = app
        .send(
            "POST",
            "/api/v1/auth/refresh",
            None,
            &[
                ("X-CSRFToken", &token),
                ("Authorization", &format!("Bearer {access}")),
            ],
        )
        .await;
    r.err(401, "TOKEN_INVALID", None);
    app.send(
        "POST",
        "/api/v1/auth/refresh",
        None,
        &[("X-CSRFToken", &token)],
    )
    .await
    .err(401, "TOKEN_INVALID", None);
}

#[tokio::test]
async fn change_password_rules_and_limit() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app.create_user("pw_user", "user", "TestPass1").await;
    let mut u = app.client();
    u.login("pw_user", "TestPass1").await;
    let cp = "/api/v1/auth/change-password";
    let body = |o: &str, n: &str, c: &str| json!({"old_password": o, "new_password": n, "confirm_password": c});
    u.post(cp, body("TestPass1", "", "")).await.err(
        400,
        "VALIDATION_ERROR",
        Some("所有字段都不能为空"),
    );
    u.post(cp, body("TestPass1", "NewPass12", "NewPass13"))
        .await
        .err(400, "PASSWORD_MISMATCH", Some("两次输入的新密码不一致"));
    u.post(cp, body("Wrong1234", "NewPass12", "NewPass12"))
        .await
        .err(401, "INVALID_OLD_PASSWORD", Some("当前密码错误"));
    // 3 attempts per window and user: the 4th is rejected even with correct input
    let r = u
        .post(cp, body("TestPass1", "NewPass12", "NewPass12"))
        .await;
    assert_eq!(
        r.err(429, "RATE_LIMIT_EXCEEDED", None)["extra"]["endpoint"],
        "password_reset_attempts"
    );
    // a fresh user gets its own budget of 3
    app.create_user("pw_user2", "user", "TestPass1").await;
    let mut v = app.client();
    v.login("pw_user2", "TestPass1").await;
    v.post(cp, body("TestPass1", "TestPass1", "TestPass1"))
        .await
        .err(400, "PASSWORD_DUPLICATED", Some("新密码不能与当前密码相同"));
    v.post(cp, body("TestPass1", "short", "short")).await.err(
        400,
        "PASSWORD_INVALID",
        Some("密码长度至少6个字符"),
    );
    v.post(cp, body("TestPass1", "alllower1", "alllower1"))
        .await
        .err(400, "PASSWORD_INVALID", Some("密码必须包含大写字母"));
    app.create_user("pw_user3", "user", "TestPass1").await;
    let mut w = app.client();
    w.login("pw_user3", "TestPass1").await;
    w.post(cp, body("TestPass1", "Good&Pass<1", "Good&Pass<1"))
        .await
        .ok(200, "密码修改成功");
    // special characters are not HTML-escaped: the new password logs in as typed
    let mut x = app.client();
    x.login("pw_user3", "Good&Pass<1").await;
}

#[tokio::test]
async fn roles_and_permissions() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app.create_user("plain_user", "user", "TestPass1").await;
    let mut u = app.client();
    u.login("plain_user", "TestPass1").await;
    u.get("/api/v1/users").await.ok(200, "获取用户列表成功");
    u.get("/api/v1/instances").await.ok(200, "获取实例列表成功");
    for (m, p) in [
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/credentials"),
        ("POST", "/api/v1/instances"),
    ] {
        let e = u.write(m, p, json!({})).await;
        assert_eq!(
            e.err(403, "PERMISSION_REQUIRED", Some("需要 create 权限"))["category"],
            "authorization"
        );
    }
    u.put("/api/v1/users/1", json!({})).await.err(
        403,
        "PERMISSION_REQUIRED",
        Some("需要 update 权限"),
    );
    u.delete("/api/v1/users/1")
        .await
        .err(403, "PERMISSION_REQUIRED", Some("需要 delete 权限"));
    u.post("/api/v1/accounts/actions/sync", json!({"instance_id": 1}))
        .await
        .err(403, "PERMISSION_REQUIRED", Some("需要 update 权限"));
    // permission is checked before the endpoint CSRF check
    u.send(
        "POST",
        "/api/v1/users",
        Some(("application/json", b"{}".to_vec())),
        &[("X-CSRF-Token", u.csrf.clone().unwrap().as_str())],
    )
    .await
    .err(403, "PERMISSION_REQUIRED", None);
    // a `viewer` (not creatable through the API) is denied even `view`
    use sea_orm::{ActiveModelTrait, Set};
    wf_store::entity::user::ActiveModel {
        username: Set("viewer1".into()),
        password: Set(wf_services::passwords::hash("TestPass1", 4)),
        role: Set("viewer".into()),
        created_at: Set(chrono::Utc::now()),
        is_active: Set(true),
        ..Default::default()
    }
    .insert(app.state.svc.store())
    .await
    .unwrap();
    let mut v = app.client();
    v.login("viewer1", "TestPass1").await;
    v.get("/api/v1/instances")
        .await
        .err(403, "PERMISSION_REQUIRED", Some("需要 view 权限"));
    v.get("/api/v1/health/cache")
        .await
        .ok(200, "缓存健康检查成功");
    // a deactivated user loses an existing session
    let mut d = app.client();
    let did = app.create_user("to_disable", "user", "TestPass1").await;
    d.login("to_disable", "TestPass1").await;
    app.put(&format!("/api/v1/users/{did}"), json!({"is_active": false}))
        .await
        .ok(200, "用户更新成功");
    d.get("/api/v1/users")
        .await
        .err(401, "AUTHENTICATION_REQUIRED", None);
}

#[tokio::test]
async fn cors_for_configured_origins() {
    let mut app = TestApp::new().await;
    let r = app
        .send(
            "OPTIONS",
            "/api/v1/auth/login",
            None,
            &[
                ("Origin", "http://localhost:5001"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "x-csrftoken,content-type"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "http://localhost:5001"
    );
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    assert!(
        r.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("x-csrftoken")
    );
    let r = app
        .send(
            "GET",
            "/api/v1/health/ping",
            None,
            &[("Origin", "http://evil.example")],
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

/// A writer that keeps what the log layer writes (for the 5xx log assertion).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A store failure is a 500 with the endpoint's public message (never a validation or
/// conflict message), and the one log line of it carries the same `error_id`, the route and
/// the cause (issue 7).
#[tokio::test]
async fn a_5xx_is_logged_once_with_its_error_id() {
    use sea_orm::ConnectionTrait;
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut app = TestApp::new().await;
    app.login_admin().await;
    app.state
        .svc
        .store()
        .execute_unprepared("DROP TABLE instance_tags")
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/instances",
            json!({"name": "db1", "db_type": "mysql", "host": "10.0.0.1", "port": 3306}),
        )
        .await;
    let body = r.err(500, "INTERNAL_ERROR", Some("创建实例失败"));
    let error_id = body["error_id"].as_str().unwrap().to_string();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&error_id)).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("route=/api/v1/instances"), "{}", lines[0]);
    assert!(lines[0].contains("instance_tags"), "{}", lines[0]);
}

#[tokio::test]
async fn tokens_of_deactivated_or_deleted_users_are_refused_and_passwords_never_trimmed() {
    let mut app = TestApp::new().await;
    app.login_admin().await;
    let uid = app.create_user("tok_user", "user", "Passw0rd1").await;
    let mut user = app.client();
    user.fetch_csrf().await;
    let tokens = user.login("tok_user", "Passw0rd1").await;
    let (access, refresh) = (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
    );
    // GET /auth/me with the access token, POST /auth/refresh with the refresh token
    async fn me(user: &mut TestApp, access: &str) -> common::Resp {
        let h = format!("Bearer {access}");
        user.send("GET", "/api/v1/auth/me", None, &[("Authorization", &h)])
            .await
    }
    async fn refreshed(user: &mut TestApp, token: &str, refresh: &str) -> common::Resp {
        let h = format!("Bearer {refresh}");
        user.send(
            "POST",
            "/api/v1/auth/refresh",
            None,
            &[("X-CSRFToken", token), ("Authorization", &h)],
        )
        .await
    }
    me(&mut user, &access).await.ok(200, "操作成功");
    app.put(&format!("/api/v1/users/{uid}"), json!({"is_active": false}))
        .await
        .ok(200, "用户更新成功");
    me(&mut user, &access)
        .await
        .err(403, "ACCOUNT_DISABLED", Some("账户已被停用"));
    let token = user.fetch_csrf().await;
    refreshed(&mut user, &token, &refresh)
        .await
        .err(403, "ACCOUNT_DISABLED", Some("账户已被停用"));
    app.delete(&format!("/api/v1/users/{uid}"))
        .await
        .ok(200, "用户删除成功");
    me(&mut user, &access)
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("用户不存在"));
    refreshed(&mut user, &token, &refresh)
        .await
        .err(404, "RESOURCE_NOT_FOUND", Some("用户不存在"));
    // a new password with surrounding spaces is kept as typed: login needs the spaces
    app.post(
        "/api/v1/auth/change-password",
        json!({"old_password": ADMIN_PW, "new_password": " NewPassw0rd ", "confirm_password": " NewPassw0rd "}),
    )
    .await
    .ok(200, "密码修改成功");
    let mut other = app.client();
    other.fetch_csrf().await;
    other
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "NewPassw0rd"}),
        )
        .await
        .err(401, "INVALID_CREDENTIALS", Some("用户名或密码错误"));
    other.login("admin", " NewPassw0rd ").await;
}
