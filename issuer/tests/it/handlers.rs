//! Handler tests through `app()` and `oneshot`: malformed, oversized and wrongly typed requests
//! get the spec's error shape and change no state.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::client::*;

async fn raw_call(t: &TestIssuer, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = issuer::server::app(t.issuer.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

async fn call(t: &TestIssuer, req: Request<Body>) -> (StatusCode, Value) {
    let (status, bytes) = raw_call(t, req).await;
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

fn get(uri: impl AsRef<str>) -> Request<Body> {
    Request::get(uri.as_ref()).body(Body::empty()).unwrap()
}

/// A JSON POST with an `Authorization` header.
fn authed_json(uri: &str, authorization: impl AsRef<str>, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::AUTHORIZATION, authorization.as_ref())
        .header(header::CONTENT_TYPE, "application/json")
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
    let code = pre_authorized_code(&offer);
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
            authed_json("/credential", "Bearer a.b", "{not json"),
            StatusCode::BAD_REQUEST,
            "invalid_credential_request",
        ),
        (
            authed_json(
                "/credential",
                "Bearer a.b",
                r#"{"credential_configuration_id": 5}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_credential_request",
        ),
        (
            authed_json(
                "/credential",
                "Bearer a.b",
                r#"{"credential_configuration_id": "nope", "proofs": {"jwt": ["a"]}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "unknown_credential_configuration",
        ),
        (
            authed_json("/credential", "Bearer a.b", "x".repeat(10_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
        ),
        (
            authed_json("/enrol/high", "Bearer nope.nope", "{}"),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            authed_json(
                "/enrol/high",
                format!("Bearer {}", t.officer_token),
                json!({"claims": {"family_name": 1}}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (
            authed_json(
                "/enrol/high",
                format!("Bearer {}", t.officer_token),
                json!({"claims": bad_id}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (
            authed_json(
                "/enrol/high",
                format!("Bearer {}", t.officer_token),
                json!({"claims": basic_claims(22)}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_claims",
        ),
        (get("/nope"), StatusCode::NOT_FOUND, "not_found"),
        (get("/status/999"), StatusCode::NOT_FOUND, "not_found"),
        (
            get("/token"),
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            authed_json(
                "/admin/keys/rotate",
                format!("Bearer {}", t.officer_token),
                "{}",
            ),
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
    let (s, asm) = call(&t, get("/.well-known/oauth-authorization-server")).await;
    assert_eq!(s, 200);
    assert_eq!(asm["pre-authorized_grant_anonymous_access_supported"], true);
    let (_, did) = call(&t, get("/.well-known/did.json")).await;
    assert!(did["id"]
        .as_str()
        .unwrap()
        .starts_with("did:web:127.0.0.1%3A"));
    let (_, jwks) = call(&t, get("/.well-known/jwt-vc-issuer")).await;
    assert_eq!(jwks["jwks"]["keys"].as_array().unwrap().len(), 1);
    let offer = t.enrol_high(&high_claims(30)).await;
    let id = offer["offer_id"].as_str().unwrap();
    let (s, by_ref) = call(&t, get(format!("/offers/{id}"))).await;
    assert_eq!(s, 200);
    assert_eq!(by_ref, offer["credential_offer"]);
    for (fmt, ctype) in [("png", "image/png"), ("svg", "image/svg+xml")] {
        let resp = issuer::server::app(t.issuer.clone())
            .oneshot(get(format!("/offers/{id}?format={fmt}")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], ctype);
    }
    // Trust bundle: root-signed, lists the key.
    let resp = issuer::server::app(t.issuer.clone())
        .oneshot(get("/trust-bundle"))
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
    let r = wallet.redeem_offer(&offer).await;
    let (_, creds) = wallet.credentials(&r, "citizen_id_high_dc_sd_jwt", 1).await;
    let (status, rec) = t
        .post_as_admin("/admin/keys/rotate", &json!({"alg": "EdDSA"}))
        .await;
    assert_eq!(status, 200);
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

async fn status_changes_are_logged_and_served_as_deltas(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let revoked = t.issuer.simulate_credentials(40, 0.5).await.unwrap();
    assert!(revoked > 0);
    assert_eq!(t.count("status_changes").await, revoked as i64);
    let get = |uri: String| get(uri);
    let payload_of = |bytes: &[u8], typ: &str| -> Value {
        let jws = credential::jose::Jws::parse(std::str::from_utf8(bytes).unwrap()).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some(typ));
        jws.verify(t.issuer.keys.root().public_jwk()).unwrap();
        serde_json::from_slice(jws.payload()).unwrap()
    };
    let (s, bytes) = raw_call(&t, get("/trust-bundle".into())).await;
    assert_eq!(s, 200);
    let bundle = payload_of(&bytes, "trust-bundle+jwt");
    let seq = bundle["status_seq"].as_i64().unwrap();
    assert_eq!(seq, revoked as i64);

    let (s, bytes) = raw_call(&t, get("/trust-bundle/delta?since=0".into())).await;
    assert_eq!(s, 200);
    let delta = payload_of(&bytes, "trust-bundle-delta+jwt");
    assert_eq!(delta["base_status_seq"], 0);
    assert_eq!(delta["status_seq"], seq);
    let entries: u64 = delta["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(entries, revoked);

    // One suspension: one more logged change, and the delta since the bundle holds only it.
    let mut done = false;
    for i in 0..40 {
        let r = t
            .issuer
            .change_status(
                "test",
                issuer::service::status::Target::Credential(format!("sim-{i}")),
                issuer::domain::StatusAction::Suspend,
            )
            .await;
        if r.is_ok() {
            done = true;
            break;
        }
    }
    assert!(done);
    assert_eq!(t.count("status_changes").await, revoked as i64 + 1);
    let (s, bytes) = raw_call(&t, get(format!("/trust-bundle/delta?since={seq}"))).await;
    assert_eq!(s, 200);
    let delta = payload_of(&bytes, "trust-bundle-delta+jwt");
    assert_eq!(delta["status_seq"], seq + 1);
    assert_eq!(delta["changes"].as_array().unwrap().len(), 1);
    assert_eq!(delta["changes"][0]["count"], 1);

    // Bases the issuer cannot serve: told to fetch the full bundle.
    for since in [seq + 2, -1] {
        let (s, body) = call(&t, get(format!("/trust-bundle/delta?since={since}"))).await;
        assert_eq!(s, StatusCode::GONE, "{since}");
        assert_eq!(body["error"], "delta_base_unknown");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("/trust-bundle"));
    }
    let (s, body) = call(&t, get("/trust-bundle/delta".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    t.stop().await;
}

/// The trust bundle and its deltas are public: a web page on another origin (the hotel desk
/// page) may read them, failures included; nothing else is opened to other origins.
async fn trust_bundle_is_readable_by_any_web_page(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    for uri in [
        "/trust-bundle",
        "/trust-bundle/delta?since=0",
        "/trust-bundle/delta?since=-1",
        // The wallet page reads the issuer's metadata too (server::cors).
        "/.well-known/openid-credential-issuer",
    ] {
        let resp = issuer::server::app(t.issuer.clone())
            .oneshot(get(uri))
            .await
            .unwrap();
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "{uri} ({})",
            resp.status()
        );
    }
    for uri in ["/status/0"] {
        let resp = issuer::server::app(t.issuer.clone())
            .oneshot(get(uri))
            .await
            .unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{uri}"
        );
    }
    t.stop().await;
}

crate::on_both_backends!(
    trust_bundle_is_readable_by_any_web_page,
    bad_requests_get_spec_errors_and_change_nothing,
    metadata_and_offer_qr,
    key_rotation_keeps_the_old_key_published,
    status_changes_are_logged_and_served_as_deltas,
);
