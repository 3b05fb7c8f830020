//! What the wallet sends where: plain `http://` only on loopback for every URL it contacts, no
//! redirect followed (a redirected `direct_post` or token request is not re-sent), requests
//! with `transaction_data` refused, request objects fetched by reference only when signed.
//! Hostile issuers and verifiers are small axum servers on 127.0.0.1; the off-loopback hosts
//! are `.invalid` names, which never resolve, so nothing can leave the machine either way.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use wallet::consent::Preparation;
use wallet::present::RequestRef;
use wallet::receive::{parse_offer_uri, ReceiveError, ReceiveOptions};
use wallet::{AuthorizationRequest, PresentationError, Reuse};

use crate::support::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";
const OFF_LOOPBACK: &str = "http://bureau.invalid";

/// One request a [`Recorder`] got: method, path, body.
type Recorded = (String, String, Vec<u8>);

/// A listener that records every request it gets, answering 200.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Recorded>>>);

impl Recorder {
    async fn start() -> (Recorder, String, tokio::task::JoinHandle<()>) {
        let recorder = Recorder::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(
                |State(r): State<Recorder>, req: axum::extract::Request| async move {
                    let method = req.method().to_string();
                    let path = req.uri().path().to_owned();
                    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                        .await
                        .unwrap_or_default();
                    r.0.lock().unwrap().push((method, path, body.to_vec()));
                    Json(json!({}))
                },
            )
            .with_state(recorder.clone());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (recorder, url, task)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().clone()
    }
}

fn redirect_to(target: String) -> impl IntoResponse {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, target)],
        "",
    )
}

/// An issuer on loopback whose metadata names `endpoint` (`token`, `nonce`, `credential`) at
/// `elsewhere`, and the others at itself; or whose token endpoint redirects to `elsewhere`.
struct FakeIssuer {
    url: String,
    endpoint: &'static str,
    elsewhere: String,
    redirect_token: bool,
    hits: Mutex<Vec<String>>,
}

impl FakeIssuer {
    fn at(&self, name: &str) -> String {
        if name == self.endpoint && !self.redirect_token {
            format!("{}/{name}", self.elsewhere)
        } else {
            format!("{}/{name}", self.url)
        }
    }
}

async fn fake_metadata(State(f): State<Arc<FakeIssuer>>) -> Json<Value> {
    Json(json!({
        "credential_issuer": f.url,
        "credential_endpoint": f.at("credential"),
        "nonce_endpoint": f.at("nonce"),
        "batch_credential_issuance": {"batch_size": 10},
        "credential_configurations_supported": {CONFIG: {
            "format": "dc+sd-jwt", "vct": "urn:cn:citizen-id:high:1"
        }},
    }))
}

async fn fake_as_metadata(State(f): State<Arc<FakeIssuer>>) -> Json<Value> {
    Json(json!({"issuer": f.url, "token_endpoint": f.at("token")}))
}

async fn fake_token(State(f): State<Arc<FakeIssuer>>) -> axum::response::Response {
    f.hits.lock().unwrap().push("token".into());
    if f.redirect_token {
        return redirect_to(format!("{}/token", f.elsewhere)).into_response();
    }
    Json(json!({"access_token": "t", "token_type": "Bearer"})).into_response()
}

async fn fake_nonce(State(f): State<Arc<FakeIssuer>>) -> Json<Value> {
    f.hits.lock().unwrap().push("nonce".into());
    Json(json!({"c_nonce": "n"}))
}

async fn fake_credential(State(f): State<Arc<FakeIssuer>>) -> Json<Value> {
    f.hits.lock().unwrap().push("credential".into());
    Json(json!({"credentials": []}))
}

