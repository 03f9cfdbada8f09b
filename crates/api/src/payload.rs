//! Lenient request bodies (`api-v1.md` §2.2): JSON with `Content-Type: application/json`
//! (malformed → empty object), form-urlencoded and multipart text fields. A well-formed JSON
//! body that is not an object is flagged so endpoints answer 400 instead of failing later.

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde_json::{Map, Value};
use wf_domain::AppError;

use crate::error::ApiError;

/// How the body was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Empty,
}

/// Parsed body as a JSON object.
#[derive(Debug, Clone)]
pub struct Payload {
    pub map: Map<String, Value>,
    pub kind: BodyKind,
    /// True when a well-formed JSON body was not an object (e.g. an array).
    pub not_object: bool,
    /// True when the JSON body was missing, empty or malformed.
    pub empty: bool,
}

impl Payload {
    /// Field value, if present.
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.map.get(k)
    }
    /// True when the key is present (even if null).
    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }
    /// String field: strings as is, numbers and booleans as text, null/objects → None.
    pub fn text(&self, k: &str) -> Option<String> {
        match self.map.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    /// Trimmed string field, empty → None.
    pub fn trimmed(&self, k: &str) -> Option<String> {
        self.text(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
    /// For endpoints that read JSON only (`api-v1.md` §2.2): a form or multipart body counts
    /// as an empty body.
    pub fn json_only(mut self) -> Self {
        if self.kind != BodyKind::Json {
            self.map.clear();
            self.empty = true;
        }
        self
    }

    /// 400 `请求数据格式必须是 JSON 对象` when the JSON body was not an object.
    pub fn require_object(&self) -> Result<(), ApiError> {
        if self.not_object {
            Err(AppError::validation("请求数据格式必须是 JSON 对象").into())
        } else {
            Ok(())
        }
    }
    /// Parse raw bytes with a content type.
    pub fn parse(content_type: &str, body: &Bytes) -> Self {
        let ct = content_type.to_ascii_lowercase();
        if ct.starts_with("application/json") || ct.contains("+json") {
            return match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Payload {
                    map,
                    kind: BodyKind::Json,
                    not_object: false,
                    empty: false,
                },
                Ok(_) => Payload {
                    map: Map::new(),
                    kind: BodyKind::Json,
                    not_object: true,
                    empty: false,
                },
                Err(_) => Payload {
                    map: Map::new(),
                    kind: BodyKind::Json,
                    not_object: false,
                    empty: true,
                },
            };
        }
        if ct.starts_with("application/x-www-form-urlencoded") {
            let map = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            return Payload {
                map,
                kind: BodyKind::Form,
                not_object: false,
                empty: false,
            };
        }
        if ct.starts_with("multipart/form-data") {
            let map = multipart_fields(content_type, body.clone());
            return Payload {
                map,
                kind: BodyKind::Form,
                not_object: false,
                empty: false,
            };
        }
        Payload {
            map: Map::new(),
            kind: BodyKind::Empty,
            not_object: false,
            empty: true,
        }
    }
}

/// The request's `Content-Type` (empty when absent or not text).
pub fn content_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    /// File name for file parts.
    pub filename: Option<String>,
    pub data: Bytes,
}

/// Every part of a multipart body (empty when malformed). The body is already in memory,
/// so parsing never waits on IO.
pub fn multipart_parts(content_type: &str, body: Bytes) -> Vec<Part> {
    let mut parts = Vec::new();
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return parts;
    };
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    futures::executor::block_on(async {
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            let filename = field.file_name().map(String::from);
            match field.bytes().await {
                Ok(data) => parts.push(Part {
                    name,
                    filename,
                    data,
                }),
                Err(_) => break,
            }
        }
    });
    parts
}

/// Text fields of a multipart body (files are skipped).
pub fn multipart_fields(content_type: &str, body: Bytes) -> Map<String, Value> {
    multipart_parts(content_type, body)
        .into_iter()
        .filter(|p| p.filename.is_none())
        .filter_map(|p| {
            String::from_utf8(p.data.to_vec())
                .ok()
                .map(|t| (p.name, Value::String(t)))
        })
        .collect()
}

impl<S: Send + Sync> FromRequest<S> for Payload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = content_type(req.headers());
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status().as_u16();
            if status == 413 {
                ApiError(AppError::framework(413, wf_domain::error::MSG_TOO_LARGE))
            } else {
                ApiError(AppError::framework(
                    400,
                    "The browser (or proxy) sent a request that this server could not understand.",
                ))
            }
        })?;
        Ok(Payload::parse(&ct, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lenient() {
        let p = Payload::parse("application/json", &Bytes::from_static(b"{\"a\": 1}"));
        assert_eq!(p.text("a").as_deref(), Some("1"));
        let p = Payload::parse("application/json", &Bytes::from_static(b"[1]"));
        assert!(p.not_object && p.require_object().is_err());
        let p = Payload::parse("application/json", &Bytes::from_static(b"{bad"));
        assert!(p.empty && p.map.is_empty());
        let p = Payload::parse(
            "application/x-www-form-urlencoded",
            &Bytes::from_static(b"username=a+b&password=x%26"),
        );
        assert_eq!(p.text("username").as_deref(), Some("a b"));
        assert_eq!(p.text("password").as_deref(), Some("x&"));
        let p = Payload::parse("text/plain", &Bytes::from_static(b"{\"a\":1}"));
        assert!(p.map.is_empty());
        let body =
            "--X\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--X--\r\n";
        let p = Payload::parse("multipart/form-data; boundary=X", &Bytes::from(body));
        assert_eq!(p.text("csrf_token").as_deref(), Some("tok"));
    }
}
