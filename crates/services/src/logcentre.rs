//! The unified log centre's writer (`domain.md` §8.2–§8.3, issue 11): a `tracing` layer turns
//! the application's INFO+ events into `unified_logs` entries — `module` from the event or
//! its target, the current request's `request_id`/`user_id` from the request span, the other
//! fields as `context` with secrets scrubbed — and hands them to a bounded queue **without
//! blocking** (a full queue drops the entry and counts it). One background writer inserts the
//! queue in batches (500 rows or every second).

use chrono::Utc;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Queue capacity (entries); beyond it entries are dropped, not waited for.
pub const QUEUE_SIZE: usize = 20_000;
/// Rows per insert.
pub const BATCH_SIZE: usize = 1_000;
/// Longest time an entry waits in the writer's buffer.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Field names whose values never reach the table (`domain.md` §8.2), case-insensitive.
pub const SECRET_KEYS: [&str; 27] = [
    "password",
    "confirm_password",
    "current_password",
    "new_password",
    "old_password",
    "token",
    "api_key",
    "secret",
    "private_key",
    "access_token",
    "refresh_token",
    "secret_key",
    "jwt_secret_key",
    "password_encryption_key",
    "key",
    "env_var",
    "postgres_password",
    "redis_password",
    "database_url",
    "cache_redis_url",
    "authorization",
    "cookie",
    "set-cookie",
    "set_cookie",
    "x-csrf-token",
    "csrf_token",
    "credential",
];

/// Replace the values of secret keys by `***`, recursively.
pub fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                    *val = json!("***");
                } else {
                    scrub(val);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// One entry on its way to `unified_logs`.
pub use wf_store::repo::logs::NewLog as LogEntry;

struct Sink {
    tx: tokio::sync::mpsc::Sender<LogEntry>,
}

static SINK: OnceLock<Sink> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// `(written, dropped)` entries since start.
pub fn counters() -> (u64, u64) {
    (
        WRITTEN.load(Ordering::Relaxed),
        DROPPED.load(Ordering::Relaxed),
    )
}

/// Start the writer on `db` (once per process; later calls are ignored). Events before this
/// are not persisted.
pub fn install(db: wf_store::Store) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<LogEntry>(QUEUE_SIZE);
    if SINK.set(Sink { tx }).is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut buf: Vec<LogEntry> = Vec::with_capacity(BATCH_SIZE);
        loop {
            let deadline = tokio::time::sleep(FLUSH_INTERVAL);
            tokio::pin!(deadline);
            let mut closed = false;
            while buf.len() < BATCH_SIZE {
                tokio::select! {
                    e = rx.recv() => match e {
                        Some(e) => buf.push(e),
                        None => { closed = true; break; }
                    },
                    _ = &mut deadline => break,
                }
            }
            if !buf.is_empty() {
                let n = buf.len() as u64;
                match wf_store::repo::logs::insert_batch(&db, std::mem::take(&mut buf)).await {
                    Ok(()) => {
                        WRITTEN.fetch_add(n, Ordering::Relaxed);
                        // log list totals of every node are recounted after a batch lands
                        if db.get_database_backend() == sea_orm::DbBackend::Postgres
                            && let Err(e) = wf_store::repo::generations::bump(&db, &["logs"]).await
                        {
                            eprintln!("log generation bump failed: {e}");
                        }
                    }
                    Err(e) => {
                        DROPPED.fetch_add(n, Ordering::Relaxed);
                        eprintln!("unified log batch of {n} lost: {e}");
                    }
                }
            }
            if closed {
                break;
            }
        }
    });
}

/// Queue an entry without waiting (dropped and counted when the queue is full or the writer
/// is not installed).
pub fn submit(e: LogEntry) {
    match SINK.get() {
        Some(s) => {
            if s.tx.try_send(e).is_err() {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        None => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    module: Option<String>,
    traceback: Option<String>,
    rest: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, f: &Field, v: &str) {
        match f.name() {
            "message" => self.message = Some(v.to_string()),
            "module" => self.module = Some(v.to_string()),
            "traceback" | "exception" => self.traceback = Some(v.to_string()),
            n => {
                self.rest.insert(n.to_string(), json!(v));
            }
        }
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.rest.insert(f.name().to_string(), json!(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.rest.insert(f.name().to_string(), json!(v));
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.rest.insert(f.name().to_string(), json!(v));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.rest.insert(f.name().to_string(), json!(v));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.record_str(f, &format!("{v:?}"));
    }
}

/// The `tracing` layer feeding the log centre. Add it to the subscriber with a filter
/// (the binary persists INFO+ of the application's own targets).
#[derive(Default)]
pub struct UnifiedLogLayer;

impl<S> Layer<S> for UnifiedLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = match *event.metadata().level() {
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            _ => return,
        };
        let mut f = Fields::default();
        event.record(&mut f);
        let mut context = Map::new();
        crate::context::current_request_log(|r| {
            context.insert("request_id".into(), json!(r.request_id));
            match r.user_id.load(Ordering::Relaxed) {
                0 => {}
                uid => {
                    context.insert("user_id".into(), json!(uid));
                }
            }
            context.insert("method".into(), json!(r.method));
            context.insert("path".into(), json!(r.path));
        });
        context.extend(f.rest);
        let mut context = Value::Object(context);
        scrub(&mut context);
        let target = event.metadata().target();
        let module = f.module.unwrap_or_else(|| {
            target
                .rsplit("::")
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("app")
                .to_string()
        });
        submit(LogEntry {
            timestamp: Utc::now(),
            level,
            module,
            message: f.message.unwrap_or_default(),
            traceback: f.traceback,
            context,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn secrets_are_scrubbed_recursively() {
        let mut v = json!({"user": "a", "Password": "x", "nested": {"token": "t", "list": [{"database_url": "postgres://u:p@h/db"}]}, "cookie": "c"});
        scrub(&mut v);
        assert_eq!(v["Password"], "***");
        assert_eq!(v["nested"]["token"], "***");
        assert_eq!(v["nested"]["list"][0]["database_url"], "***");
        assert_eq!(
            (v["user"].as_str(), v["cookie"].as_str()),
            (Some("a"), Some("***"))
        );
    }
}
