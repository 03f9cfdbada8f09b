//! Configuration from the environment (`domain.md` §10). Same variable names as the original;
//! `APP_ENV` is the environment name (`FLASK_ENV` accepted as an alias). Invalid values abort
//! start-up with one message listing every problem (`配置校验失败: …`).

/// Default `APP_NAME` (the Swagger title).
pub const DEFAULT_APP_NAME: &str = "鲸落";
/// The API version reported by app-info and the Swagger document.
pub const APP_VERSION: &str = "1.3.6";
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Validated settings. Secrets are redacted from `Debug`.
#[derive(Clone)]
pub struct Settings {
    /// `development`, `production` or `testing`.
    pub app_env: String,
    pub debug: bool,
    pub app_name: String,
    pub app_version: String,
    pub secret_key: String,
    pub jwt_secret_key: String,
    /// Seconds.
    pub jwt_access_expires: i64,
    /// Seconds.
    pub jwt_refresh_expires: i64,
    pub database_url: String,
    /// Pool checkout timeout, seconds.
    pub db_connection_timeout: u64,
    pub db_max_connections: u32,
    /// `SYNC_PARALLELISM`: instances a fleet account sync works on at once (default 4).
    pub sync_parallelism: u32,
    /// `QUEUE_LEASE_SECONDS` (default 60): how long a node holds a claimed fleet record
    /// without a heartbeat before another node may re-claim it.
    pub queue_lease_seconds: u32,
    /// `WHALEFALL_NODE_ID`: this node's name in leases and queue claims (default: a random
    /// id per process); 1–64 of `[A-Za-z0-9._-]`.
    pub node_id: Option<String>,
    /// `simple` (in-process) or `redis`.
    pub cache_type: String,
    pub cache_redis_url: String,
    /// Default cache entry lifetime, seconds (`CACHE_DEFAULT_TIMEOUT`).
    pub cache_default_timeout: u64,
    /// bcrypt cost used for new user hashes (≥ 4; default 12).
    pub bcrypt_log_rounds: u32,
    pub password_encryption_key: String,
    /// Bytes.
    pub max_content_length: usize,
    pub log_level: String,
    /// Seconds; also the change-password rate-limit window.
    pub permanent_session_lifetime: u64,
    pub login_rate_limit: usize,
    /// Seconds.
    pub login_rate_window: u64,
    pub cors_origins: Vec<String>,
    pub proxy_fix_x_for: u32,
    pub proxy_fix_trusted_ips: Vec<String>,
    pub api_docs_enabled: bool,
    pub default_admin_password: Option<String>,
    pub enable_scheduler: bool,
    /// `serve` bind address (`WHALEFALL_BIND`, default `127.0.0.1:5001`).
    pub bind: String,
    /// Remember-me cookie lifetime, seconds (bounded, `domain.md` §13.6.43).
    pub remember_cookie_duration: i64,
    /// Folder for the SQLite store and generated keys.
    pub userdata_dir: PathBuf,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("app_env", &self.app_env)
            .field("database_url", &redact_url(&self.database_url))
            .field("cache_type", &self.cache_type)
            .field("bind", &self.bind)
            .finish_non_exhaustive()
    }
}

/// Hide the password of a URL (`scheme://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Parse a boolean setting: `true/1/yes/y/on` and `false/0/no/n/off`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

struct Reader<'a> {
    env: &'a HashMap<String, String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn get(&self, k: &str) -> Option<String> {
        self.env
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
    fn node_id(&mut self) -> Option<String> {
        let v = self.get("WHALEFALL_NODE_ID")?.trim().to_string();
        let ok = (1..=64).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            self.errors
                .push("WHALEFALL_NODE_ID 只能包含 1-64 个字母、数字、点、下划线或连字符".into());
            return None;
        }
        Some(v)
    }

    fn int<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
        &mut self,
        k: &str,
        default: T,
        min: T,
    ) -> T {
        match self.get(k) {
            None => default,
            Some(v) => match v.parse::<T>() {
                Ok(n) if n >= min => n,
                Ok(_) => {
                    self.errors.push(format!("{k} 必须 ≥ {min}"));
                    default
                }
                Err(_) => {
                    self.errors.push(format!("{k} 必须是整数"));
                    default
                }
            },
        }
    }
    fn boolean(&mut self, k: &str, default: bool) -> bool {
        match self.get(k) {
            None => default,
            Some(v) => parse_bool(&v).unwrap_or_else(|| {
                self.errors.push(format!("{k} 必须是布尔值 (true/false)"));
                default
            }),
        }
    }
}

