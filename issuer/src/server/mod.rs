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
//! | `GET /health` | anyone | liveness |
//! | `GET /openapi.json` | anyone | the OpenAPI 3.1 description of these routes |
//! | `GET /metrics` | scraper with the metrics token | Prometheus text (off unless `metrics_token_file` is set; the metrics listener serves it without a token) |
//!
//! [`routes`] is the one list of these routes: [`app`] builds the router from it, and the
//! OpenAPI test checks `docs/issuer/openapi.json` against it.

mod bodies;
mod cors;
pub mod error;
mod extract;
mod listen;
mod metrics;
pub mod parse;
mod spawn;
#[cfg(test)]
mod wire_tests;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use extract::{json_problem, parse_json, ApiForm, ApiJson, Bearer, JsonBytes};
pub use listen::ConnLimits;
pub use metrics::{metrics_app, spawn_metrics};
pub use spawn::{ServerHandle, Stopped};

use credential::oid4vci::{
    AuthorizationServerMetadata, CredentialIssuerMetadata, CredentialRequest, CredentialResponse,
    ErrorResponse, Grant, NonceResponse, Secret, TokenRequest, TokenResponse,
};

use crate::domain::refusal::Refusal;
use crate::domain::{Role, StatusAction};
use crate::error::IssuerError;
use crate::server::error::{ApiError, Refused};
use crate::service::status::Target;
use crate::service::{Issuer, Officer};
use bodies::{
    BasicEnrolment, CitizenTarget, HighEnrolment, LiftHoldBody, RotateBody, WithdrawBody,
};
use parse::{action, grant_refused};

type AppState = State<Arc<Issuer>>;

/// An HTTP method of a [`Route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Verb {
    /// The method's name, as in HTTP.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        }
    }
}

/// One route of the public listener: method, path template (axum's `{param}` syntax, as in
/// OpenAPI) and handler.
pub struct Route {
    /// The method.
    pub verb: Verb,
    /// The path template.
    pub path: &'static str,
    service: MethodRouter<Arc<Issuer>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.path)
    }
}

impl Route {
    fn new<H, T>(verb: Verb, path: &'static str, handler: H) -> Route
    where
        H: Handler<T, Arc<Issuer>>,
        T: 'static,
    {
        Route {
            verb,
            path,
            service: on(verb.filter(), handler),
        }
    }

    /// Public and signed by the root: any web page may read it (the hotel desk page syncs
    /// from the bureau's URL), errors included so it can fall back to the bundle.
    fn readable_by_any_page(mut self) -> Route {
        self.service = self
            .service
            .layer(middleware::map_response(readable_by_any_page));
        self
    }
}

/// The OpenAPI 3.1 description of the HTTP API (`docs/issuer/openapi.json`), served at
/// `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/issuer/openapi.json");

/// Every route of the public listener, the one list [`app`] builds its router from
/// (`/metrics` answers there only when a metrics token is configured).
pub fn routes() -> Vec<Route> {
    use Verb::{Get, Post};
    vec![
        Route::new(
            Get,
            "/.well-known/openid-credential-issuer",
            issuer_metadata,
        ),
        Route::new(Get, "/.well-known/oauth-authorization-server", as_metadata),
        Route::new(Get, "/.well-known/jwt-vc-issuer", jwt_vc_issuer),
        Route::new(Get, "/.well-known/did.json", did_json),
        Route::new(Post, "/token", token),
        Route::new(Post, "/nonce", nonce),
        Route::new(Post, "/credential", credential),
        Route::new(Get, "/offers/{id}", offer),
        Route::new(Get, "/status/{shard}", status_list),
        Route::new(Get, "/status/{shard}/{purpose}", bitstring_list),
        Route::new(Get, "/trust-bundle", trust_bundle).readable_by_any_page(),
        Route::new(Get, "/trust-bundle/delta", trust_bundle_delta).readable_by_any_page(),
        Route::new(Get, "/trust-bundle/withdrawals", key_withdrawals).readable_by_any_page(),
        Route::new(Post, "/enrol/nonce", enrol_nonce),
        Route::new(Post, "/enrol/basic", enrol_basic),
        Route::new(Post, "/enrol/high", enrol_high),
        Route::new(Post, "/admin/credentials/{id}/{action}", admin_credential),
        Route::new(Post, "/admin/status/{shard}/{idx}/{action}", admin_entry),
        Route::new(Post, "/admin/citizens/lift-hold", admin_lift_hold),
        Route::new(Post, "/admin/citizens/{action}", admin_citizen),
        Route::new(Get, "/admin/keys", admin_keys),
        Route::new(Post, "/admin/keys/rotate", admin_rotate),
        Route::new(Post, "/admin/keys/withdraw", admin_withdraw),
        Route::new(Get, "/health", || async { "ok" }),
        Route::new(Get, "/openapi.json", openapi),
        Route::new(Get, "/metrics", metrics::public_metrics),
    ]
}

/// The router with every route of [`routes`], the body limit and deadline, and request
/// logging and metrics.
pub fn app(issuer: Arc<Issuer>) -> Router {
    let limit = issuer.config.body_limit;
    let body = BodyRules {
        limit,
        deadline: Duration::from_secs(issuer.config.body_read_timeout),
    };
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.service))
        .fallback(|| async { ApiError::from(Refusal::NotFound { what: "route" }) })
        .method_not_allowed_fallback(|| async {
            let mut resp = (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(ErrorResponse::new("invalid_request", "method not allowed")),
            )
                .into_response();
            resp.extensions_mut().insert(Refused("invalid_request"));
            resp
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(body, read_body))
        .layer(middleware::from_fn(cors::wallet_cors))
        .layer(middleware::from_fn_with_state(issuer.clone(), log_request))
        .with_state(issuer)
}

async fn openapi() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        OPENAPI,
    )
        .into_response()
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
/// latency, and records them in the request metrics with the refusal's error code.
async fn log_request(State(issuer): AppState, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    tracing::debug!(%method, %route, status = resp.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    let metrics = &issuer.metrics;
    metrics.request(method.as_str(), &route, resp.status().as_u16(), elapsed);
    if let Some(Refused(code)) = resp.extensions().get::<Refused>() {
        metrics.refused(code);
    }
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
