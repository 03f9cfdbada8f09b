//! Two real `whalefall serve` processes on one PostgreSQL store (issues 11, 16): both stay
//! alive and serving for the whole window, and a job firing every second is run once per fire
//! — never twice at once, never more runs than fires — so only one node can be leading.
//! The processes are stopped by their pid and the store dropped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A process killed by its pid when dropped (also when an assertion fails first).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], url: &str, dir: &std::path::Path) -> Proc {
    Command::new(env!("CARGO_BIN_EXE_whalefall"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("DEFAULT_ADMIN_PASSWORD", "Admin12345")
        .env("LOG_LEVEL", "WARNING")
        .env("ENABLE_SCHEDULER", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .expect("spawn whalefall")
}

#[tokio::test]
async fn two_nodes_never_run_the_same_fire_twice() {
    let db = format!(
        "wf_leader_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let admin = sqlx::PgPool::connect(ADMIN_URL).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let dirs: Vec<std::path::PathBuf> = (0..2)
        .map(|i| {
            let d = std::env::temp_dir().join(format!("{db}_{i}"));
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect();
    let status = spawn(&["migrate"], &url, &dirs[0]).0.wait().unwrap();
    assert!(status.success());
    let store = sqlx::PgPool::connect(&url).await.unwrap();
    // the log clean-up fires every second (a user-edited trigger, kept at start)
    sqlx::query(
        "INSERT INTO scheduler_jobs (id, name, func, trigger_type, trigger_args, timezone, next_run_time, is_paused, is_customized, updated_at) \
         VALUES ('cleanup_logs', '清理旧日志', 'cleanup_old_logs', 'interval', jsonb_build_object('seconds_total', 1, 'start', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')), \
         'Asia/Shanghai', now(), false, true, now())",
    )
    .execute(&store)
    .await
    .unwrap();
    let ports: Vec<u16> = (0..2)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let mut nodes: Vec<Proc> = dirs
        .iter()
        .zip(&ports)
        .map(|(d, p)| spawn(&["serve", "--bind", &format!("127.0.0.1:{p}")], &url, d))
        .collect();
    // both nodes listen, then serve for the whole window (a test where one node died proves
    // nothing)
    let up = std::time::Instant::now();
    while ports
        .iter()
        .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_err())
    {
        assert!(
            up.elapsed() < Duration::from_secs(60),
            "nodes did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let window = std::time::Instant::now();
    let (mut checks, mut pings) = (0u32, [0u32; 2]);
    while window.elapsed() < Duration::from_secs(8) {
        checks += 1;
        for (i, p) in ports.iter().enumerate() {
            if std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok() {
                pings[i] += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let alive: Vec<bool> = nodes
        .iter_mut()
        .map(|n| matches!(n.0.try_wait(), Ok(None)))
        .collect();
    let elapsed = up.elapsed();
    drop(nodes);
    let runs: Vec<(chrono::DateTime<chrono::Utc>, String, String)> = sqlx::query_as(
        "SELECT started_at, status, trigger_source FROM task_runs WHERE task_key = 'cleanup_logs' ORDER BY started_at",
    )
    .fetch_all(&store)
    .await
    .unwrap();
    let builtins: i64 = sqlx::query_scalar("SELECT count(*) FROM scheduler_jobs")
        .fetch_one(&store)
        .await
        .unwrap();
    let kept: String =
        sqlx::query_scalar("SELECT trigger_type FROM scheduler_jobs WHERE id = 'cleanup_logs'")
            .fetch_one(&store)
            .await
            .unwrap();
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    assert_eq!(alive, [true, true], "both nodes ran the whole window");
    assert_eq!(
        pings,
        [checks, checks],
        "both nodes served the whole window"
    );
    assert_eq!((builtins, kept.as_str()), (5, "interval"));
    assert!(runs.len() >= 4, "fires in ~8 s: {runs:?}");
    // one run per fire: no more runs than fires in the window
    assert!(
        runs.len() as u64 <= elapsed.as_secs() + 1,
        "{} runs in {elapsed:?}: {runs:?}",
        runs.len()
    );
    assert!(runs.iter().all(|r| r.2 == "scheduled"));
    // one run per fire: consecutive starts are about a second apart, never together
    for w in runs.windows(2) {
        let gap = (w[1].0 - w[0].0).num_milliseconds();
        assert!(gap >= 500, "two runs {gap} ms apart: {runs:?}");
    }
}