impl Settings {
    /// Load from the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Load from a map of variables (tests). Returns `配置校验失败: <problems>` on error.
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, String> {
        let mut r = Reader {
            env,
            errors: Vec::new(),
        };
        let app_env = r
            .get("APP_ENV")
            .or_else(|| r.get("FLASK_ENV"))
            .unwrap_or_else(|| "development".into())
            .to_lowercase();
        if !["development", "production", "testing"].contains(&app_env.as_str()) {
            r.errors.push(format!(
                "APP_ENV 无效: {app_env} (development/production/testing)"
            ));
        }
        let production = app_env == "production";
        let debug = r.boolean("FLASK_DEBUG", !production);
        let userdata_dir = PathBuf::from(
            r.get("WHALEFALL_USERDATA")
                .unwrap_or_else(|| "userdata".into()),
        );
        let database_url = match r.get("DATABASE_URL") {
            Some(u) => u,
            None if production => {
                r.errors.push("生产环境必须设置 DATABASE_URL".into());
                String::new()
            }
            None => format!(
                "sqlite://{}",
                userdata_dir.join("whalefall_dev.db").display()
            ),
        };
        let cache_type = r
            .get("CACHE_TYPE")
            .unwrap_or_else(|| "simple".into())
            .to_lowercase();
        if cache_type != "simple" && cache_type != "redis" {
            r.errors
                .push(format!("CACHE_TYPE 只能是 simple 或 redis: {cache_type}"));
        }
        let cache_redis_url = match r.get("CACHE_REDIS_URL") {
            Some(u) => u,
            None if production && cache_type == "redis" => {
                r.errors
                    .push("生产环境使用 redis 缓存时必须设置 CACHE_REDIS_URL".into());
                String::new()
            }
            None => "redis://localhost:6379/0".into(),
        };
        let password_encryption_key = r.get("PASSWORD_ENCRYPTION_KEY").unwrap_or_default();
        if !password_encryption_key.is_empty()
            && wf_services::CredentialCipher::new(&password_encryption_key).is_none()
        {
            r.errors
                .push("PASSWORD_ENCRYPTION_KEY 不是有效的 Fernet 密钥".into());
        }
        if production && password_encryption_key.is_empty() {
            r.errors
                .push("生产环境必须设置 PASSWORD_ENCRYPTION_KEY(用于凭据加/解密)".into());
        }
        let secret_key = r.get("SECRET_KEY").unwrap_or_default();
        let jwt_secret_key = r.get("JWT_SECRET_KEY").unwrap_or_default();
        if production && secret_key.is_empty() {
            r.errors.push("生产环境必须设置 SECRET_KEY".into());
        }
        if production && jwt_secret_key.is_empty() {
            r.errors.push("生产环境必须设置 JWT_SECRET_KEY".into());
        }
        let log_level = r
            .get("LOG_LEVEL")
            .unwrap_or_else(|| "INFO".into())
            .to_uppercase();
        if !["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"].contains(&log_level.as_str())
        {
            r.errors.push(format!("LOG_LEVEL 无效: {log_level}"));
        }
        let jwt_refresh_default = 2_592_000;
        let jwt_refresh_expires = if r.get("JWT_REFRESH_TOKEN_EXPIRES").is_some() {
            r.int("JWT_REFRESH_TOKEN_EXPIRES", jwt_refresh_default, 1)
        } else {
            r.int("JWT_REFRESH_TOKEN_EXPIRES_SECONDS", jwt_refresh_default, 1)
        };
        let list = |v: Option<String>, d: &str| -> Vec<String> {
            v.unwrap_or_else(|| d.into())
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let settings = Settings {
            debug,
            app_name: r.get("APP_NAME").unwrap_or_else(|| DEFAULT_APP_NAME.into()),
            app_version: APP_VERSION.into(),
            secret_key,
            jwt_secret_key,
            jwt_access_expires: r.int("JWT_ACCESS_TOKEN_EXPIRES", 3600, 1),
            jwt_refresh_expires,
            database_url,
            db_connection_timeout: r.int("DB_CONNECTION_TIMEOUT", 30, 1),
            db_max_connections: r.int("DB_MAX_CONNECTIONS", 20, 1),
            sync_parallelism: r.int("SYNC_PARALLELISM", 4, 1),
            queue_lease_seconds: r.int("QUEUE_LEASE_SECONDS", 60, 3),
            node_id: r.node_id(),
            cache_type,
            cache_redis_url,
            cache_default_timeout: r.int("CACHE_DEFAULT_TIMEOUT", 300, 1),
            bcrypt_log_rounds: r.int("BCRYPT_LOG_ROUNDS", 12, 4),
            password_encryption_key,
            max_content_length: r.int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024, 1),
            log_level,
            permanent_session_lifetime: r.int("PERMANENT_SESSION_LIFETIME", 3600, 1),
            login_rate_limit: r.int("LOGIN_RATE_LIMIT", 10, 1),
            login_rate_window: r.int("LOGIN_RATE_WINDOW", 60, 1),
            cors_origins: list(
                r.get("CORS_ORIGINS"),
                "http://localhost:5001,http://127.0.0.1:5001",
            ),
            proxy_fix_x_for: r.int("PROXY_FIX_X_FOR", if production { 1 } else { 0 }, 0),
            proxy_fix_trusted_ips: list(r.get("PROXY_FIX_TRUSTED_IPS"), "127.0.0.1,::1"),
            api_docs_enabled: r.boolean("API_V1_DOCS_ENABLED", !production),
            default_admin_password: r.get("DEFAULT_ADMIN_PASSWORD"),
            enable_scheduler: r.boolean("ENABLE_SCHEDULER", true),
            bind: r
                .get("WHALEFALL_BIND")
                .unwrap_or_else(|| "127.0.0.1:5001".into()),
            remember_cookie_duration: r.int("REMEMBER_COOKIE_DURATION", 14 * 24 * 3600, 60),
            userdata_dir,
            app_env,
        };
        if r.errors.is_empty() {
            Ok(settings)
        } else {
            Err(format!("配置校验失败: {}", r.errors.join("; ")))
        }
    }

