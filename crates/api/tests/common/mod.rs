//! Test harness: the real router with a real store (SQLite file or a fresh PostgreSQL
//! database, chosen by `WF_TEST_STORE=sqlite|postgres`), a cookie jar and CSRF tokens.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;
use wf_api::{AppState, Settings};

/// PostgreSQL server used for the app store in PG mode and as a managed instance.
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// MariaDB server used as a managed instance.
pub const MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/mysql";
/// Admin password of every test app.
pub const ADMIN_PW: &str = "Admin12345";

pub fn store_kind() -> String {
    std::env::var("WF_TEST_STORE").unwrap_or_else(|_| "sqlite".into())
}

/// Unique lowercase suffix for names created by a test.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// Run statements on this machine's PostgreSQL as `postgres` (test fixtures).
pub async fn pg_exec(sqls: &[String]) {
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(PG_ADMIN_URL).await.expect("postgres");
    for s in sqls {
        pool.execute(sqlx::AssertSqlSafe(s.clone()))
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

/// Run statements in one database of this machine's PostgreSQL as `postgres`.
pub async fn pg_exec_in(database: &str, sqls: &[String]) {
    use sqlx::Executor;
    let url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    let pool = sqlx::PgPool::connect(&url).await.expect("postgres");
    for s in sqls {
        pool.execute(sqlx::AssertSqlSafe(s.clone()))
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

/// One integer read from this machine's PostgreSQL (`postgres` database).
pub async fn pg_i64(sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(PG_ADMIN_URL).await.expect("postgres");
    let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
    v
}

/// One integer read from this machine's MariaDB as `root`.
pub async fn my_i64(sql: &str) -> i64 {
    let pool = sqlx::MySqlPool::connect(MYSQL_ADMIN_URL)
        .await
        .expect("mariadb");
    let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pool.close().await;
    v
}

/// Run statements on this machine's MariaDB as `root` (test fixtures).
pub async fn my_exec(sqls: &[String]) {
    use sqlx::Executor;
    let pool = sqlx::MySqlPool::connect(MYSQL_ADMIN_URL)
        .await
        .expect("mariadb");
    for s in sqls {
        pool.execute(sqlx::AssertSqlSafe(s.clone()))
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    pool.close().await;
}

/// A response: status, headers and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    /// The raw body as text (downloads).
    pub text: String,
}

impl Resp {
    /// Assert a success envelope with `status` and `message`; returns `data`.
    pub fn ok(&self, status: u16, message: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.body["success"], json!(true), "{}", self.body);
        assert_eq!(self.body["error"], json!(false));
        assert_eq!(self.body["message"], json!(message), "{}", self.body);
        let ts = self.body["timestamp"].as_str().expect("timestamp");
        assert!(ts.ends_with("+00:00") && ts.len() == 32, "timestamp {ts}");
        self.body.get("data").cloned().unwrap_or(Value::Null)
    }

    /// Assert an error envelope with status, message_code and (optionally) message.
    pub fn err(&self, status: u16, code: &str, message: Option<&str>) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        let b = &self.body;
        assert_eq!(b["success"], json!(false), "{b}");
        assert_eq!(b["error"], json!(true));
        assert_eq!(b["message_code"], json!(code), "{b}");
        if let Some(m) = message {
            assert_eq!(b["message"], json!(m), "{b}");
        }
        assert_eq!(b["error_id"].as_str().map(str::len), Some(32));
        for k in [
            "category",
            "severity",
            "timestamp",
            "recoverable",
            "suggestions",
            "context",
        ] {
            assert!(b.get(k).is_some(), "missing {k} in {b}");
        }
        assert!(b["context"]["url"].as_str().unwrap().starts_with("http://"));
        // request correlation: the envelope's id is the response's X-Request-Id
        let rid = b["context"]["request_id"].as_str().expect("request_id");
        assert_eq!(
            self.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some(rid)
        );
        b
    }
}

/// One client session against one app.
pub struct TestApp {
    pub router: axum::Router,
    pub state: AppState,
    cookies: HashMap<String, String>,
    pub csrf: Option<String>,
    /// The store URL (a second node connects to the same store).
    pub url: String,
    pg_db: Option<String>,
    sqlite_path: Option<std::path::PathBuf>,
}

pub fn test_env(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("APP_ENV", "testing"),
        ("SECRET_KEY", "test-secret-key"),
        ("JWT_SECRET_KEY", "test-jwt-key"),
        (
            "PASSWORD_ENCRYPTION_KEY",
            "dGhpcy1pcy1hLTMyLWJ5dGUta2V5LWZvci10ZXN0cyE=",
        ),
        ("BCRYPT_LOG_ROUNDS", "4"),
        ("FLASK_DEBUG", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// A fresh store + state with extra settings.
    pub async fn with_env(extra: &[(&str, &str)]) -> Self {
        let (url, pg_db, sqlite_path) = if store_kind() == "postgres" {
            let name = format!("wf_test_{}", unique());
            let pool = sqlx::PgPool::connect(PG_ADMIN_URL)
                .await
                .expect("postgres on 127.0.0.1:5432");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create test database");
            pool.close().await;
            (
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
                Some(name),
                None,
            )
        } else {
            let path = std::env::temp_dir().join(format!("wf-test-{}.db", unique()));
            (format!("sqlite:///{}", path.display()), None, Some(path))
        };
        let mut app = Self::node_on(url, extra, true).await;
        (app.pg_db, app.sqlite_path) = (pg_db, sqlite_path);
        app
    }

    /// A node on the store at `url` (migrated and bootstrapped first when `fresh`); it owns
    /// no clean-up.
    async fn node_on(url: String, extra: &[(&str, &str)], fresh: bool) -> TestApp {
        let mut env = test_env(extra);
        env.insert("DATABASE_URL".into(), url.clone());
        let settings = Settings::from_map(&env).expect("test settings");
        let db = wf_store::connect(&url, 5, 10).await.expect("store");
        if fresh {
            wf_store::migrate(&db).await.expect("migrate");
            wf_services::admin::ensure_admin(&db, Some(ADMIN_PW), 4)
                .await
                .expect("admin");
        }
        let state = AppState::new(settings, db).await.expect("state");
        TestApp {
            router: wf_api::router(state.clone()),
            state,
            cookies: HashMap::new(),
            csrf: None,
            url,
            pg_db: None,
            sqlite_path: None,
        }
    }

    /// Another node on the same store: its own pool, `Services`, caches and router, as a
    /// second `whalefall serve` would have (the first app owns the store's clean-up).
    pub async fn second_node(&self, extra: &[(&str, &str)]) -> TestApp {
        Self::node_on(self.url.clone(), extra, false).await
    }

    /// A second client (own cookie jar) on the same app and store.
    pub fn client(&self) -> TestApp {
        TestApp {
            router: self.router.clone(),
            state: self.state.clone(),
            cookies: HashMap::new(),
            csrf: None,
            url: self.url.clone(),
            pg_db: None,
            sqlite_path: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Forget all cookies (a new browser).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// Drop one cookie.
    pub fn drop_cookie(&mut self, name: &str) {
        self.cookies.remove(name);
    }

    /// Send a raw request.
    pub async fn raw(&mut self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let s = sc.to_str().unwrap_or_default();
            let first = s.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                let removal = v.is_empty() || s.to_ascii_lowercase().contains("max-age=0");
                if removal {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), v.to_string());
                }
            }
        }
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Build and send a request with cookies and optional JSON body / extra headers.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .header("host", "localhost");
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookie_header());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some((ct, bytes)) => b
                .header("content-type", ct)
                .body(Body::from(bytes))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.raw(req).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }

    /// Fetch (and remember) a CSRF token for this cookie jar.
    pub async fn fetch_csrf(&mut self) -> String {
        let r = self.get("/api/v1/auth/csrf-token").await;
        let t = r.ok(200, "操作成功")["csrf_token"]
            .as_str()
            .unwrap()
            .to_string();
        self.csrf = Some(t.clone());
        t
    }

    /// JSON write with the `X-CSRFToken` header.
    pub async fn write(&mut self, method: &str, path: &str, body: Value) -> Resp {
        let token = match &self.csrf {
            Some(t) => t.clone(),
            None => self.fetch_csrf().await,
        };
        self.send(
            method,
            path,
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
            &[("X-CSRFToken", &token)],
        )
        .await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.write("POST", path, body).await
    }

    pub async fn put(&mut self, path: &str, body: Value) -> Resp {
        self.write("PUT", path, body).await
    }

    pub async fn delete(&mut self, path: &str) -> Resp {
        self.write("DELETE", path, json!({})).await
    }

    /// Log in; returns the login `data`.
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        let r = self
            .post(
                "/api/v1/auth/login",
                json!({"username": username, "password": password}),
            )
            .await;
        r.ok(200, "登录成功")
    }

    pub async fn login_admin(&mut self) -> Value {
        self.login("admin", ADMIN_PW).await
    }

    /// Create a user (as the current admin session); returns its id.
    pub async fn create_user(&mut self, username: &str, role: &str, password: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/users",
                json!({"username": username, "role": role, "password": password}),
            )
            .await;
        r.ok(201, "用户创建成功")["user"]["id"].as_i64().unwrap()
    }

    /// Create a credential; returns its id.
    pub async fn create_credential(&mut self, name: &str, username: &str, password: &str) -> i64 {
        let r = self
            .post("/api/v1/credentials", json!({"name": name, "credential_type": "database", "username": username, "password": password}))
            .await;
        r.ok(201, "数据保存成功")["credential"]["id"]
            .as_i64()
            .unwrap()
    }

    /// Create an instance; returns its id.
    pub async fn create_instance(&mut self, body: Value) -> i64 {
        let r = self.post("/api/v1/instances", body).await;
        r.ok(201, "实例创建成功")["instance"]["id"]
            .as_i64()
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = self.sqlite_path.take() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        if let Some(name) = self.pg_db.take() {
            // Drop the database from a helper thread with its own runtime; FORCE ends the
            // app pool's connections (the test runtime is blocked while we wait).
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(PG_ADMIN_URL).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&pool)
                        .await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}