/// Runs `receive` against a [`FakeIssuer`]; returns the error and the endpoints it reached.
async fn receive_from_fake(
    endpoint: &'static str,
    elsewhere: String,
    redirect_token: bool,
) -> (ReceiveError, Vec<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(FakeIssuer {
        url: url.clone(),
        endpoint,
        elsewhere,
        redirect_token,
        hits: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/.well-known/openid-credential-issuer", get(fake_metadata))
        .route(
            "/.well-known/oauth-authorization-server",
            get(fake_as_metadata),
        )
        .route("/token", post(fake_token))
        .route("/nonce", post(fake_nonce))
        .route("/credential", post(fake_credential))
        .with_state(fake.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let uri = offer_uri(&url, CONFIG, "secret-code");
    let http = wallet::http_client().unwrap();
    let parsed = wallet::resolve_offer(&http, &uri).await.unwrap();
    let err = receive_with(&http, &parsed, Some("123456"), &ReceiveOptions::default())
        .await
        .unwrap_err();
    server.abort();
    let hits = fake.hits.lock().unwrap().clone();
    (err, hits)
}

fn insecure(endpoint: &str) -> ReceiveError {
    ReceiveError::InsecureUrl {
        endpoint: endpoint.into(),
        origin: OFF_LOOPBACK.into(),
    }
}

#[test]
fn an_offer_naming_a_plain_http_issuer_off_loopback_is_refused() {
    let offer = json!({
        "credential_issuer": format!("{OFF_LOOPBACK}/"),
        "credential_configuration_ids": [CONFIG],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": "secret-code"}},
    });
    let uri = format!(
        "openid-credential-offer://?{}",
        serde_urlencoded::to_string([("credential_offer", offer.to_string())]).unwrap()
    );
    let err = parse_offer_uri(&uri).unwrap_err();
    assert_eq!(err, insecure("credential_issuer"));
    // The message names the origin, never the code.
    assert!(!err.to_string().contains("secret-code"));
}

#[test]
fn a_plain_http_credential_offer_uri_off_loopback_is_refused() {
    let by_param = format!(
        "openid-credential-offer://?{}",
        serde_urlencoded::to_string([(
            "credential_offer_uri",
            format!("{OFF_LOOPBACK}/offers/0f3a")
        )])
        .unwrap()
    );
    assert_eq!(
        parse_offer_uri(&by_param).unwrap_err(),
        insecure("credential_offer_uri")
    );
    let bare = format!("{OFF_LOOPBACK}/offers/0f3a");
    let err = parse_offer_uri(&bare).unwrap_err();
    assert_eq!(err, insecure("credential_offer_uri"));
    assert!(!err.to_string().contains("0f3a"));
}

#[test]
fn plain_http_on_loopback_and_https_anywhere_are_accepted_for_offers() {
    for url in [
        "http://127.0.0.1:8080/offers/1",
        "http://localhost:8080/offers/1",
        "https://bureau.example/offers/1",
    ] {
        assert!(parse_offer_uri(url).is_ok(), "{url}");
    }
}

#[tokio::test]
async fn a_plain_http_token_endpoint_off_loopback_is_refused_before_the_code_is_sent() {
    let (err, hits) = receive_from_fake("token", OFF_LOOPBACK.into(), false).await;
    assert_eq!(err, insecure("token"));
    assert!(hits.is_empty());
}

#[tokio::test]
async fn a_plain_http_nonce_endpoint_off_loopback_is_refused() {
    let (err, hits) = receive_from_fake("nonce", OFF_LOOPBACK.into(), false).await;
    assert_eq!(err, insecure("nonce"));
    assert_eq!(hits, ["token"]);
}

#[tokio::test]
async fn a_plain_http_credential_endpoint_off_loopback_is_refused_before_the_token_is_sent() {
    let (err, hits) = receive_from_fake("credential", OFF_LOOPBACK.into(), false).await;
    assert_eq!(err, insecure("credential"));
    assert_eq!(hits, ["token", "nonce"]);
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_not_followed_and_the_code_not_re_sent() {
    let (recorder, elsewhere, task) = Recorder::start().await;
    let (err, hits) = receive_from_fake("token", elsewhere, true).await;
    assert_eq!(
        err,
        ReceiveError::Redirected {
            endpoint: "token".into(),
            status: 307
        }
    );
    assert_eq!(hits, ["token"]);
    assert!(recorder.requests().is_empty(), "{:?}", recorder.requests());
    task.abort();
}

fn vp_uri(params: &[(&str, String)]) -> String {
    format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

fn hotel_query() -> String {
    json!({"credentials": [{
        "id": "hotel", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"]},
        "claims": [{"path": ["family_name"]}]
    }]})
    .to_string()
}

fn direct_post(response_uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", format!("redirect_uri:{response_uri}")),
        ("nonce", "n-1".into()),
        ("response_type", "vp_token".into()),
        ("response_mode", "direct_post".into()),
        ("response_uri", response_uri.into()),
        ("dcql_query", hotel_query()),
    ]
}

#[test]
fn a_plain_http_response_uri_off_loopback_is_refused() {
    let err =
        AuthorizationRequest::parse_uri(&vp_uri(&direct_post(&format!("{OFF_LOOPBACK}/post"))))
            .unwrap_err();
    assert_eq!(
        err,
        PresentationError::InsecureUrl {
            endpoint: "response_uri",
            origin: OFF_LOOPBACK.into()
        }
    );
}

#[test]
fn a_plain_http_request_uri_off_loopback_is_refused() {
    let err = AuthorizationRequest::parse_uri(&vp_uri(&[
        ("client_id", "decentralized_identifier:did:jwk:e30".into()),
        ("request_uri", format!("{OFF_LOOPBACK}/request.jwt")),
    ]))
    .unwrap_err();
    assert_eq!(
        err,
        PresentationError::InsecureUrl {
            endpoint: "request_uri",
            origin: OFF_LOOPBACK.into()
        }
    );
}

#[test]
fn https_and_loopback_response_uris_are_accepted() {
    for uri in ["https://bank.example/post", "http://127.0.0.1:9/post"] {
        let parsed = AuthorizationRequest::parse_uri(&vp_uri(&direct_post(uri)));
        assert!(matches!(parsed, Ok(RequestRef::ByValue(_))), "{uri}");
    }
}

#[tokio::test]
async fn a_request_with_transaction_data_is_refused_before_any_copy_is_used() {
    let (t, http, _dir, store) = wallet_with_a_high_batch(31).await;

    let mut params = direct_post("http://127.0.0.1:9/post");
    let transaction = credential::b64::encode(
        json!({"type": "payment", "credential_ids": ["hotel"], "amount": "100"}).to_string(),
    );
    params.push(("transaction_data", json!([transaction]).to_string()));
    assert_eq!(
        wallet::resolve_request(&http, &vp_uri(&params))
            .await
            .unwrap_err(),
        PresentationError::TransactionDataUnsupported
    );
    assert!(store.list().unwrap().iter().all(|c| c.shown_count == 0));
    t.stop().await;
}

#[tokio::test]
async fn a_plain_json_request_object_by_reference_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let object = json!({
        "client_id": format!("redirect_uri:{base}/post"),
        "nonce": "n-1",
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": format!("{base}/post"),
        "dcql_query": serde_json::from_str::<Value>(&hotel_query()).unwrap(),
    });
    let app = Router::new().route(
        "/request",
        get(move || {
            let object = object.clone();
            async move { Json(object) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let uri = vp_uri(&[
        ("client_id", format!("redirect_uri:{base}/post")),
        ("request_uri", format!("{base}/request")),
    ]);
    let http = wallet::http_client().unwrap();
    assert_eq!(
        wallet::resolve_request(&http, &uri).await.unwrap_err(),
        PresentationError::UnsignedRequestObject
    );
    server.abort();
}

#[tokio::test]
async fn a_request_uri_redirect_is_not_followed() {
    let (recorder, elsewhere, task) = Recorder::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/request.jwt",
        get(move || {
            let target = format!("{elsewhere}/request.jwt");
            async move { redirect_to(target) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let uri = vp_uri(&[
        ("client_id", "decentralized_identifier:did:jwk:e30".into()),
        ("request_uri", format!("{base}/request.jwt")),
    ]);
    let http = wallet::http_client().unwrap();
    assert_eq!(
        wallet::resolve_request(&http, &uri).await.unwrap_err(),
        PresentationError::Redirected {
            endpoint: "request_uri",
            status: 307
        }
    );
    assert!(recorder.requests().is_empty());
    server.abort();
    task.abort();
}

/// The verifier's `response_uri` answers the `direct_post` with 307 to another listener: the
/// wallet reports the redirect, and the other listener gets nothing (no disclosed claim is
/// re-posted).
#[tokio::test]
async fn a_direct_post_redirect_is_an_error_and_the_answer_is_not_re_sent() {
    let (t, http, _dir, mut store) = wallet_with_a_high_batch(32).await;

    let (recorder, elsewhere, recorder_task) = Recorder::start().await;
    let posted: Arc<Mutex<usize>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let counter = posted.clone();
    let app = Router::new().route(
        "/post",
        post(move |body: Bytes| {
            let target = format!("{elsewhere}/collect");
            let counter = counter.clone();
            async move {
                if !body.is_empty() {
                    *counter.lock().unwrap() += 1;
                }
                redirect_to(target)
            }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let request =
        match AuthorizationRequest::parse_uri(&vp_uri(&direct_post(&format!("{base}/post"))))
            .unwrap()
        {
            RequestRef::ByValue(r) => *r,
            RequestRef::ByReference { .. } => panic!("by value expected"),
        };
    let Preparation::Ready(prepared) = wallet::prepare(&store, &request).unwrap() else {
        panic!("the wallet holds a matching credential")
    };
    let answer = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
    assert_eq!(
        wallet::send(&http, &answer).await.unwrap_err(),
        PresentationError::Redirected {
            endpoint: "response_uri",
            status: 307
        }
    );
    assert_eq!(*posted.lock().unwrap(), 1, "the answer was posted once");
    assert!(recorder.requests().is_empty(), "{:?}", recorder.requests());
    server.abort();
    recorder_task.abort();
    t.stop().await;
}

/// A test issuer, the wallet's HTTP client, and a store (in its temp dir) holding a high batch
/// of two copies received from that issuer over OpenID4VCI.
async fn wallet_with_a_high_batch(
    seed: u32,
) -> (
    TestIssuer,
    reqwest::Client,
    tempfile::TempDir,
    wallet::Store,
) {
    let t = start_issuer().await;
    let offer = t.enrol_high(&high_claims(seed)).await;
    let http = wallet::http_client().unwrap();
    let received = receive_offer(&http, &offer, &receive_options(Some(CONFIG), 2)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    received.store(&mut store).unwrap();
    (t, http, dir, store)
}
