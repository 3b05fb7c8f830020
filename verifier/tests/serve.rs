//! `verifier serve` as a bank runs it: the real binary on 127.0.0.1:0, a credential issued
//! with `credential::citizen::issue`, and our wallet's side (`wallet::resolve_request` reads the
//! request, fetching the signed request object by reference; `wallet::send` posts the answer by
//! `direct_post`). Each refusal is checked for its status and error code.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod rp_support;

use rp_support::{Fixture, Status, API_TOKEN};
use serde_json::{json, Value};

/// Posts a raw body to the request's response_uri: (status, JSON).
async fn post_raw(response_uri: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(response_uri)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn response_uri(request: &wallet::AuthorizationRequest) -> String {
    match &request.response_mode {
        wallet::ResponseMode::DirectPost { response_uri } => response_uri.clone(),
        other => panic!("not direct_post: {other:?}"),
    }
}

fn form(answer: &wallet::Answer, state: Option<&str>) -> Vec<u8> {
    let vp_token = answer.vp_token.to_string();
    let mut pairs = vec![("vp_token", vp_token.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An unsigned `verifier serve` with one open request, and our wallet's answer to it (not sent).
struct Opened {
    server: rp_support::Server,
    created: Value,
    request: wallet::AuthorizationRequest,
    answer: wallet::Answer,
    _fixture: Fixture,
}

async fn opened() -> Opened {
    let fixture = Fixture::new(Status::Valid);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let uri = created["request_uri"].as_str().unwrap();
    let (request, answer) = fixture.wallet_answer(uri).await;
    Opened {
        server,
        created,
        request,
        answer,
        _fixture: fixture,
    }
}

impl Opened {
    /// Posts `body` with `content_type` to the request's response_uri.
    async fn post(&self, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        post_raw(&response_uri(&self.request), content_type, body).await
    }

    /// The answer as a form with this `state`.
    fn form(&self, state: Option<&str>) -> Vec<u8> {
        form(&self.answer, state)
    }

    fn state(&self) -> Option<&str> {
        self.request.state.as_deref()
    }
}

/// Asserts a refusal's status and error code.
fn refused((status, body): (u16, Value), expected: u16, code: &str) {
    assert_eq!(
        (status, body["error"].as_str()),
        (expected, Some(code)),
        "{body}"
    );
}

#[tokio::test]
async fn the_bank_flow_runs_end_to_end_with_a_signed_request_by_reference() {
    let fixture = Fixture::new(Status::Valid);
    let server = fixture.serve(true);
    let created = server
        .create(json!({"profile": "hotel", "redirect_uri": "https://bank.example/done"}))
        .await;
    let uri = created["request_uri"].as_str().unwrap();
    assert!(uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Ajwk%3A"));
    assert!(uri.contains("&request_uri="), "{uri}");
    let (request, answer) = fixture.wallet_answer(uri).await;
    // The wallet verified the request object's signature with the client id's did:jwk.
    assert!(matches!(
        request.client_identity,
        wallet::ClientIdentity::Did { .. }
    ));
    let secret = created["transaction_secret"].as_str().unwrap();
    let (status, pending) = server.result(&created, Some(secret), None).await;
    assert_eq!((status, pending), (200, json!({"status": "pending"})));

    let http = wallet::http_client().unwrap();
    let outcome = wallet::send(&http, &answer).await.unwrap();
    let redirect = outcome.redirect_uri.expect("a redirect was asked for");
    let code = redirect
        .strip_prefix("https://bank.example/done#response_code=")
        .unwrap();

    // Without the response code the redirect carried, no result (section 8.2).
    refused(
        server.result(&created, Some(secret), None).await,
        403,
        "response_code_wrong",
    );
    let (status, result) = server.result(&created, Some(secret), Some(code)).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "accepted");
    assert_eq!(result["profile"], "hotel");
    let presentation = &result["presentations"][0];
    assert_eq!(presentation["level"], "basic");
    let mut disclosed: Vec<&str> = presentation["disclosed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    disclosed.sort_unstable();
    assert_eq!(disclosed, ["family_name", "given_name", "id_number"]);
    assert!(presentation["claims"]["family_name"].is_string());
    // The result is given once; then the request is gone.
    refused(
        server.result(&created, Some(secret), Some(code)).await,
        404,
        "request_unknown",
    );
}

#[tokio::test]
async fn an_unsigned_request_goes_by_value_with_a_redirect_uri_client_id() {
    let fixture = Fixture::new(Status::Valid);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    // The first --profile is the default.
    assert_eq!(created["profile"], "hotel");
    let (request, answer) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let response_uri = response_uri(&request);
    assert_eq!(request.client_id, format!("redirect_uri:{response_uri}"));
    assert!(request.state.is_some());
    let http = wallet::http_client().unwrap();
    let outcome = wallet::send(&http, &answer).await.unwrap();
    assert_eq!((outcome.status, outcome.redirect_uri), (200, None));
    let secret = created["transaction_secret"].as_str();
    let (status, result) = server.result(&created, secret, None).await;
    assert_eq!((status, result["status"].as_str()), (200, Some("accepted")));
    // A signed request object exists only with --sign-key.
    let id = created["id"].as_str().unwrap();
    let response = reqwest::get(format!("{}/requests/{id}/request", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_same_answer_twice_is_refused() {
    let o = opened().await;
    assert_eq!(o.post(FORM, o.form(o.state())).await.0, 200);
    refused(
        o.post(FORM, o.form(o.state())).await,
        409,
        "request_answered",
    );
}

#[tokio::test]
async fn an_answer_for_another_nonce_is_refused_and_the_request_stays_open() {
    let o = opened().await;
    // A valid answer, but to another request (its nonce and client id).
    let other = opened().await;
    refused(
        o.post(FORM, form(&other.answer, o.state())).await,
        400,
        "nonce_mismatch",
    );
    let secret = o.created["transaction_secret"].as_str();
    assert_eq!(
        o.server.result(&o.created, secret, None).await,
        (200, json!({"status": "pending"}))
    );
}

#[tokio::test]
async fn an_answer_with_a_wrong_or_missing_state_is_refused() {
    let o = opened().await;
    refused(
        o.post(FORM, o.form(Some("another"))).await,
        400,
        "state_mismatch",
    );
    refused(o.post(FORM, o.form(None)).await, 400, "state_mismatch");
    // The real answer still gets through.
    assert_eq!(o.post(FORM, o.form(o.state())).await.0, 200);
}

#[tokio::test]
async fn an_unknown_request_id_is_refused() {
    let o = opened().await;
    let uri = format!("{}/requests/no-such-request/response", o.server.base);
    let got = post_raw(&uri, FORM, o.form(o.state())).await;
    refused(got, 404, "request_unknown");
}

#[tokio::test]
async fn an_oversized_answer_is_refused_before_it_is_read() {
    let o = opened().await;
    let body = vec![b'a'; 1024 * 1024 + 1];
    refused(o.post(FORM, body).await, 413, "body_too_large");
}

#[tokio::test]
async fn an_answer_that_is_not_a_form_is_refused() {
    let o = opened().await;
    let json_body = json!({"vp_token": o.answer.vp_token, "state": o.state()}).to_string();
    let got = o.post("application/json", json_body.into_bytes()).await;
    refused(got, 415, "content_type");
}

#[tokio::test]
async fn the_result_is_given_only_with_the_transaction_secret() {
    let o = opened().await;
    refused(
        o.server.result(&o.created, None, None).await,
        401,
        "token_missing",
    );
    let wrong = o
        .server
        .result(&o.created, Some("not-the-secret"), None)
        .await;
    refused(wrong, 403, "token_wrong");
}

#[tokio::test]
async fn requests_are_made_only_with_the_api_token() {
    let o = opened().await;
    let url = format!("{}/requests", o.server.base);
    let post = |token: Option<&str>, body: Value| {
        let mut req = reqwest::Client::new().post(&url).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move {
            let response = req.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    refused(post(None, json!({})).await, 401, "token_missing");
    refused(
        post(Some("wrong-token-0123456789"), json!({})).await,
        403,
        "token_wrong",
    );
    let casino = post(Some(API_TOKEN), json!({"profile": "casino"})).await;
    refused(casino, 400, "profile_unknown");
}

#[tokio::test]
async fn an_answer_after_the_request_expired_is_refused() {
    let fixture = Fixture::new(Status::Valid);
    // The hotel's profile, answerable for one second.
    let quick = include_str!("../profiles/hotel.toml")
        .replace("name = \"hotel\"", "name = \"quick\"")
        .replace("validity_seconds = 600", "validity_seconds = 1");
    let profile = fixture.file("quick.toml", &quick);
    let server = fixture.serve_with(&["--profile".into(), profile]);
    let created = server.create(json!({"profile": "quick"})).await;
    let uri = created["request_uri"].as_str().unwrap();
    let (request, answer) = fixture.wallet_answer(uri).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let got = post_raw(
        &response_uri(&request),
        FORM,
        form(&answer, request.state.as_deref()),
    )
    .await;
    refused(got, 400, "request_expired");
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_https_is_refused() {
    let o = opened().await;
    let response = reqwest::Client::new()
        .post(format!("{}/requests", o.server.base))
        .bearer_auth(API_TOKEN)
        .json(&json!({"redirect_uri": "http://bank.example/done"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    refused(
        (status, response.json().await.unwrap()),
        400,
        "redirect_uri_invalid",
    );
}

/// The `request_uri` and `client_id` of a request by reference.
fn reference(created: &Value) -> (String, String) {
    let uri = created["request_uri"].as_str().unwrap();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.split_once('?').unwrap().1).unwrap();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(get("request_uri_method"), "post");
    (get("request_uri"), get("client_id"))
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .form(pairs)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_wallet_posting_to_the_request_uri_gets_its_wallet_nonce_in_the_signed_object() {
    let fixture = Fixture::new(Status::Valid);
    let server = fixture.serve(true);
    let created = server.create(json!({})).await;
    let (request_uri, client_id) = reference(&created);
    let metadata = r#"{"vp_formats_supported":{"dc+sd-jwt":{}}}"#;
    let form = [("wallet_metadata", metadata), ("wallet_nonce", "wn-1")];
    let response = post_form(&request_uri, &form).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/oauth-authz-req+jwt"
    );
    let jwt = response.text().await.unwrap();
    // Our wallet's checks of a request object: typ, client id, did:jwk signature, aud.
    wallet::AuthorizationRequest::from_request_object(&jwt, Some(&client_id)).unwrap();
    let payload = credential::jose::Jws::parse(&jwt)
        .unwrap()
        .payload_object()
        .unwrap();
    assert_eq!(payload["wallet_nonce"], "wn-1");
}

#[tokio::test]
async fn wallet_metadata_that_is_not_a_json_object_is_refused() {
    let fixture = Fixture::new(Status::Valid);
    let server = fixture.serve(true);
    let created = server.create(json!({})).await;
    let (request_uri, _) = reference(&created);
    let response = post_form(&request_uri, &[("wallet_metadata", "[1]")]).await;
    let status = response.status().as_u16();
    refused(
        (status, response.json().await.unwrap()),
        400,
        "body_malformed",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_copies_of_one_answer_have_exactly_one_winner() {
    let o = opened().await;
    let uri = response_uri(&o.request);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (uri, body) = (uri.clone(), o.form(o.state()));
            tokio::spawn(async move { post_raw(&uri, FORM, body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let winners = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(winners, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
}
