//! CORS for the routes a wallet calls (OpenID4VCI: the offer, the issuer and authorization
//! server metadata, the issuer's published keys, token, nonce, credential), so that the wallet page (`web/wallet/`, what a messaging app's
//! mini-program shows, or a browser page served from another origin than the bureau) can read
//! the answers. `Access-Control-Allow-Origin: *` without credentials: these routes use no
//! cookies or ambient authority (the pre-authorized code, tx_code and access token are sent
//! explicitly by the wallet), so a page can do nothing through them that any HTTP client
//! cannot. The officer's and admin's routes get no CORS headers and no preflight.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether `path` is one of the wallet's routes.
fn wallet_route(path: &str) -> bool {
    matches!(
        path,
        "/.well-known/openid-credential-issuer"
            | "/.well-known/oauth-authorization-server"
            | "/.well-known/jwt-vc-issuer"
            | "/.well-known/did.json"
            | "/token"
            | "/nonce"
            | "/credential"
    ) || path
        .strip_prefix("/offers/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Middleware: answers a CORS preflight on a wallet route, and marks a wallet route's answers
/// (errors included) readable by any page.
pub async fn wallet_cors(req: Request, next: Next) -> Response {
    if !wallet_route(req.uri().path()) {
        return next.run(req).await;
    }
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
                (
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "authorization, content-type, dpop",
                ),
                (header::ACCESS_CONTROL_MAX_AGE, "600"),
            ],
        )
            .into_response();
    }
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::body::Body;
    use axum::http::{header, Method, Request, StatusCode};
    use tower::ServiceExt as _;

    use crate::config::Config;
    use crate::service::Issuer;

    async fn call(method: Method, path: &str, preflight: bool) -> axum::response::Response {
        let dir = tempfile::tempdir().unwrap();
        let issuer = Issuer::open(Config::defaults(dir.path().to_path_buf())).unwrap();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ORIGIN, "http://127.0.0.1:8000");
        if preflight {
            req = req
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization, content-type",
                );
        }
        super::super::app(issuer)
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn allow_origin(resp: &axum::response::Response) -> Option<&str> {
        resp.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn a_wallet_page_may_preflight_the_credential_endpoint() {
        let resp = call(Method::OPTIONS, "/credential", true).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(allow_origin(&resp), Some("*"));
        let allowed = resp.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    }

    #[tokio::test]
    async fn a_wallet_page_may_read_the_metadata_the_keys_and_the_token_endpoints_errors() {
        for path in [
            "/.well-known/openid-credential-issuer",
            "/.well-known/jwt-vc-issuer",
        ] {
            let meta = call(Method::GET, path, false).await;
            assert_eq!(meta.status(), StatusCode::OK, "{path}");
            assert_eq!(allow_origin(&meta), Some("*"), "{path}");
        }
        let token = call(Method::POST, "/token", false).await;
        assert!(token.status().is_client_error());
        assert_eq!(allow_origin(&token), Some("*"));
    }

    #[tokio::test]
    async fn officer_and_admin_routes_get_no_cors() {
        for path in ["/enrol/high", "/admin/keys/withdraw", "/offers/a/b"] {
            let pre = call(Method::OPTIONS, path, true).await;
            assert_ne!(pre.status(), StatusCode::NO_CONTENT, "{path}");
            assert_eq!(allow_origin(&pre), None, "{path}");
            let post = call(Method::POST, path, false).await;
            assert_eq!(allow_origin(&post), None, "{path}");
        }
    }
}
