//! A request body as the services read it (`api-v1.md` §2.2): a JSON object (or the text
//! fields of a form), how it was sent, and whether it was well formed. The HTTP layer builds
//! it; validation rules in the services read fields through the typed accessors here.

use serde_json::{Map, Value};

use crate::AppError;

/// How the body was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Empty,
}

/// Parsed body as a JSON object.
#[derive(Debug, Clone)]
pub struct Body {
    pub map: Map<String, Value>,
    pub kind: BodyKind,
    /// True when a well-formed JSON body was not an object (e.g. an array).
    pub not_object: bool,
    /// True when the JSON body was missing, empty or malformed.
    pub empty: bool,
}

impl Body {
    /// A JSON body made of `map` (CSV rows, tests).
    pub fn json(map: Map<String, Value>) -> Self {
        Body {
            map,
            kind: BodyKind::Json,
            not_object: false,
            empty: false,
        }
    }
    /// Field value, if present.
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.map.get(k)
    }
    /// True when the key is present (even if null).
    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }
    /// Lenient text: strings as is, numbers and booleans as text, null/objects → None
    /// (fields the contract types loosely, e.g. `port`, `instance_id`, `csrf_token`).
    pub fn text(&self, k: &str) -> Option<String> {
        match self.map.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    /// Trimmed lenient text, empty → None.
    pub fn trimmed(&self, k: &str) -> Option<String> {
        self.text(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
    /// A field the contract types as a **string**: absent/null → `Ok(None)`; a string →
    /// `Ok(Some)`; a form value is always text; any other JSON type (number, boolean, array,
    /// object) → 400 `<field> 必须是字符串`.
    pub fn string(&self, k: &str) -> Result<Option<String>, AppError> {
        match self.map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AppError::validation(format!("{k} 必须是字符串"))),
        }
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
    pub fn require_object(&self) -> Result<(), AppError> {
        if self.not_object {
            Err(AppError::validation("请求数据格式必须是 JSON 对象"))
        } else {
            Ok(())
        }
    }
    /// 400 `请求数据不能为空` (code `REQUEST_DATA_EMPTY` when `coded`) for an empty object.
    pub fn require_fields(&self, coded: bool) -> Result<(), AppError> {
        self.require_object()?;
        if self.map.is_empty() {
            let e = AppError::validation("请求数据不能为空");
            return Err(if coded {
                e.code("REQUEST_DATA_EMPTY")
            } else {
                e
            });
        }
        Ok(())
    }
    /// Optional boolean-ish field: absent/null → `None`; unparsable → 400
    /// `<field> 必须是布尔值`.
    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, AppError> {
        match self.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => boolish(v)
                .map(Some)
                .ok_or_else(|| AppError::validation(format!("{field} 必须是布尔值"))),
        }
    }
}

/// Python-style truthiness of a body field (`api-v1.md` "missing required fields"): absent,
/// null, `false`, `0`, blank strings and empty arrays/objects are falsy.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Integer or numeric string.
pub fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Boolean-ish input: JSON booleans, numbers, and `true/1/yes/on` / `false/0/no/off`.
pub fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// HTML sanitiser for display strings (`api-v1.md` §2.2): escape `& < > " '`, remove
/// `<script`, `</script`, `javascript:`, `onload=`, `onerror=`, trim. Never applied to
/// passwords (see `docs/decisions.md`).
pub fn sanitize(s: &str) -> String {
    let mut out = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;");
    for bad in ["<script", "</script", "javascript:", "onload=", "onerror="] {
        loop {
            let lower = out.to_lowercase();
            match lower.find(bad) {
                Some(i) if out.is_char_boundary(i) && out.is_char_boundary(i + bad.len()) => {
                    out.replace_range(i..i + bad.len(), "")
                }
                _ => break,
            }
        }
    }
    out.trim().to_string()
}

/// Escape `%`, `_` and `\` of a literal for a `LIKE` pattern with the default `\` escape.
pub fn like_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields() {
        let b = Body::json(
            json!({"a": 1, "s": "x", "n": null})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(b.text("a").as_deref(), Some("1"));
        assert_eq!(b.string("s").unwrap().as_deref(), Some("x"));
        assert_eq!(b.string("n").unwrap(), None);
        assert_eq!(b.string("a").unwrap_err().message, "a 必须是字符串");
        assert_eq!(sanitize(" a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#x27;");
        assert_eq!(sanitize("x javascript:alert(1) onload=y"), "x alert(1) y");
        assert_eq!(boolish(&Value::String("On".into())), Some(true));
        assert_eq!(boolish(&Value::String("maybe".into())), None);
        assert_eq!(like_escape("pg_"), "pg\\_");
        assert_eq!(like_escape("a%b\\"), "a\\%b\\\\");
    }
}
