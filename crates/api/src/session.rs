//! Browser session and CSRF tokens (`api-v1.md` §2.6, §2.8; `domain.md` §9.4–§9.5).
//!
//! The session lives in the signed cookie `whalefall_session` (axum-extra `SignedCookieJar`,
//! key derived from `SECRET_KEY`) and holds the CSRF secret and the user id. The
//! `remember_token` cookie (signed, bounded lifetime) re-establishes the user when the
//! session cookie is gone. CSRF tokens follow Flask-WTF: `<payload>.<timestamp>.<signature>`
//! in URL-safe base64, valid for 3600 s, bound to the session's secret.

use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use std::sync::{Arc, Mutex};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "whalefall_session";
/// Remember-me cookie name.
pub const REMEMBER_COOKIE: &str = "remember_token";
/// CSRF token lifetime (seconds).
pub const CSRF_TIME_LIMIT: i64 = 3600;

/// Contents of the session cookie.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SessionData {
    /// Per-session CSRF secret (40 hex chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// Logged-in user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i32>,
}

/// Shared, mutable view of the request's session; the session middleware writes the cookie
/// back when a handler changed it.
#[derive(Debug, Clone, Default)]
pub struct SessionHandle {
    inner: Arc<Mutex<(SessionData, bool, RememberAction)>>,
}

/// What to do with the remember-me cookie after the request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum RememberAction {
    #[default]
    Keep,
    Set(i32),
    Clear,
}

impl SessionHandle {
    /// Wrap loaded session data.
    pub fn new(data: SessionData) -> Self {
        Self {
            inner: Arc::new(Mutex::new((data, false, RememberAction::Keep))),
        }
    }
    /// Current data.
    pub fn get(&self) -> SessionData {
        self.inner.lock().map(|g| g.0.clone()).unwrap_or_default()
    }
    /// Mutate and mark dirty.
    pub fn update(&self, f: impl FnOnce(&mut SessionData)) {
        if let Ok(mut g) = self.inner.lock() {
            f(&mut g.0);
            g.1 = true;
        }
    }
    /// Ask the middleware to set or clear the remember-me cookie.
    pub fn remember(&self, action: RememberAction) {
        if let Ok(mut g) = self.inner.lock() {
            g.2 = action;
        }
    }
    /// (data, dirty, remember action).
    pub fn state(&self) -> (SessionData, bool, RememberAction) {
        self.inner.lock().map(|g| g.clone()).unwrap_or_default()
    }
    /// The CSRF secret, creating one (and marking the session dirty) when missing.
    pub fn ensure_csrf_secret(&self) -> String {
        if let Some(s) = self.get().csrf {
            return s;
        }
        let secret = random_hex(20);
        let s2 = secret.clone();
        self.update(|d| d.csrf = Some(s2));
        secret
    }
}

/// Random lowercase hex string of `bytes` bytes.
pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Signing material derived from `SECRET_KEY`.
#[derive(Clone)]
pub struct Keys {
    /// Cookie signing key.
    pub cookie: Key,
    csrf: Vec<u8>,
}

impl Keys {
    /// Derive from the secret key (any length).
    pub fn new(secret_key: &str) -> Self {
        let cookie_bytes = Sha512::digest(format!("whalefall-cookie:{secret_key}").as_bytes());
        let csrf = Sha256::digest(format!("wtf-csrf-token:{secret_key}").as_bytes()).to_vec();
        Keys {
            cookie: Key::from(&cookie_bytes),
            csrf,
        }
    }

