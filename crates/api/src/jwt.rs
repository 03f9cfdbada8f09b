//! JWT access/refresh tokens (`api-v1.md` §2.6, `domain.md` §9.4): HS256 with
//! `JWT_SECRET_KEY`, `sub` = user id as string. Failures are 401 (`TOKEN_INVALID` /
//! `TOKEN_EXPIRED`), never 500.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use wf_domain::AppError;

/// Token claims (Flask-JWT-Extended layout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub exp: i64,
    #[serde(rename = "type")]
    pub typ: String,
    pub fresh: bool,
    pub csrf: String,
}

/// Issue a token of `typ` (`access`/`refresh`) valid for `ttl` seconds.
pub fn issue(secret: &str, uid: i32, typ: &str, ttl: i64, fresh: bool) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: uid.to_string(),
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        exp: now + ttl,
        typ: typ.to_string(),
        fresh,
        csrf: uuid::Uuid::new_v4().to_string(),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

fn invalid() -> AppError {
    AppError::authentication("无效的令牌").code("TOKEN_INVALID")
}

/// Verify the `Authorization: Bearer` header value and the token type.
pub fn verify(secret: &str, header: Option<&str>, expected_type: &str) -> Result<Claims, AppError> {
    let token = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(invalid)?;
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_nbf = true;
    let data =
        decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &v).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    AppError::authentication("令牌已过期").code("TOKEN_EXPIRED")
                }
                _ => invalid(),
            }
        })?;
    if data.claims.typ != expected_type {
        return Err(invalid());
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip_and_failures() {
        let t = issue("k", 7, "access", 60, true);
        let c = verify("k", Some(&format!("Bearer {t}")), "access").unwrap();
        assert_eq!(c.sub, "7");
        assert_eq!(
            verify("k", Some(&format!("Bearer {t}")), "refresh")
                .unwrap_err()
                .message_code,
            "TOKEN_INVALID"
        );
        assert_eq!(
            verify("other", Some(&format!("Bearer {t}")), "access")
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(verify("k", None, "access").unwrap_err().status, 401);
        assert_eq!(
            verify("k", Some("Bearer garbage"), "access")
                .unwrap_err()
                .status,
            401
        );
        let expired = issue("k", 7, "access", -10, true);
        assert_eq!(
            verify("k", Some(&format!("Bearer {expired}")), "access")
                .unwrap_err()
                .message_code,
            "TOKEN_EXPIRED"
        );
    }
}
