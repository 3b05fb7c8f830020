//! `verifier serve` as a bank runs it: the real binary on 127.0.0.1:0, a credential issued
//! with `credential::citizen::issue`, and our wallet's side (`wallet::resolve_request` reads the
//! request, fetching the signed request object by reference; `wallet::send` posts the answer by
//! `direct_post`). Each refusal is checked for its status and error code.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use credential::status_list::StatusReference;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use testkit::{now, status_token};

const ISSUER: &str = "https://bureau.example.cn";
const BASIC: &str = include_str!("../../examples/claims/citizen-basic.json");
const STATUS_URI: &str = "https://bureau.example.cn/status/0";
const API_TOKEN: &str = "bank-backend-token-0123456789";

/// A running `verifier serve`, stopped on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
    holder: SigningKey,
    credential: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Issues a basic credential, writes the trust files and starts the server (`--sign-key`
    /// when `signed`).
    fn start(signed: bool) -> Server {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let bureau = SigningKey::generate(Alg::Es256, &mut rng);
        let holder = SigningKey::generate(Alg::Es256, &mut rng);
        let claims = CitizenClaims::from_json(BASIC, Level::Basic).unwrap();
        let t = now();
        let reference = StatusReference {
            idx: 5,
            uri: STATUS_URI.into(),
        };
        let credential = issue(
            &IssueRequest {
                claims: &claims,
                level: Level::Basic,
                format: Format::DcSdJwt,
                issuer: ISSUER,
                holder: holder.public_jwk(),
                status: Some(&reference),
                issued_at: t,
                expires_at: t + 86_400,
            },
            &bureau,
            &mut rng,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let trust = file(
            "trust.json",
            &bureau.public_jwk().to_bare_value().to_string(),
        );
        let status = file(
            "status.jwt",
            &status_token(&bureau, (STATUS_URI, ISSUER), (t, t + 3600), 5, false),
        );
        let token = file("api-token", API_TOKEN);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verifier"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--profile", "hotel"])
            .args(["--profile", "bank", "--trust", &trust, "--status", &status])
            .args(["--api-token-file", &token])
            .arg("--data")
            .arg(dir.path().join("data"));
        if signed {
            let key = SigningKey::generate(Alg::Es256, &mut rng);
            let jwk = file("rp.jwk", &key.to_private_jwk());
            cmd.args(["--sign-key", &jwk]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_owned();
        Server {
            child,
            base,
            _dir: dir,
            holder,
            credential,
        }
    }

    /// `POST /requests` from the bank's backend.
    async fn create(&self, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/requests", self.base))
            .bearer_auth(API_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// Our wallet reads the request and answers it with the hotel's claims: the request, and
    /// the form body it would post (without sending it).
    async fn wallet_answer(
        &self,
        request_uri: &str,
    ) -> (wallet::AuthorizationRequest, wallet::Answer) {
        let http = wallet::http_client().unwrap();
        let request = wallet::resolve_request(&http, request_uri).await.unwrap();
        let disclose: Vec<ClaimPath> = ["family_name", "given_name", "id_number"]
            .into_iter()
            .map(ClaimPath::parse_dotted)
            .collect();
        let presentation = wallet::present(
            &self.credential,
            &self.holder,
            &disclose,
            &request.nonce,
            &request.client_id,
            now(),
        )
        .unwrap();
        let query_id = request.dcql_query.credentials[0].id.clone();
        let answer = wallet::Answer {
            vp_token: json!({ query_id: [presentation] }),
            state: request.state.clone(),
            response_mode: request.response_mode.clone(),
            copies_used: vec![],
            reused: vec![],
        };
        (request, answer)
    }

    async fn result(
        &self,
        created: &Value,
        secret: Option<&str>,
        code: Option<&str>,
    ) -> (u16, Value) {
        let mut url = created["result_uri"].as_str().unwrap().to_owned();
        if let Some(code) = code {
            url = format!("{url}?response_code={code}");
        }
        let mut req = reqwest::Client::new().get(url);
        if let Some(secret) = secret {
            req = req.bearer_auth(secret);
        }
        let response = req.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

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
    let server = Server::start(true);
    let created = server
        .create(json!({"profile": "hotel", "redirect_uri": "https://bank.example/done"}))
        .await;
    let uri = created["request_uri"].as_str().unwrap();
    assert!(uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Ajwk%3A"));
    assert!(uri.contains("&request_uri="), "{uri}");
    let (request, answer) = server.wallet_answer(uri).await;
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
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    // The first --profile is the default.
    assert_eq!(created["profile"], "hotel");
    let (request, answer) = server
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
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    let (request, answer) = server
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
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    let (request, _) = server
        .wallet_answer(created["request_uri"].as_str().unwrap())
        .await;
    let other = server.create(json!({})).await;
    // A valid answer, but to the other request (its nonce and client id).
    let (_, other_answer) = server
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
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    let (request, answer) = server
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
    let server = Server::start(false);
    let uri = format!("{}/requests/no-such-request/response", server.base);
    let (status, body) = post_raw(&uri, FORM, b"vp_token=%7B%7D&state=s".to_vec()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("request_unknown"))
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused_before_it_is_read() {
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    let (request, _) = server
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
    let server = Server::start(false);
    let created = server.create(json!({})).await;
    let (request, answer) = server
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
    let server = Server::start(false);
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
    let server = Server::start(false);
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
