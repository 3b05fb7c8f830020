//! `/metrics` (Prometheus text): on the metrics listener ([`metrics_app`]), and on the public
//! listener only with the configured bearer token.
//!
//! ```text
//!  metrics listener (metrics_listen, loopback by default) ── GET /metrics ──► no token asked
//!  public listener ── GET /metrics ── no metrics_token_file ──► 404 not_found
//!                                  └─ Bearer token ≠ file's ──► 401 invalid_token
//!                                  └─ Bearer token = file's ──► 200 text/plain; version=0.0.4
//! ```

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::error::ApiError;
use super::extract::Bearer;
use super::listen::{self, ConnLimits};
use super::spawn::ServerHandle;
use crate::domain::refusal::Refusal;
use crate::error::IssuerError;
use crate::metrics::CONTENT_TYPE;
use crate::service::Issuer;

/// Every series as Prometheus text.
fn exposition(issuer: &Issuer) -> Response {
    match issuer.metrics.render() {
        Ok(text) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Err(e) => ApiError::from(IssuerError::from(e)).into_response(),
    }
}

/// `GET /metrics` on the public listener: only with the configured bearer token.
pub(super) async fn public_metrics(
    State(issuer): State<Arc<Issuer>>,
    bearer: Result<Bearer, ApiError>,
) -> Result<Response, ApiError> {
    let Some(token) = issuer.metrics.token() else {
        return Err(Refusal::NotFound {
            what: "metrics on the public listener",
        }
        .into());
    };
    if !token.matches(&bearer?.0) {
        return Err(Refusal::InvalidToken {
            reason: "metrics token does not match",
        }
        .into());
    }
    Ok(exposition(&issuer))
}

async fn open_metrics(State(issuer): State<Arc<Issuer>>) -> Response {
    exposition(&issuer)
}

/// The metrics listener's router: `GET /metrics` without a token (whoever reaches the listener
/// may read the metrics: it is for the scraper's network only), and nothing else.
pub fn metrics_app(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route("/metrics", get(open_metrics))
        .fallback(|| async { ApiError::from(Refusal::NotFound { what: "route" }) })
        .with_state(issuer)
}

/// Serves [`metrics_app`] on `listener`, with the public listener's connection limits, in a
/// new task of the current tokio runtime, until the handle is shut down.
///
/// # Errors
/// The listener's local address cannot be read.
///
/// # Panics
/// Outside a tokio runtime (as `tokio::spawn`).
pub fn spawn_metrics(listener: TcpListener, issuer: Arc<Issuer>) -> std::io::Result<ServerHandle> {
    let limits = ConnLimits::of(&issuer.config);
    let app = metrics_app(issuer);
    ServerHandle::start(listener, move |listener, stopped| {
        listen::serve(listener, app, limits, stopped)
    })
}