    /// True in the `production` environment.
    pub fn is_production(&self) -> bool {
        self.app_env == "production"
    }

    /// Fill missing secrets outside production from `userdata/secret_keys.json` (created with
    /// fresh random values on first use, mode 0600) so that sessions and stored credentials
    /// survive restarts. Returns the names of the keys that were generated.
    pub fn ensure_local_secrets(&mut self) -> std::io::Result<Vec<&'static str>> {
        if !self.secret_key.is_empty()
            && !self.jwt_secret_key.is_empty()
            && !self.password_encryption_key.is_empty()
        {
            return Ok(Vec::new());
        }
        let path = self.userdata_dir.join("secret_keys.json");
        let mut stored: HashMap<String, String> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut generated = Vec::new();
        let mut fill = |slot: &mut String, name: &'static str, make: &dyn Fn() -> String| {
            if slot.is_empty() {
                if let Some(v) = stored.get(name) {
                    *slot = v.clone();
                } else {
                    *slot = make();
                    stored.insert(name.to_string(), slot.clone());
                    generated.push(name);
                }
            }
        };
        let random_hex = || {
            use rand::RngCore;
            let mut b = [0u8; 32];
            rand::rng().fill_bytes(&mut b);
            hex::encode(b)
        };
        fill(&mut self.secret_key, "SECRET_KEY", &random_hex);
        fill(&mut self.jwt_secret_key, "JWT_SECRET_KEY", &random_hex);
        fill(
            &mut self.password_encryption_key,
            "PASSWORD_ENCRYPTION_KEY",
            &wf_services::CredentialCipher::generate_key,
        );
        if !generated.is_empty() {
            write_private(
                &path,
                &serde_json::to_string_pretty(&stored).unwrap_or_default(),
            )?;
        }
        Ok(generated)
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_errors() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.app_env, "development");
        assert!(s.database_url.starts_with("sqlite://userdata/"));
        assert!(s.api_docs_enabled);
        assert_eq!(s.login_rate_limit, 10);
        let s = Settings::from_map(&env(&[("FLASK_ENV", "testing")])).unwrap();
        assert_eq!(s.app_env, "testing");
        let e = Settings::from_map(&env(&[
            ("APP_ENV", "production"),
            ("LOGIN_RATE_LIMIT", "x"),
            ("CACHE_TYPE", "memcached"),
        ]))
        .unwrap_err();
        assert!(e.starts_with("配置校验失败: "));
        for needle in [
            "DATABASE_URL",
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "PASSWORD_ENCRYPTION_KEY",
            "LOGIN_RATE_LIMIT",
            "CACHE_TYPE",
        ] {
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
        assert!(Settings::from_map(&env(&[("API_V1_DOCS_ENABLED", "maybe")])).is_err());
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
    }
}
