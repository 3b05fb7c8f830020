//! The HTTP service (axum): [`app`] builds the router, [`run`] serves it on a bound listener
//! until a shutdown future resolves.
//!
//! | route | who | what |
//! | --- | --- | --- |
//! | `GET /.well-known/openid-credential-issuer` | anyone | issuer metadata |
//! | `GET /.well-known/oauth-authorization-server` | anyone | AS metadata |
//! | `GET /.well-known/jwt-vc-issuer`, `/.well-known/did.json` | anyone | keys |
//! | `POST /token`, `POST /nonce`, `POST /credential` | wallet | OpenID4VCI |
//! | `GET /offers/{id}[?format=png\|svg]` | wallet, officer | credential offer or its QR code |
//! | `GET /status/{shard}` | anyone | `statuslist+jwt` |
//! | `GET /status/{shard}/revocation`, `/suspension` | anyone | W3C `BitstringStatusListCredential` (`vc+jwt`) |
//! | `GET /trust-bundle` | anyone | root-signed trust bundle |
//! | `GET /trust-bundle/delta?since=SEQ` | anyone | root-signed delta since a bundle's `status_seq` (410 `delta_base_unknown`: fetch the full bundle) |
//! | `GET /trust-bundle/withdrawals` | anyone | root-signed notice of every withdrawn signing key (fetched first by `verifier sync`) |
//! | `POST /enrol/nonce`, `/enrol/basic`, `/enrol/high` | officer | enrolment |
//! | `POST /admin/...`, `GET /admin/keys` | admin | status changes, keys |
//! | `POST /admin/citizens/lift-hold` | admin | lift a citizen's revocation hold (audited with its reason) |

mod bodies;
mod cors;
pub mod error;
mod extract;
mod listen;
pub mod parse;
mod spawn;
#[cfg(test)]
mod wire_tests;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use extract::{json_problem, parse_json, ApiForm, ApiJson, Bearer, JsonBytes};
pub use listen::ConnLimits;
pub use spawn::{ServerHandle, Stopped};

use credential::oid4vci::{
    AuthorizationServerMetadata, CredentialIssuerMetadata, CredentialRequest, CredentialResponse,
    ErrorResponse, Grant, NonceResponse, Secret, TokenRequest, TokenResponse,
};

use crate::domain::refusal::Refusal;
use crate::domain::{Role, StatusAction};
use crate::error::IssuerError;
use crate::server::error::ApiError;
use crate::service::status::Target;
use crate::service::{Issuer, Officer};
use bodies::{
    BasicEnrolment, CitizenTarget, HighEnrolment, LiftHoldBody, RotateBody, WithdrawBody,
};
use parse::{action, grant_refused};

type AppState = State<Arc<Issuer>>;

/// The router with every route, the body limit and deadline, and request logging.
pub fn app(issuer: Arc<Issuer>) -> Router {
    let limit = issuer.config.body_limit;
    let body = BodyRules {
        limit,
        deadline: Duration::from_secs(issuer.config.body_read_timeout),
    };
    Router::new()
        .route(
            "/.well-known/openid-credential-issuer",
            get(issuer_metadata),
        )
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/.well-known/jwt-vc-issuer", get(jwt_vc_issuer))
        .route("/.well-known/did.json", get(did_json))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/offers/{id}", get(offer))
        .route("/status/{shard}", get(status_list))
        .route("/status/{shard}/{purpose}", get(bitstring_list))
        // Public and signed by the root: any web page may read them (the hotel desk page
        // syncs from the bureau's URL), errors included so it can fall back to the bundle.
        .route(
            "/trust-bundle",
            get(trust_bundle).layer(middleware::map_response(readable_by_any_page)),
        )
        .route(
            "/trust-bundle/delta",
            get(trust_bundle_delta).layer(middleware::map_response(readable_by_any_page)),
        )
        .route(
            "/trust-bundle/withdrawals",
            get(key_withdrawals).layer(middleware::map_response(readable_by_any_page)),
        )
        .route("/enrol/nonce", post(enrol_nonce))
        .route("/enrol/basic", post(enrol_basic))
        .route("/enrol/high", post(enrol_high))
        .route("/admin/credentials/{id}/{action}", post(admin_credential))
        .route("/admin/status/{shard}/{idx}/{action}", post(admin_entry))
        .route("/admin/citizens/lift-hold", post(admin_lift_hold))
        .route("/admin/citizens/{action}", post(admin_citizen))
        .route("/admin/keys", get(admin_keys))
        .route("/admin/keys/rotate", post(admin_rotate))
        .route("/admin/keys/withdraw", post(admin_withdraw))
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { ApiError::from(Refusal::NotFound { what: "route" }) })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(ErrorResponse::new("invalid_request", "method not allowed")),
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(body, read_body))
        .layer(middleware::from_fn(cors::wallet_cors))
        .layer(middleware::from_fn(log_request))
        .with_state(issuer)
}

