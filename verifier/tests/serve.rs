//! `verifier serve` as a bank runs it: the real binary on 127.0.0.1:0, a credential issued
//! with `credential::citizen::issue`, and our wallet's side (`wallet::resolve_request` reads the
//! request, fetching the signed request object by reference; `wallet::send` posts the answer by
//! `direct_post`). Each refusal is checked for its status and error code.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod rp_support;

use rp_support::{Fixture, API_TOKEN};
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

#[tokio::test]
async fn the_bank_flow_runs_end_to_end_with_a_signed_request_by_reference() {
    let fixture = Fixture::new(true);
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
    let (status, body) = server.result(&created, Some(secret), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("response_code_wrong"))
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
    let (status, body) = server.result(&created, Some(secret), Some(code)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("request_unknown"))
    );
}

#[tokio::test]
async fn an_unsigned_request_goes_by_value_with_a_redirect_uri_client_id() {
    let fixture = Fixture::new(true);
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
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (request, answer) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let uri = response_uri(&request);
    let body = form(&answer, request.state.as_deref());
    assert_eq!(post_raw(&uri, FORM, body.clone()).await.0, 200);
    let (status, again) = post_raw(&uri, FORM, body).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("request_answered"))
    );
}

#[tokio::test]
async fn an_answer_for_another_nonce_is_refused_and_the_request_stays_open() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (request, _) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let other = server.create(json!({})).await;
    // A valid answer, but to the other request (its nonce and client id).
    let (_, other_answer) = fixture
        .wallet_answer(other["request_uri"].as_str().unwrap())
        .await;
    let (status, body) = post_raw(
        &response_uri(&request),
        FORM,
        form(&other_answer, request.state.as_deref()),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("nonce_mismatch"))
    );
    let secret = created["transaction_secret"].as_str();
    assert_eq!(
        server.result(&created, secret, None).await,
        (200, json!({"status": "pending"}))
    );
}

#[tokio::test]
async fn an_answer_with_a_wrong_or_missing_state_is_refused() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (request, answer) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let uri = response_uri(&request);
    let (status, body) = post_raw(&uri, FORM, form(&answer, Some("another-state"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("state_mismatch"))
    );
    let (status, body) = post_raw(&uri, FORM, form(&answer, None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("state_mismatch"))
    );
    // The real answer still gets through.
    let (status, _) = post_raw(&uri, FORM, form(&answer, request.state.as_deref())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_request_id_is_refused() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let uri = format!("{}/requests/no-such-request/response", server.base);
    let (status, body) = post_raw(&uri, FORM, b"vp_token=%7B%7D&state=s".to_vec()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("request_unknown"))
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused_before_it_is_read() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (request, _) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let body = vec![b'a'; 1024 * 1024 + 1];
    let (status, body) = post_raw(&response_uri(&request), FORM, body).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
}

#[tokio::test]
async fn an_answer_that_is_not_a_form_is_refused() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (request, answer) = fixture
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let json_body = json!({"vp_token": answer.vp_token, "state": request.state}).to_string();
    let (status, body) = post_raw(
        &response_uri(&request),
        "application/json",
        json_body.into_bytes(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (415, Some("content_type"))
    );
}

#[tokio::test]
async fn the_result_is_given_only_with_the_transaction_secret() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let created = server.create(json!({})).await;
    let (status, body) = server.result(&created, None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("token_missing"))
    );
    let (status, body) = server.result(&created, Some("not-the-secret"), None).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("token_wrong")));
}

#[tokio::test]
async fn requests_are_made_only_with_the_api_token() {
    let fixture = Fixture::new(true);
    let server = fixture.serve(false);
    let url = format!("{}/requests", server.base);
    let response = reqwest::Client::new()
        .post(&url)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "token_missing");
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(API_TOKEN)
        .json(&json!({"profile": "casino"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "profile_unknown");
}
