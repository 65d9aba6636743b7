//! Reading requests the way the Jobs service does: JSON bodies (malformed → `MALFORMED_REQUEST`,
//! wrong types → `INVALID_PARAMETER_VALUE`), query strings with `"true"`/`"false"` booleans, and
//! int64 ids given as JSON numbers (or, leniently, numeric strings).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api_error::{ApiError, ApiResult};

/// Which Jobs API version a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    V20,
    V21,
    V22,
}

/// Parses a JSON object body; an empty body is `{}`.
pub fn parse_body(body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::malformed(format!(
            "Could not parse request object: expected a JSON object, got {}",
            type_name(&other)
        ))),
        Err(err) => Err(ApiError::malformed(format!(
            "Could not parse request object: {err}"
        ))),
    }
}

/// The JSON type name of `value`, for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn wrong_type(field: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::invalid(format!(
        "Invalid value for parameter {field}: expected {expected}, got {}",
        type_name(got)
    ))
}

pub fn missing(field: &str) -> ApiError {
    ApiError::invalid(format!("Missing required field: {field}"))
}

/// An int64 from a JSON number or a numeric string.
pub fn as_i64(field: &str, value: &Value) -> ApiResult<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid value for parameter {field}: {n} is not an int64"
                ))
            }),
        Value::String(s) => s.trim().parse().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value for parameter {field}: '{s}' is not an int64"
            ))
        }),
        other => Err(wrong_type(field, "an integer", other)),
    }
}

/// An optional int64 field (absent or `null` → `None`).
pub fn opt_i64(obj: &Map<String, Value>, field: &str) -> ApiResult<Option<i64>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_i64(field, value).map(Some),
    }
}

pub fn req_i64(obj: &Map<String, Value>, field: &str) -> ApiResult<i64> {
    opt_i64(obj, field)?.ok_or_else(|| missing(field))
}

pub fn opt_bool(obj: &Map<String, Value>, field: &str) -> ApiResult<Option<bool>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => parse_bool(field, s).map(Some),
        Some(other) => Err(wrong_type(field, "a boolean", other)),
    }
}

pub fn opt_str<'a>(obj: &'a Map<String, Value>, field: &str) -> ApiResult<Option<&'a str>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

fn parse_bool(field: &str, s: &str) -> ApiResult<bool> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ApiError::invalid(format!(
            "Invalid value for parameter {field}: '{s}' is not a boolean"
        )))
    }
}

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        match raw {
            None | Some("") => Ok(Self::default()),
            Some(raw) => serde_urlencoded::from_str(raw)
                .map(Self)
                .map_err(|err| ApiError::invalid(format!("Invalid query string: {err}"))),
        }
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn opt_i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| {
                ApiError::invalid(format!(
                    "Invalid value for parameter {name}: '{raw}' is not an int64"
                ))
            }),
        }
    }

    pub fn req_i64(&self, name: &str) -> ApiResult<i64> {
        self.opt_i64(name)?.ok_or_else(|| missing(name))
    }

    pub fn bool(&self, name: &str) -> ApiResult<bool> {
        match self.get(name) {
            None | Some("") => Ok(false),
            Some(raw) => parse_bool(name, raw),
        }
    }
}

/// A 200 JSON response serialised straight from borrowed data.
pub fn json_ok(value: &impl Serialize) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(value).map_err(|err| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            format!("cannot encode the response: {err}"),
        )
    })?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// The `{}` answer of mutations without a result.
pub fn empty_ok() -> ApiResult<Response> {
    json_ok(&serde_json::json!({}))
}

/// Opaque page tokens: base64 of `<kind>:<offset>`, so a token from one endpoint is refused by another.
pub fn page_token(kind: &str, offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{offset}"))
}

/// The `next_page_token` (only when there is more) and `prev_page_token` (only past the first
/// page) of a page of `size` items at `offset`: a real workspace never sends an empty token.
pub fn page_tokens(kind: &str, offset: usize, size: usize, more: bool) -> (Option<String>, Option<String>) {
    (
        more.then(|| page_token(kind, offset + size)),
        (offset > 0).then(|| page_token(kind, offset.saturating_sub(size))),
    )
}

/// [`page_tokens`] added to a JSON answer.
pub fn insert_page_tokens(
    out: &mut serde_json::Map<String, serde_json::Value>,
    tokens: (Option<String>, Option<String>),
) {
    let (next, prev) = tokens;
    if let Some(next) = next {
        out.insert("next_page_token".into(), next.into());
    }
    if let Some(prev) = prev {
        out.insert("prev_page_token".into(), prev.into());
    }
}

/// Decodes a token made by [`page_token`] for `kind`.
pub fn parse_page_token(kind: &str, token: &str) -> ApiResult<usize> {
    use base64::Engine;
    let invalid = || ApiError::invalid(format!("Invalid page token: {token}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (prefix, offset) = text.split_once(':').ok_or_else(invalid)?;
    if prefix != kind {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_tokens() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert_eq!(parse_body(b"{").unwrap_err().error_code, "MALFORMED_REQUEST");
        assert_eq!(parse_body(b"[1]").unwrap_err().error_code, "MALFORMED_REQUEST");
        let body = parse_body(br#"{"job_id": {"x": 1}, "run_id": "12"}"#).unwrap();
        assert_eq!(
            req_i64(&body, "job_id").unwrap_err().error_code,
            "INVALID_PARAMETER_VALUE"
        );
        assert_eq!(req_i64(&body, "run_id").unwrap(), 12);
        assert_eq!(parse_page_token("runs", &page_token("runs", 40)).unwrap(), 40);
        assert!(parse_page_token("jobs", &page_token("runs", 40)).is_err());
        let query = Query::parse(Some("a=1&b=true&c=nope")).unwrap();
        assert_eq!(query.req_i64("a").unwrap(), 1);
        assert!(query.bool("b").unwrap());
        assert!(query.bool("c").is_err());
        assert!(!query.bool("d").unwrap());
    }
}
