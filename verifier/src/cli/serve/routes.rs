//! The HTTP endpoints of `verifier serve`: size limits and content types checked before
//! anything is parsed, every refusal a typed JSON error (`{"error", "error_description"}`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::sessions::{check_bearer, App, NewRequest, ServeError};
use crate::cli::now;

/// The largest `POST /requests` body.
pub const MAX_CREATE_BODY: usize = 16 * 1024;
/// The largest body a wallet posts to the request URI (its metadata and `wallet_nonce`).
pub const MAX_WALLET_METADATA_BODY: usize = 64 * 1024;
/// The longest `wallet_nonce` accepted.
pub const MAX_WALLET_NONCE: usize = 256;
/// The largest `direct_post` body: a presentation is at most 256 KiB, form-encoded up to about
/// three times that.
pub const MAX_ANSWER_BODY: usize = 1024 * 1024;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, axum::Json(self.body())).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The router over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/requests", post(create))
        .route(
            "/requests/{id}/request",
            get(request_object).post(request_object_post),
        )
        .route("/requests/{id}/response", post(response))
        .route("/requests/{id}/result", get(result))
        .with_state(app)
}

/// Checks the content type's media type (parameters such as `charset` allowed).
fn check_content_type(headers: &HeaderMap, expected: &'static str) -> Result<(), ServeError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match media {
        Some(m) if m.eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(ServeError::ContentType { expected }),
    }
}

/// Reads at most `limit` bytes of UTF-8 text; a declared or actual longer body is refused
/// before it is read further.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<String, ServeError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ServeError::BodyTooLarge { limit });
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ServeError::BodyTooLarge { limit })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ServeError::MalformedBody {
        reason: "not utf-8",
    })
}

/// The request id as logged: ids are 22 base64url characters; anything else a peer sent is not
/// written to the log.
fn shown(id: &str) -> &str {
    if id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        id
    } else {
        "(malformed id)"
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServeError> {
    if let Some(expected) = app.api_token_hash() {
        check_bearer(authorization(&headers), &expected, "api token")?;
    }
    let asked = if headers.contains_key(header::CONTENT_TYPE) {
        check_content_type(&headers, JSON)?;
        let text = read_body(&headers, body, MAX_CREATE_BODY).await?;
        if text.trim().is_empty() {
            NewRequest::default()
        } else {
            serde_json::from_str(&text).map_err(|_| ServeError::MalformedBody {
                reason: "expected a JSON object {profile, redirect_uri}",
            })?
        }
    } else {
        read_body(&headers, body, 0).await?;
        NewRequest::default()
    };
    let (id, answer) = app.create(asked, now())?;
    eprintln!("serve: request {id} opened");
    Ok(json_response(StatusCode::CREATED, answer))
}

async fn request_object(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ServeError> {
    jwt_response(app.request_object(&id, None, now())?)
}

/// `request_uri_method=post`: the wallet posts `wallet_metadata` (a JSON object, not used) and
/// `wallet_nonce` (put into the request object) form-encoded.
async fn request_object_post(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServeError> {
    check_content_type(&headers, FORM)?;
    let form = read_body(&headers, body, MAX_WALLET_METADATA_BODY).await?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&form).map_err(|_| ServeError::MalformedBody {
            reason: "not form-urlencoded",
        })?;
    let field = |name: &str| -> Result<Option<&str>, ServeError> {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            _ => Err(ServeError::MalformedBody {
                reason: "a parameter is given twice",
            }),
        }
    };
    let nonce = field("wallet_nonce")?;
    if nonce.is_some_and(|n| n.is_empty() || n.len() > MAX_WALLET_NONCE) {
        return Err(ServeError::MalformedBody {
            reason: "wallet_nonce is empty or too long",
        });
    }
    if let Some(metadata) = field("wallet_metadata")? {
        if !serde_json::from_str::<Value>(metadata).is_ok_and(|v| v.is_object()) {
            return Err(ServeError::MalformedBody {
                reason: "wallet_metadata is not a JSON object",
            });
        }
    }
    jwt_response(app.request_object(&id, nonce, now())?)
}

fn jwt_response(jwt: String) -> Result<Response, ServeError> {
    let mut response = jwt.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/oauth-authz-req+jwt"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn response(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServeError> {
    check_content_type(&headers, FORM)?;
    let form = read_body(&headers, body, MAX_ANSWER_BODY).await?;
    match app.answer(&id, &form, now()) {
        Ok(reply) => {
            eprintln!("serve: request {} answered: accepted", shown(&id));
            Ok(json_response(StatusCode::OK, reply))
        }
        Err(e) => {
            eprintln!("serve: request {} answer refused: {}", shown(&id), e.code());
            Err(e)
        }
    }
}

#[derive(serde::Deserialize)]
struct ResultQuery {
    response_code: Option<String>,
}

async fn result(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<ResultQuery>,
    headers: HeaderMap,
) -> Result<Response, ServeError> {
    let result = app.result(
        &id,
        authorization(&headers),
        query.response_code.as_deref(),
        now(),
    )?;
    Ok(json_response(StatusCode::OK, result))
}