/// `Access-Control-Allow-Origin: *`: a response any web page may read (CORS). Only for public,
/// signed, credential-free documents.
async fn readable_by_any_page(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

/// Serves `app(issuer)` on `listener` until `shutdown` resolves, then finishes in-flight
/// requests and returns. Slow or greedy clients are bounded by the configuration's
/// [`ConnLimits`]: header read timeout, connection caps (total and per IP); the body size limit
/// and deadline are in [`app`].
///
/// # Errors
/// I/O errors from the listener.
pub async fn run(
    listener: TcpListener,
    issuer: Arc<Issuer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnLimits::of(&issuer.config);
    listen::serve(listener, app(issuer), limits, shutdown).await
}

/// [`run`] in a new task of the current tokio runtime; the [`ServerHandle`] gives its address,
/// URL and a graceful shutdown.
///
/// # Errors
/// The listener's local address cannot be read.
///
/// # Panics
/// Outside a tokio runtime (as `tokio::spawn`).
pub fn spawn(listener: TcpListener, issuer: Arc<Issuer>) -> std::io::Result<ServerHandle> {
    ServerHandle::start(listener, move |listener, stopped| {
        run(listener, issuer, stopped)
    })
}

/// The body size limit and read deadline of every request.
#[derive(Debug, Clone, Copy)]
struct BodyRules {
    limit: usize,
    deadline: Duration,
}

/// Reads the whole request body before any handler runs: a declared `Content-Length` over the
/// limit is refused before reading (413), a body that grows past it while read too, and one not
/// received within the deadline gets 408 (the connection then closes: the rest is never read).
async fn read_body(State(rules): State<BodyRules>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > rules.limit as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, rules.limit);
    let bytes =
        match tokio::time::timeout(rules.deadline, http_body_util::BodyExt::collect(limited)).await
        {
            Err(_) => {
                return ApiError::BodyTimeout {
                    seconds: rules.deadline.as_secs(),
                }
                .into_response()
            }
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return ApiError::PayloadTooLarge.into_response()
            }
            Ok(Err(_)) => return ApiError::invalid_request("cannot read the body").into_response(),
            Ok(Ok(collected)) => collected.to_bytes(),
        };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Logs method, route template (never the concrete path: it may hold an offer id), status and
/// latency.
async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    tracing::debug!(%method, %route, status = resp.status().as_u16(), micros = start.elapsed().as_micros() as u64, "request");
    resp
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn officer(issuer: &Issuer, bearer: &Bearer, needed: Role) -> Result<Officer, ApiError> {
    let officer = issuer.authenticate(&bearer.0).await?;
    if officer.role < needed {
        return Err(Refusal::InsufficientScope {
            needed: needed.as_str(),
        }
        .into());
    }
    Ok(officer)
}

async fn issuer_metadata(State(issuer): AppState) -> Json<CredentialIssuerMetadata> {
    Json(issuer.issuer_metadata())
}

async fn as_metadata(State(issuer): AppState) -> Json<AuthorizationServerMetadata> {
    Json(issuer.as_metadata())
}

async fn jwt_vc_issuer(State(issuer): AppState) -> Json<Value> {
    Json(issuer.jwt_vc_issuer())
}

async fn did_json(State(issuer): AppState) -> Json<Value> {
    Json(issuer.did_document())
}

/// The token request (RFC 6749 section 4.1.3; OpenID4VCI section 6.1). Unknown parameters are
/// ignored, as RFC 6749 section 3.2 requires.
async fn token(
    State(issuer): AppState,
    ApiForm(form): ApiForm<TokenRequest>,
) -> Result<Response, ApiError> {
    let grant = match form.grant().map_err(grant_refused)? {
        Grant::PreAuthorized { code, tx_code } => {
            issuer
                .token(code.expose(), tx_code.map(Secret::expose))
                .await?
        }
        Grant::Refresh { refresh_token } => issuer.refresh(refresh_token.expose()).await?,
    };
    let answer = TokenResponse::bearer(
        grant.access_token.into(),
        grant.expires_in,
        Some(grant.refresh_token.into()),
    );
    Ok(no_store(Json(answer).into_response()))
}

