//! Lenient request bodies (`api-v1.md` §2.2): JSON with `Content-Type: application/json`
//! (malformed → empty object), form-urlencoded and multipart text fields. A well-formed JSON
//! body that is not an object is flagged so endpoints answer 400 instead of failing later.

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde_json::{Map, Value};
use wf_domain::{AppError, Body, BodyKind};

use crate::error::ApiError;

/// The request body extractor: a lenient [`Body`] (dereferences to it).
#[derive(Debug, Clone)]
pub struct Payload(pub Body);

impl std::ops::Deref for Payload {
    type Target = Body;
    fn deref(&self) -> &Body {
        &self.0
    }
}

impl Payload {
    /// For endpoints that read JSON only (`api-v1.md` §2.2).
    pub fn json_only(self) -> Body {
        self.0.json_only()
    }
    /// Parse raw bytes with a content type.
    pub fn parse(content_type: &str, body: &Bytes) -> Body {
        let ct = content_type.to_ascii_lowercase();
        let (map, kind, not_object, empty) =
            if ct.starts_with("application/json") || ct.contains("+json") {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(map)) => (map, BodyKind::Json, false, false),
                    Ok(_) => (Map::new(), BodyKind::Json, true, false),
                    Err(_) => (Map::new(), BodyKind::Json, false, true),
                }
            } else if ct.starts_with("application/x-www-form-urlencoded") {
                let map = form_urlencoded::parse(body)
                    .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                    .collect();
                (map, BodyKind::Form, false, false)
            } else if ct.starts_with("multipart/form-data") {
                (
                    multipart_fields(content_type, body.clone()),
                    BodyKind::Form,
                    false,
                    false,
                )
            } else {
                (Map::new(), BodyKind::Empty, false, true)
            };
        Body {
            map,
            kind,
            not_object,
            empty,
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
        Ok(Payload(Payload::parse(&ct, &body)))
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
