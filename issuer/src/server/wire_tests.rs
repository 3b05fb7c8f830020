//! The JSON the issuer sends is byte for byte what it sent before its messages became the typed
//! `credential::oid4vci` structs: member names, order and values (`tests/wire/*.json` hold the
//! earlier output, for the default configuration's URL).

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use credential::oid4vci::{CredentialResponse, NonceResponse, Secret, TokenResponse};
use tower::ServiceExt as _;

use crate::config::Config;
use crate::domain::ConfigId;
use crate::service::Issuer;

fn golden(name: &str) -> String {
    let path = format!("{}/tests/wire/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn issuer(dir: &tempfile::TempDir) -> std::sync::Arc<Issuer> {
    Issuer::open(Config::defaults(dir.path().to_path_buf())).unwrap()
}

#[test]
fn the_published_metadata_is_written_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = issuer(&dir);
    let meta = serde_json::to_string(&issuer.issuer_metadata()).unwrap();
    assert_eq!(meta, golden("issuer_metadata"));
    let as_meta = serde_json::to_string(&issuer.as_metadata()).unwrap();
    assert_eq!(as_meta, golden("as_metadata"));
}

#[test]
fn the_credential_offer_is_written_as_before() {
    let offer = crate::service::enrol::credential_offer(
        "https://issuer.example",
        &ConfigId::ALL,
        "code.secret",
    );
    assert_eq!(
        crate::service::enrol::offer_json(&offer).unwrap(),
        golden("credential_offer")
    );
    assert!(!format!("{offer:?}").contains("code.secret"));
}

#[test]
fn token_nonce_and_credential_answers_are_written_as_before() {
    let token = TokenResponse::bearer(Secret::new("a.b"), 300, Some(Secret::new("c.d")));
    assert_eq!(
        serde_json::to_string(&token).unwrap(),
        r#"{"access_token":"a.b","token_type":"Bearer","expires_in":300,"refresh_token":"c.d"}"#
    );
    let nonce = NonceResponse {
        c_nonce: "n".into(),
    };
    assert_eq!(serde_json::to_string(&nonce).unwrap(), r#"{"c_nonce":"n"}"#);
    let issued = CredentialResponse::issued(["x".to_owned(), "y".to_owned()]);
    assert_eq!(
        serde_json::to_string(&issued).unwrap(),
        r#"{"credentials":[{"credential":"x"},{"credential":"y"}]}"#
    );
}

#[tokio::test]
async fn error_bodies_are_written_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let app = super::app(issuer(&dir));
    let resp = app
        .clone()
        .oneshot(Request::get("/token").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    assert_eq!(
        &body[..],
        br#"{"error":"invalid_request","error_description":"method not allowed"}"#
    );
    let resp = app
        .oneshot(
            Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=password"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    let text = std::str::from_utf8(&body).unwrap();
    assert!(
        text.starts_with(r#"{"error":"unsupported_grant_type","error_description":""#),
        "{text}"
    );
}