    fn sign(&self, msg: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.csrf).expect("hmac key");
        mac.update(msg.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Issue a CSRF token for a session secret at `now` (Unix seconds).
    pub fn csrf_token(&self, secret: &str, now: i64) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(secret).unwrap_or_default());
        let ts = URL_SAFE_NO_PAD.encode(now.to_be_bytes());
        let msg = format!("{payload}.{ts}");
        let sig = self.sign(&msg);
        format!("{msg}.{sig}")
    }

    /// Validate a token against the session secret (`api-v1.md` §2.8 order and messages).
    pub fn check_csrf(&self, token: &str, secret: Option<&str>, now: i64) -> Result<(), CsrfError> {
        if token.is_empty() {
            return Err(CsrfError::Missing);
        }
        let secret = secret.ok_or(CsrfError::SessionMissing)?;
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(CsrfError::Invalid);
        }
        let expected = self.sign(&format!("{}.{}", parts[0], parts[1]));
        if !constant_eq(expected.as_bytes(), parts[2].as_bytes()) {
            return Err(CsrfError::Invalid);
        }
        let ts_bytes = URL_SAFE_NO_PAD
            .decode(parts[1])
            .map_err(|_| CsrfError::Invalid)?;
        let ts = i64::from_be_bytes(ts_bytes.try_into().map_err(|_| CsrfError::Invalid)?);
        if now - ts > CSRF_TIME_LIMIT {
            return Err(CsrfError::Expired);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts[0])
            .map_err(|_| CsrfError::Invalid)?;
        let value: String = serde_json::from_slice(&payload).map_err(|_| CsrfError::Invalid)?;
        if !constant_eq(value.as_bytes(), secret.as_bytes()) {
            return Err(CsrfError::Mismatch);
        }
        Ok(())
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// CSRF validation failures (messages of the global check, `api-v1.md` §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfError {
    Missing,
    SessionMissing,
    Invalid,
    Expired,
    Mismatch,
}

impl CsrfError {
    /// English message of the global check.
    pub fn message(self) -> &'static str {
        match self {
            CsrfError::Missing => "The CSRF token is missing.",
            CsrfError::SessionMissing => "The CSRF session token is missing.",
            CsrfError::Invalid => "The CSRF token is invalid.",
            CsrfError::Expired => "The CSRF token has expired.",
            CsrfError::Mismatch => "The CSRF tokens do not match.",
        }
    }
}

/// Build the session cookie (HttpOnly, SameSite=Lax, path `/`, browser-session lifetime).
pub fn session_cookie(data: &SessionData) -> Cookie<'static> {
    let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(data).unwrap_or_default());
    let mut c = Cookie::new(SESSION_COOKIE, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c
}

/// Decode a session cookie value.
pub fn decode_session(value: &str) -> Option<SessionData> {
    let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
    serde_json::from_slice(&raw).ok()
}

/// Remember-me cookie value `<uid>:<expires_unix>` (signed by the jar).
pub fn remember_cookie(uid: i32, now: i64, duration: i64) -> Cookie<'static> {
    let mut c = Cookie::new(REMEMBER_COOKIE, format!("{uid}:{}", now + duration));
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_max_age(cookie::time::Duration::seconds(duration));
    c
}

/// Parse a remember-me value; `None` when malformed or expired.
pub fn parse_remember(value: &str, now: i64) -> Option<i32> {
    let (uid, exp) = value.split_once(':')?;
    let exp: i64 = exp.parse().ok()?;
    if exp < now {
        return None;
    }
    uid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens() {
        let k = Keys::new("secret");
        let t = k.csrf_token("abc", 1000);
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(k.check_csrf(&t, Some("abc"), 1500), Ok(()));
        assert_eq!(
            k.check_csrf(&t, Some("abd"), 1500),
            Err(CsrfError::Mismatch)
        );
        assert_eq!(
            k.check_csrf(&t, Some("abc"), 1000 + 3601),
            Err(CsrfError::Expired)
        );
        assert_eq!(
            k.check_csrf("a.b.c", Some("abc"), 1500),
            Err(CsrfError::Invalid)
        );
        assert_eq!(k.check_csrf("", Some("abc"), 1500), Err(CsrfError::Missing));
        assert_eq!(k.check_csrf(&t, None, 1500), Err(CsrfError::SessionMissing));
        assert_eq!(
            Keys::new("other").check_csrf(&t, Some("abc"), 1500),
            Err(CsrfError::Invalid)
        );
    }

    #[test]
    fn cookies() {
        let d = SessionData {
            csrf: Some("x".into()),
            uid: Some(3),
        };
        let c = session_cookie(&d);
        assert_eq!(decode_session(c.value()), Some(d));
        assert_eq!(parse_remember("5:100", 50), Some(5));
        assert_eq!(parse_remember("5:100", 150), None);
        assert_eq!(parse_remember("junk", 0), None);
    }
}
