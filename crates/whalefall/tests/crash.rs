//! Crash safety with real processes (issue 16).
//!
//! 1. Two `whalefall serve` nodes on one PostgreSQL store share a queued sync-all of 60
//!    instances (this machine's PostgreSQL registered 60 times); node `a` is killed with
//!    SIGKILL while it holds records. Node `b` re-claims them when their lease expires and
//!    finishes the session: every instance synced exactly once in its records, none
//!    half-written (each has the same active accounts).
//! 2. The store going away: a private PostgreSQL cluster the test starts itself (`initdb`,
//!    `pg_ctl` on a loopback port, as the `postgres` user) is stopped under a serving node:
//!    requests answer 503 with the error envelope within the pool timeout, and the node
//!    serves again once the cluster is back.
//!
//! Every process is stopped by its pid; the store databases and the cluster are removed.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const KEY: &str = "dGhpcy1pcy1hLTMyLWJ5dGUta2V5LWZvci10ZXN0cyE=";

/// A server process, killed by its pid when dropped (also when an assertion fails first).
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(url: &str, dir: &std::path::Path, bind: &str, env: &[(&str, &str)]) -> Node {
    let mut c = Command::new(env!("CARGO_BIN_EXE_whalefall"));
    c.args(["serve", "--bind", bind])
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("DEFAULT_ADMIN_PASSWORD", "Admin12345")
        .env("PASSWORD_ENCRYPTION_KEY", KEY)
        .env("SECRET_KEY", "crash-test-secret")
        .env("JWT_SECRET_KEY", "crash-test-jwt")
        .env("LOG_LEVEL", "WARNING")
        .env("ENABLE_SCHEDULER", "false")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.join(format!("{}.log", bind.replace(':', "_"))))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        );
    for (k, v) in env {
        c.env(k, v);
    }
    Node(c.spawn().expect("spawn whalefall"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn stop(node: Node) {
    drop(node);
}

#[tokio::test]
async fn a_node_killed_in_the_middle_of_sync_all_loses_nothing() {
    let db = format!(
        "wf_crash_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let admin = sqlx::PgPool::connect(ADMIN_URL).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let dir = std::env::temp_dir().join(&db);
    std::fs::create_dir_all(&dir).unwrap();
    let store = wf_store::connect(&url, 4, 10).await.unwrap();
    wf_store::migrate(&store).await.unwrap();
    // 60 instances of this machine's PostgreSQL, one credential (trust auth)
    let cipher = wf_services::CredentialCipher::new(KEY).unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO credentials (name, credential_type, db_type, username, password, is_active) VALUES ('c', 'database', 'postgresql', 'postgres', $1, true)")
        .bind(cipher.encrypt("trust-auth"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO instances (name, db_type, host, port, credential_id) \
         SELECT 'crash-' || g, 'postgresql', '127.0.0.1', 5432, (SELECT id FROM credentials LIMIT 1) FROM generate_series(1, 60) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    let targets: Vec<(i32, String)> = sqlx::query_as("SELECT id, name FROM instances ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let env = |id: &'static str| {
        [
            ("WHALEFALL_NODE_ID", id),
            ("QUEUE_LEASE_SECONDS", "3"),
            ("SYNC_PARALLELISM", "2"),
        ]
    };
    let (pa, pb) = (free_port(), free_port());
    let a = serve(&url, &dir, &format!("127.0.0.1:{pa}"), &env("node-a"));
    let b = serve(&url, &dir, &format!("127.0.0.1:{pb}"), &env("node-b"));
    // both nodes listen (their workers run) before the work is queued
    let t0 = Instant::now();
    while [pa, pb]
        .iter()
        .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "nodes did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sid = uuid::Uuid::new_v4().to_string();
    wf_store::repo::sessions::create(
        &store,
        &wf_store::repo::sessions::NewSession {
            session_id: &sid,
            sync_type: "manual_task",
            sync_category: "account",
            created_by: None,
            instances: &targets,
        },
    )
    .await
    .unwrap();

    // kill node a as soon as it holds records
    let started = Instant::now();
    let held_by_a: Vec<i32> = loop {
        let held: Vec<i32> = sqlx::query_scalar(
            "SELECT id FROM sync_instance_records WHERE session_id = $1 AND status = 'running' AND claimed_by LIKE 'node-a:%'",
        )
        .bind(&sid)
        .fetch_all(&pool)
        .await
        .unwrap();
        if !held.is_empty() {
            break held;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node a never claimed a record"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop(a);
    // node b finishes the session
    let mut status = String::new();
    for _ in 0..600 {
        status = sqlx::query_scalar("SELECT status FROM sync_sessions WHERE session_id = $1")
            .bind(&sid)
            .fetch_one(&pool)
            .await
            .unwrap();
        if status != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(b);
    let records: Vec<(i32, String, Option<String>, i32)> = sqlx::query_as(
        "SELECT id, status, split_part(claimed_by, ':', 1), attempts FROM sync_instance_records WHERE session_id = $1",
    )
    .bind(&sid)
    .fetch_all(&pool)
    .await
    .unwrap();
    let (ok, failed): (i32, i32) = sqlx::query_as(
        "SELECT successful_instances, failed_instances FROM sync_sessions WHERE session_id = $1",
    )
    .bind(&sid)
    .fetch_one(&pool)
    .await
    .unwrap();
    let per_instance: Vec<i64> = sqlx::query_scalar(
        "SELECT count(a.id) FROM instances i LEFT JOIN instance_accounts a ON a.instance_id = i.id AND a.is_active GROUP BY i.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    store.close().await.ok();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let logs: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(status, "completed", "records: {records:?}\nlogs: {logs:?}");
    assert_eq!((ok, failed), (60, 0));
    assert_eq!(records.len(), 60, "one record per instance");
    assert!(records.iter().all(|r| r.1 == "completed"), "{records:?}");
    // what node a held when it died was re-claimed and finished by node b
    for id in &held_by_a {
        let r = records.iter().find(|r| r.0 == *id).unwrap();
        assert_eq!(
            (r.2.as_deref(), r.3),
            (Some("node-b"), 2),
            "record {id}: {r:?}"
        );
    }
    // no instance half-written: all have the same active accounts, none without
    assert_eq!(per_instance.len(), 60);
    assert!(per_instance[0] > 0);
    assert!(
        per_instance.iter().all(|n| *n == per_instance[0]),
        "{per_instance:?}"
    );
}

/// A minimal HTTP/1.1 exchange on loopback: `(status, set-cookie values, body)`.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<String>, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .collect();
    // chunked bodies: keep the JSON object only
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if b >= a => body[a..=b].to_string(),
        _ => body.to_string(),
    };
    (status, cookies, body)
}

fn pg_tool(tool: &str) -> String {
    for v in ["18", "17", "16", "15", "14", "13"] {
        let p = format!("/usr/lib/postgresql/{v}/bin/{tool}");
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    panic!("{tool} not found under /usr/lib/postgresql");
}

/// Run a PostgreSQL tool as the `postgres` user (`initdb` refuses root).
fn as_postgres(args: &[&str]) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[tokio::test]
async fn the_store_going_away_answers_503_and_the_node_serves_again() {
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let data = std::env::temp_dir().join(format!("wf_pgdata_{tag}"));
    std::fs::create_dir_all(&data).unwrap();
    assert!(
        Command::new("chown")
            .args(["postgres:postgres", data.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    let d = data.to_str().unwrap();
    assert!(
        as_postgres(&[&pg_tool("initdb"), "-D", d, "-A", "trust", "-U", "postgres"]),
        "initdb"
    );
    let port = free_port().to_string();
    let opts = format!("-p {port} -k {d} -c listen_addresses=127.0.0.1");
    let start = || {
        as_postgres(&[
            &pg_tool("pg_ctl"),
            "-D",
            d,
            "-o",
            &opts,
            "-w",
            "-t",
            "30",
            "start",
        ])
    };
    let stop_cluster =
        || as_postgres(&[&pg_tool("pg_ctl"), "-D", d, "-m", "immediate", "-w", "stop"]);
    assert!(start(), "pg_ctl start");
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let dir = std::env::temp_dir().join(format!("wf_node_{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let http_port = free_port();
    let node = serve(
        &url,
        &dir,
        &format!("127.0.0.1:{http_port}"),
        &[("DB_CONNECTION_TIMEOUT", "3")],
    );
    // up: log in, then an authenticated read
    let t0 = Instant::now();
    let (csrf, cookie) = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", http_port)) {
            drop(s);
            let (st, cookies, body) = http(http_port, "GET", "/api/v1/auth/csrf-token", &[], "");
            if st == 200 {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                break (
                    v["data"]["csrf_token"].as_str().unwrap().to_string(),
                    cookies.join("; "),
                );
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "node did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (st, cookies, body) = http(
        http_port,
        "POST",
        "/api/v1/auth/login",
        &[
            ("Content-Type", "application/json"),
            ("X-CSRFToken", &csrf),
            ("Cookie", &cookie),
        ],
        r#"{"username":"admin","password":"Admin12345"}"#,
    );
    assert_eq!(st, 200, "{body}");
    let cookie = cookies.join("; ");
    let read = || {
        http(
            http_port,
            "GET",
            "/api/v1/instances",
            &[("Cookie", &cookie)],
            "",
        )
    };
    assert_eq!(read().0, 200);
    // the store goes away
    assert!(stop_cluster(), "pg_ctl stop");
    let mut down = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let (st, _, body) = read();
        down.push((st, body, t.elapsed()));
    }
    // and comes back
    assert!(start(), "pg_ctl restart");
    let t = Instant::now();
    let mut back = 0;
    while t.elapsed() < Duration::from_secs(30) {
        back = read().0;
        if back == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alive = http(http_port, "GET", "/api/v1/health/ping", &[], "").0;
    stop(node);
    stop_cluster();
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&dir);
    for (st, body, took) in &down {
        assert_eq!(*st, 503, "{body}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["message_code"], "DATABASE_UNAVAILABLE");
        assert_eq!(v["message"], "数据库暂时不可用,请稍后再试");
        assert_eq!(v["error_id"].as_str().map(str::len), Some(32));
        assert!(*took < Duration::from_secs(10), "answered after {took:?}");
    }
    assert_eq!(alive, 200, "the node stayed up");
    assert_eq!(back, 200, "the node serves again once the store is back");
}