async fn nonce(State(issuer): AppState) -> Result<Response, ApiError> {
    let c_nonce = issuer.c_nonce().await?;
    Ok(no_store(Json(NonceResponse { c_nonce }).into_response()))
}

async fn credential(
    State(issuer): AppState,
    bearer: Bearer,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    let req: CredentialRequest = extract::parse_json(&body)
        .map_err(|reason| Refusal::InvalidCredentialRequest { reason })?;
    let credentials = issuer.credential(&bearer.0, req).await?;
    let answer = CredentialResponse::issued(credentials);
    Ok(no_store(Json(answer).into_response()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferQuery {
    format: Option<String>,
}

async fn offer(
    State(issuer): AppState,
    Path(id): Path<String>,
    query: Result<Query<OfferQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|_| ApiError::invalid_request("unknown query parameter"))?;
    let offer = issuer.offer(&id).await?;
    let uri = crate::service::enrol::offer_uri(
        "credential_offer",
        &crate::service::enrol::offer_json(&offer)?,
    );
    let qr_failed = |_| IssuerError::Internal("qr code".into());
    let resp = match query.format.as_deref() {
        None | Some("json") => Json(offer).into_response(),
        Some("png") => (
            [(header::CONTENT_TYPE, "image/png")],
            crate::qr::png(&uri).map_err(qr_failed)?,
        )
            .into_response(),
        Some("svg") => (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            crate::qr::svg(&uri).map_err(qr_failed)?,
        )
            .into_response(),
        Some(_) => return Err(ApiError::invalid_request("format must be json, png or svg")),
    };
    Ok(no_store(resp))
}

async fn status_list(
    State(issuer): AppState,
    Path(shard): Path<String>,
) -> Result<Response, ApiError> {
    let shard: i64 = shard.parse().map_err(|_| Refusal::NotFound {
        what: "status list",
    })?;
    let token = issuer.status_token(shard).await?;
    let max_age = format!("public, max-age={}", issuer.config.status_ttl);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/statuslist+jwt".to_owned(),
            ),
            (header::CACHE_CONTROL, max_age),
        ],
        token,
    )
        .into_response())
}

async fn bitstring_list(
    State(issuer): AppState,
    Path((shard, purpose)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let not_found = || Refusal::NotFound {
        what: "status list",
    };
    let shard: i64 = shard.parse().map_err(|_| not_found())?;
    let purpose = crate::service::status::Purpose::parse(&purpose).ok_or_else(not_found)?;
    let credential = issuer.bitstring_credential(shard, purpose).await?;
    let max_age = format!("public, max-age={}", issuer.config.status_ttl);
    Ok((
        [
            (header::CONTENT_TYPE, "application/vc+jwt".to_owned()),
            (header::CACHE_CONTROL, max_age),
        ],
        credential,
    )
        .into_response())
}

async fn trust_bundle(State(issuer): AppState) -> Result<Response, ApiError> {
    let bundle = issuer.trust_bundle().await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/trust-bundle+jwt".to_owned(),
            ),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={}", issuer.config.status_ttl),
            ),
        ],
        bundle,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeltaQuery {
    since: i64,
}

async fn trust_bundle_delta(
    State(issuer): AppState,
    query: Result<Query<DeltaQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid_request("expected ?since=<status_seq>"))?;
    let delta = issuer.trust_bundle_delta(query.since).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/trust-bundle-delta+jwt".to_owned(),
            ),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={}", issuer.config.status_ttl),
            ),
        ],
        delta,
    )
        .into_response())
}

async fn key_withdrawals(State(issuer): AppState) -> Result<Response, ApiError> {
    let notice = issuer.key_withdrawals_notice().await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/key-withdrawals+jwt".to_owned(),
            ),
            // Urgent: never served from a cache older than a minute.
            (header::CACHE_CONTROL, "public, max-age=60".to_owned()),
        ],
        notice,
    )
        .into_response())
}

async fn enrol_nonce(State(issuer): AppState, bearer: Bearer) -> Result<Response, ApiError> {
    officer(&issuer, &bearer, Role::Officer).await?;
    let (nonce, expires_in) = issuer.attestation_nonce().await?;
    Ok(no_store(
        Json(json!({"nonce": nonce, "expires_in": expires_in})).into_response(),
    ))
}

