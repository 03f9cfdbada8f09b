//! The `whalefall` binary: `serve`, `migrate`, `create-admin`, `swagger`, `aggregate`.
//!
//! Configuration comes from the environment and an optional `.env` file (variable names of
//! `domain.md` §10). Without `DATABASE_URL` the store is the SQLite file
//! `userdata/whalefall_dev.db`.

use anyhow::Context;

/// mimalloc: the request path allocates many small objects across worker threads; glibc
/// malloc spent ~30% of the instance-list CPU in allocation and arena-lock contention.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use wf_api::{AppState, Settings};
use wf_services::admin::{Bootstrap, ensure_admin};

#[derive(Parser)]
#[command(
    name = "whalefall",
    version,
    about = "鲸落 WhaleFall — multi-engine DBA platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the store, bootstrap the admin and serve the API.
    Serve {
        /// Listen address (default `WHALEFALL_BIND` or 127.0.0.1:5001).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply migrations (and create the current/next month partitions on PostgreSQL).
    Migrate,
    /// Print the Swagger 2.0 document (`/api/v1/swagger.json`) to standard output.
    Swagger,
    /// Create the `admin` user if missing (password from `--password`,
    /// `DEFAULT_ADMIN_PASSWORD`, or generated and printed once).
    CreateAdmin {
        #[arg(long)]
        password: Option<String>,
    },
    /// Aggregate the last complete period of each given type for every active instance (the
    /// scheduled aggregation, run by hand: a `manual_task` aggregation session); prints the
    /// result and the elapsed seconds.
    Aggregate {
        /// Comma-separated period types.
        #[arg(long, default_value = "daily,weekly,monthly,quarterly")]
        periods: String,
    },
}

fn init_tracing(level: &str) {
    let level = match level {
        "WARNING" | "WARN" => "warn",
        "ERROR" | "CRITICAL" => "error",
        "DEBUG" => "debug",
        _ => "info",
    };
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn,sea_orm=warn"))
    });
    // the console follows LOG_LEVEL; the log centre keeps INFO+ of the application's own
    // targets (never DEBUG, never the libraries' chatter)
    let app_only = tracing_subscriber::filter::filter_fn(|m| {
        *m.level() <= tracing::Level::INFO
            && (m.target().starts_with("wf_") || m.target().starts_with("whalefall"))
    });
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .with(wf_services::logcentre::UnifiedLogLayer.with_filter(app_only))
        .init();
}

async fn bootstrap_admin(
    db: &wf_store::Store,
    settings: &Settings,
    explicit: Option<&str>,
) -> anyhow::Result<()> {
    let pw = explicit
        .map(String::from)
        .or_else(|| settings.default_admin_password.clone());
    if let Some(p) = &pw {
        wf_domain::password::check_strength(p)
            .map_err(|m| anyhow::anyhow!("管理员密码不符合密码策略: {m}"))?;
    }
    match ensure_admin(db, pw.as_deref(), settings.bcrypt_log_rounds).await? {
        Bootstrap::Exists => tracing::info!("admin user present"),
        Bootstrap::CreatedFromEnv => {
            tracing::info!("admin user created from the configured password")
        }
        Bootstrap::CreatedGenerated(p) => {
            tracing::info!(
                length = p.len(),
                "admin user created with a generated password"
            );
            println!("==================================================");
            println!(" 初始管理员已创建 / initial admin created");
            println!("   username: admin");
            println!("   password: {p}");
            println!(" (shown once; change it after the first login)");
            println!("==================================================");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; draining connections");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Command::Swagger = cli.command {
        let doc = wf_api::openapi::swagger2(
            wf_api::config::DEFAULT_APP_NAME,
            wf_api::config::APP_VERSION,
        );
        println!("{}", serde_json::to_string_pretty(doc)?);
        return Ok(());
    }
    let mut settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    init_tracing(&settings.log_level);
    if !settings.is_production() {
        let generated = settings
            .ensure_local_secrets()
            .context("writing userdata/secret_keys.json")?;
        if !generated.is_empty() {
            tracing::warn!(keys = ?generated, "generated local secrets in userdata/secret_keys.json (set them in the environment for production)");
        }
    }
    tracing::info!(store = %wf_api::config::redact_url(&settings.database_url), env = %settings.app_env, "starting");
    let db = wf_store::connect(
        &settings.database_url,
        settings.db_max_connections,
        settings.db_connection_timeout,
    )
    .await
    .context("connecting to the app store (DATABASE_URL)")?;
    match cli.command {
        Command::Migrate => {
            wf_store::migrate(&db).await.context("migrating")?;
            println!("migrations applied");
        }
        Command::CreateAdmin { password } => {
            wf_store::migrate(&db).await.context("migrating")?;
            bootstrap_admin(&db, &settings, password.as_deref()).await?;
        }
        Command::Swagger => unreachable!("handled before configuration"),
        Command::Aggregate { periods } => {
            wf_store::migrate(&db).await.context("migrating")?;
            let kinds: Vec<wf_domain::capacity::PeriodType> = periods
                .split(',')
                .map(|p| {
                    wf_domain::capacity::PeriodType::parse(p)
                        .with_context(|| format!("unknown period type {p:?}"))
                })
                .collect::<anyhow::Result<_>>()?;
            let state = AppState::new(settings, db)
                .await
                .map_err(anyhow::Error::msg)?;
            let started = std::time::Instant::now();
            let r = wf_services::aggregation::aggregate_periods(
                &state.svc,
                &kinds,
                "manual_task",
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.into_app_error().message))?;
            println!("{}", serde_json::to_string(&r)?);
            println!("aggregation time: {:.3} s", started.elapsed().as_secs_f64());
        }
        Command::Serve { bind } => {
            wf_store::migrate(&db).await.context("migrating")?;
            wf_services::logcentre::install(db.clone());
            bootstrap_admin(&db, &settings, None).await?;
            let bind = bind.unwrap_or_else(|| settings.bind.clone());
            let scheduler_enabled = settings.enable_scheduler;
            let state = AppState::new(settings, db)
                .await
                .map_err(anyhow::Error::msg)?;
            // this node's share of the fleet queue (and the records of nodes that died); its
            // first sweep, at once, also marks orphaned aggregation sessions `interrupted`
            wf_services::fleet::ensure_worker(&state.svc);
            // benchmark knob (bench/logs.sh): emit this many INFO events per second
            if let Some(rate) = std::env::var("WHALEFALL_LOG_LOAD_PER_SEC")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|r| *r > 0)
            {
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
                    let per_tick = rate.div_ceil(100);
                    let mut n: u64 = 0;
                    loop {
                        tick.tick().await;
                        for _ in 0..per_tick {
                            n += 1;
                            tracing::info!(
                                module = "log_load",
                                seq = n,
                                password = "never-stored",
                                "synthetic log event"
                            );
                        }
                    }
                });
            }
            if let Err(e) = wf_services::scheduler::start(&state.svc, scheduler_enabled).await {
                tracing::error!(error = %e.into_app_error().message, "scheduler not started");
            }
            let app = wf_api::router(state);
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("binding {bind}"))?;
            tracing::info!(%bind, "listening");
            println!("WhaleFall listening on http://{bind}/api/v1/");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        }
    }
    Ok(())
}
