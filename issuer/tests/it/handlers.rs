//! Handler tests through `app()` and `oneshot`: malformed, oversized and wrongly typed requests
//! get the spec's error shape and change no state.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::client::*;

async fn call(t: &TestIssuer, req: Request<Body>) -> (StatusCode, Value) {
    let resp = issuer::server::app(t.issuer.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post(uri: &str, ctype: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, ctype)
        .body(body.into())
        .unwrap()
}

async fn snapshot(t: &TestIssuer) -> Vec<i64> {
    let mut counts = Vec::new();
    for tb in [
        "offers",
        "access_tokens",
        "c_nonces",
        "credentials",
        "used_proofs",
        "enrolments",
        "audit",
        "token_issuances",
    ] {
        counts.push(t.count(tb).await);
    }
    counts
}

async fn bad_requests_get_spec_errors_and_change_nothing(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.body_limit = 4096)
        .await
        .unwrap();
    let offer = t.enrol_high(&high_claims(20)).await;
    let code = parse_offer_uri(offer["offer_uri"].as_str().unwrap())["grants"][PRE_AUTH]
        ["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bad_id = high_claims(21);
    bad_id["id_number"] = json!("110105199001010031");
    let before = snapshot(&t).await;
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/token", "application/json", "{}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            post("/token", form, "grant_type=authorization_code&code=x"),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            post("/token", form, "pre-authorized_code=x"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            post(
                "/token",
                form,
                format!("grant_type={}&pre-authorized_code={code}", urlenc(PRE_AUTH)),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            post(
                "/token",
                form,
                format!(
                    "grant_type={}&pre-authorized_code=abc.def&tx_code=123456",
                    urlenc(PRE_AUTH)
                ),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            post("/token", form, "x".repeat(10_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
        ),
        (
            post("/credential", "application/json", "{}"),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            Request::post("/credential")
                .header(header::AUTHORIZATION, "Bearer a.b")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_credential_request",
        ),
        (
            Request::post("/credential")
                .header(header::AUTHORIZATION, "Bearer a.b")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"credential_configuration_id": 5}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_credential_request",
        ),
        (
            Request::post("/credential")
                .header(header::AUTHORIZATION, "Bearer a.b")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    r#"{"credential_configuration_id": "nope", "proofs": {"jwt": ["a"]}}"#,
                ))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "unknown_credential_configuration",
        ),
        (
            Request::post("/credential")
                .header(header::AUTHORIZATION, "Bearer a.b")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("x".repeat(10_000)))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
        ),
        (
            Request::post("/enrol/high")
                .header(header::AUTHORIZATION, "Bearer nope.nope")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            Request::post("/enrol/high")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.officer_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"claims": {"family_name": 1}}).to_string(),
                ))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (
            Request::post("/enrol/high")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.officer_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"claims": bad_id}).to_string()))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (
            Request::post("/enrol/high")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.officer_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"claims": basic_claims(22)}).to_string()))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (
            Request::get("/nope").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Request::get("/status/999").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Request::get("/token").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            Request::post("/admin/keys/rotate")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.officer_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let (got, body) = call(&t, req).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(code)),
            "case {i}: {body}"
        );
        assert!(body["error_description"].is_string(), "case {i}");
    }
    assert_eq!(snapshot(&t).await, before);
    t.stop().await;
}

fn urlenc(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_owned()
}

async fn metadata_and_offer_qr(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let (s, asm) = call(
        &t,
        Request::get("/.well-known/oauth-authorization-server")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(asm["pre-authorized_grant_anonymous_access_supported"], true);
    let (_, did) = call(
        &t,
        Request::get("/.well-known/did.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(did["id"]
        .as_str()
        .unwrap()
        .starts_with("did:web:127.0.0.1%3A"));
    let (_, jwks) = call(
        &t,
        Request::get("/.well-known/jwt-vc-issuer")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(jwks["jwks"]["keys"].as_array().unwrap().len(), 1);
    let offer = t.enrol_high(&high_claims(30)).await;
    let id = offer["offer_id"].as_str().unwrap();
    let (s, by_ref) = call(
        &t,
        Request::get(format!("/offers/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(by_ref, offer["credential_offer"]);
    for (fmt, ctype) in [("png", "image/png"), ("svg", "image/svg+xml")] {
        let resp = issuer::server::app(t.issuer.clone())
            .oneshot(
                Request::get(format!("/offers/{id}?format={fmt}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], ctype);
    }
    // Trust bundle: root-signed, lists the key.
    let resp = issuer::server::app(t.issuer.clone())
        .oneshot(Request::get("/trust-bundle").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let jws = credential::jose::Jws::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
    jws.verify(t.issuer.keys.root().public_jwk()).unwrap();
    let payload: Value = serde_json::from_slice(jws.payload()).unwrap();
    assert_eq!(payload["keys"].as_array().unwrap().len(), 1);
    assert!(payload["next_update"].as_i64().unwrap() > payload["issued_at"].as_i64().unwrap());
    t.stop().await;
}

async fn key_rotation_keeps_the_old_key_published(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let offer = t.enrol_high(&high_claims(40)).await;
    let mut wallet = Wallet::new(40);
    let r = wallet
        .redeem(
            offer["offer_uri"].as_str().unwrap(),
            offer["tx_code"].as_str().unwrap(),
        )
        .await;
    let (_, creds) = wallet.credentials(&r, "citizen_id_high_dc_sd_jwt", 1).await;
    let resp = t
        .http
        .post(format!("{}/admin/keys/rotate", t.url))
        .bearer_auth(&t.admin_token)
        .json(&json!({"alg": "EdDSA"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rec: Value = resp.json().await.unwrap();
    assert_eq!(rec["alg"], "EdDSA");
    // The old credential still verifies; the new one is signed with the new key.
    verify_sd_jwt(&t.http, &t.url, &creds[0]).await;
    let (_, creds2) = wallet.credentials(&r, "citizen_id_high_vc_sd_jwt", 1).await;
    let jws = credential::jose::Jws::parse(creds2[0].split('~').next().unwrap()).unwrap();
    assert_eq!(jws.header().kid.as_deref(), rec["kid"].as_str());
    verify_sd_jwt(&t.http, &t.url, &creds2[0]).await;
    assert_eq!(t.count("audit WHERE event = 'key.rotated'").await, 1);
    t.stop().await;
}

crate::on_both_backends!(
    bad_requests_get_spec_errors_and_change_nothing,
    metadata_and_offer_qr,
    key_rotation_keeps_the_old_key_published,
);