async fn enrol_basic(
    State(issuer): AppState,
    bearer: Bearer,
    body: Result<ApiJson<BasicEnrolment>, ApiError>,
) -> Result<Response, ApiError> {
    let officer = officer(&issuer, &bearer, Role::Officer).await?;
    let ApiJson(body) = body?;
    let offer = issuer
        .enrol_basic(&officer, &body.claims, &body.attestation)
        .await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(offer.answer())).into_response(),
    ))
}

async fn enrol_high(
    State(issuer): AppState,
    bearer: Bearer,
    body: Result<ApiJson<HighEnrolment>, ApiError>,
) -> Result<Response, ApiError> {
    let officer = officer(&issuer, &bearer, Role::Officer).await?;
    let ApiJson(body) = body?;
    let offer = issuer.enrol_high(&officer, &body.claims).await?;
    Ok(no_store(
        (StatusCode::CREATED, Json(offer.answer())).into_response(),
    ))
}

async fn change(
    issuer: &Issuer,
    bearer: &Bearer,
    target: Target,
    action: StatusAction,
) -> Result<Response, ApiError> {
    let admin = officer(issuer, bearer, Role::Admin).await?;
    let change = issuer.change_status(&admin.id, target, action).await?;
    Ok(Json(change).into_response())
}

async fn admin_credential(
    State(issuer): AppState,
    bearer: Bearer,
    Path((id, act)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let act = action(&act)?;
    change(&issuer, &bearer, Target::Credential(id), act).await
}

async fn admin_entry(
    State(issuer): AppState,
    bearer: Bearer,
    Path((shard, idx, act)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let act = action(&act)?;
    let shard = shard
        .parse()
        .map_err(|_| ApiError::invalid_request("shard is not a number"))?;
    let idx = idx
        .parse()
        .map_err(|_| ApiError::invalid_request("idx is not a number"))?;
    change(&issuer, &bearer, Target::Entry { shard, idx }, act).await
}

async fn admin_citizen(
    State(issuer): AppState,
    bearer: Bearer,
    Path(act): Path<String>,
    body: Result<ApiJson<CitizenTarget>, ApiError>,
) -> Result<Response, ApiError> {
    officer(&issuer, &bearer, Role::Admin).await?;
    let ApiJson(body) = body?;
    let act = action(&act)?;
    change(&issuer, &bearer, Target::Citizen(body.id_number), act).await
}

async fn admin_lift_hold(
    State(issuer): AppState,
    bearer: Bearer,
    body: Result<ApiJson<LiftHoldBody>, ApiError>,
) -> Result<Response, ApiError> {
    let admin = officer(&issuer, &bearer, Role::Admin).await?;
    let ApiJson(body) = body?;
    issuer
        .lift_citizen_hold(&admin.id, &body.id_number, &body.reason)
        .await?;
    Ok(Json(json!({"hold": "lifted", "was": "revoked"})).into_response())
}

async fn admin_keys(State(issuer): AppState, bearer: Bearer) -> Result<Response, ApiError> {
    officer(&issuer, &bearer, Role::Admin).await?;
    issuer.signer().await?;
    let keys: Vec<Value> = issuer.keys.records().iter().map(|k| k.to_json()).collect();
    Ok(Json(json!({"keys": keys, "root": issuer.root_fingerprint()})).into_response())
}

async fn admin_withdraw(
    State(issuer): AppState,
    bearer: Bearer,
    body: Result<ApiJson<WithdrawBody>, ApiError>,
) -> Result<Response, ApiError> {
    let admin = officer(&issuer, &bearer, Role::Admin).await?;
    let ApiJson(body) = body?;
    let w = issuer
        .withdraw_key(&admin.id, &body.kid, body.since)
        .await?;
    Ok(Json(w.to_json()).into_response())
}

async fn admin_rotate(
    State(issuer): AppState,
    bearer: Bearer,
    body: Result<ApiJson<RotateBody>, ApiError>,
) -> Result<Response, ApiError> {
    let admin = officer(&issuer, &bearer, Role::Admin).await?;
    let ApiJson(body) = body?;
    let alg = match body.alg {
        None => issuer.config.key_alg,
        Some(a) => credential::jose::Alg::parse(&a)
            .map_err(|_| ApiError::invalid_request("alg must be ES256 or EdDSA"))?,
    };
    let rec = issuer.rotate_key(&admin.id, alg).await?;
    Ok(Json(rec.to_json()).into_response())
}
