//! Extractors whose rejections are [`ApiError`]s, so a malformed, oversized or wrongly typed
//! body gets the same `{error, error_description}` shape as every other failure.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::domain::refusal::Refusal;
use crate::server::error::ApiError;

async fn body(req: Request, state: &()) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::invalid_request("cannot read the body")
        }
    })
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// A JSON body (`Content-Type: application/json`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(ApiError::invalid_request(
                "content type must be application/json",
            ));
        }
        let bytes = body(req, &()).await?;
        parse_json(&bytes)
            .map(ApiJson)
            .map_err(|problem| ApiError::invalid_request(format!("body: {problem}")))
    }
}

/// Parses a JSON body into `T`. On failure: where (the field path) and what is wrong (the
/// kind of error and the expected type), never the submitted value: a wrongly typed ID number
/// or a whole proof JWT must not come back in `error_description` or go to the log.
///
/// # Errors
/// The description of the problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let problem = json_problem(e.inner());
        // An unknown field's name is the client's text: the path stops at its parent.
        let drop_last = problem.starts_with("unknown field");
        match field_path(e.path(), drop_last) {
            Some(path) => format!("{path}: {problem}"),
            None => problem,
        }
    })?;
    de.end().map_err(|e| json_problem(&e))?;
    Ok(value)
}

/// The dotted path of the failed field (`proofs.jwt`, `claims[2]`); `None` at the top level.
/// A segment that is not a plain identifier is shown as `?`.
fn field_path(path: &serde_path_to_error::Path, drop_last: bool) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = path.iter().collect();
    if drop_last {
        segments.pop();
    }
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 40
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if plain(key) { key } else { "?" });
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// What is wrong with a JSON body, without echoing its content: the kind of problem and the
/// type or fields expected (serde's messages quote the submitted value, which is left out).
pub fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => "not valid json".into(),
        Category::Data => data_problem(&e.to_string()),
    }
}

fn data_problem(message: &str) -> String {
    // serde_json appends " at line L column C".
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    // `missing field `x`` and `duplicate field `x`` name one of our fields.
    for ours in ["missing field `", "duplicate field `"] {
        if message.starts_with(ours) && message.len() <= 80 && !message.contains(',') {
            return message.to_owned();
        }
    }
    let kind = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown field",
        "unknown variant",
    ]
    .into_iter()
    .find(|k| message.starts_with(k))
    .unwrap_or("invalid value");
    // The expectation comes last and is ours (types, field or variant names); the value
    // comes before it, so the last ", expected " is the one serde wrote.
    match message.rsplit_once(", expected ") {
        Some((_, expected)) => {
            let expected: String = expected.chars().take(160).collect();
            format!("{kind}, expected {expected}")
        }
        None => kind.to_owned(),
    }
}

/// A form body (`application/x-www-form-urlencoded`), as the token endpoint takes.
#[derive(Debug)]
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/x-www-form-urlencoded") {
            return Err(ApiError::invalid_request(
                "content type must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = body(req, &()).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(ApiForm)
            .map_err(|_| ApiError::invalid_request("malformed form body"))
    }
}

/// A raw body with a JSON content type, for handlers that choose their own parse error.
#[derive(Debug)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers(), "application/json") {
            return Err(Refusal::InvalidCredentialRequest {
                reason: "content type must be application/json".into(),
            }
            .into());
        }
        body(req, &()).await.map(JsonBytes)
    }
}

/// `Authorization: Bearer <token>` (RFC 6750 section 2.1).
pub struct Bearer(pub String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Refusal::InvalidToken {
                reason: "bearer token missing",
            })?;
        let (scheme, token) = value.split_once(' ').ok_or(Refusal::InvalidToken {
            reason: "bearer token missing",
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Refusal::InvalidToken {
                reason: "bearer token missing",
            }
            .into());
        }
        Ok(Bearer(token.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        id_number: String,
        proofs: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        jwt: Vec<String>,
    }

    #[test]
    fn a_failed_field_is_named_and_its_value_left_out() {
        let cases = [
            (
                r#"{"id_number": 110105199001017771}"#,
                "id_number: invalid type, expected a string",
                "110105199001017771",
            ),
            (
                r#"{"id_number": "x", "proofs": {"jwt": "eyJ.secret, expected a sequence.sig"}}"#,
                "proofs.jwt: invalid type, expected a sequence",
                "eyJ",
            ),
            (
                r#"{"id_number": "x", "proofs": {"jwt": [], "secret_key_x": 1}}"#,
                "proofs: unknown field, expected `jwt`",
                "secret_key_x",
            ),
            (r#"{"proofs": null}"#, "missing field `id_number`", "null"),
            (
                r#"{"id_number": "x"} trailing"#,
                "not valid json",
                "trailing",
            ),
        ];
        for (input, expected, secret) in cases {
            let problem = parse_json::<Body>(input.as_bytes()).unwrap_err();
            assert_eq!(problem, expected, "{input}");
            assert!(!problem.contains(secret));
        }
    }
}
