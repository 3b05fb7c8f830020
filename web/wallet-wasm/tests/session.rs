//! The package's session natively, against a real issuer on loopback (the desktop host's
//! reqwest transport, software keys): the CLI's JSON shapes, the sealed records a host
//! persists, the offline answer and single use, an answer sent by `direct_post` to a
//! verifier endpoint on loopback (checked with the verifier library), and the codes the
//! session's errors map to.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use testkit::{high_claims, now, wrong_tx_code, TestIssuer};
use wallet::transport::Reqwest;
use wallet_core::signer::SoftwareSigner;
use wallet_core::StorageKey;
use wallet_wasm::session::{ReceiveArgs, Session};

type Native = Session<SoftwareSigner<ChaCha20Rng>, ChaCha20Rng>;

const KEY: [u8; 32] = [0x5a; 32];

fn open(
    records: Vec<(String, Vec<u8>)>,
    seed: u64,
) -> Result<Native, wallet_wasm::error::WalletError> {
    Session::open(
        &StorageKey::from_bytes(KEY),
        records,
        SoftwareSigner::new(ChaCha20Rng::seed_from_u64(seed)),
        ChaCha20Rng::seed_from_u64(seed + 1000),
        now(),
    )
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// An offline hotel request by value, for the citizen-ID types.
fn hotel_request(nonce: &str) -> String {
    let dcql = r#"{"credentials":[{"id":"hotel","format":"dc+sd-jwt",
      "meta":{"vct_values":["urn:cn:citizen-id:basic:1","urn:cn:citizen-id:high:1"]},
      "claims":[{"path":["family_name"]},{"path":["given_name"]}]}]}"#;
    format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([
            ("client_id", "x509_san_dns:hotel.example"),
            ("nonce", nonce),
            ("response_type", "vp_token"),
            ("dcql_query", dcql),
        ])
        .unwrap()
    )
}

async fn start() -> TestIssuer {
    TestIssuer::builder()
        .seed(31)
        .config(|c| c.batch_size = 3)
        .start()
        .await
}

#[tokio::test]
async fn receive_list_and_show_report_the_cli_json_and_persist_only_sealed_records() {
    let t = start().await;
    let http = reqwest::Client::new();
    let transport = Reqwest(&http);
    let mut session = open(Vec::new(), 1).unwrap();
    let offer = t.enrol_high(&high_claims(1)).await;
    let uri = offer["offer_uri"].as_str().unwrap();

    let summary = session.resolve_offer(&transport, uri).await.unwrap();
    assert_eq!(summary["credential_issuer"], t.url.as_str());
    assert_eq!(summary["tx_code"]["length"], 6);
    let received = session
        .receive(
            &transport,
            uri,
            offer["tx_code"].as_str(),
            &ReceiveArgs::default(),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(keys(&received), ["issuer", "batches"]);
    assert_eq!(
        keys(&received["batches"][0]),
        [
            "configuration",
            "vct",
            "level",
            "format",
            "copies",
            "batch_id"
        ]
    );
    let batch_id = received["batches"][0]["batch_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let copies = received["batches"][0]["copies"].as_u64().unwrap();
    assert_eq!(copies, 3);

    let list = session.list().unwrap();
    let batch = list
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["batch_id"] == batch_id.as_str())
        .unwrap();
    assert_eq!(
        keys(batch),
        [
            "batch_id",
            "issuer",
            "vct",
            "level",
            "format",
            "copies",
            "unused",
            "received_at",
            "refreshable"
        ]
    );
    let card = session.show(&batch_id).unwrap();
    assert_eq!(keys(&card), ["credential", "claims"]);
    assert_eq!(card["claims"]["family_name"], high_claims(1)["family_name"]);

    // What goes to the host: the key check and one record per copy, nothing in clear.
    let changes = session.take_changes();
    assert!(changes.delete.is_empty());
    let family = high_claims(1)["family_name"].as_str().unwrap().to_owned();
    assert!(changes.put.iter().any(|(k, _)| k == "meta:key_check"));
    assert!(
        changes
            .put
            .iter()
            .filter(|(k, _)| k.starts_with("copy:"))
            .count()
            >= 3,
        "one record per copy"
    );
    for (_, sealed) in &changes.put {
        assert!(!sealed.windows(family.len()).any(|w| w == family.as_bytes()));
        assert!(!sealed.windows(t.url.len()).any(|w| w == t.url.as_bytes()));
    }
    assert!(session.take_changes().is_empty());

    // The records reopen to the same wallet; another key is refused.
    let reopened = open(changes.put.clone(), 2).unwrap();
    assert_eq!(reopened.list().unwrap(), list);
    let wrong = Session::open(
        &StorageKey::from_bytes([1; 32]),
        changes.put,
        SoftwareSigner::new(ChaCha20Rng::seed_from_u64(3)),
        ChaCha20Rng::seed_from_u64(4),
        now(),
    )
    .unwrap_err();
    assert_eq!(wrong.code(), "wrong_key");
    t.stop().await;
}

#[tokio::test]
async fn an_offline_answer_uses_each_copy_once_and_closes_the_request() {
    let t = start().await;
    let http = reqwest::Client::new();
    let transport = Reqwest(&http);
    let mut session = open(Vec::new(), 5).unwrap();
    let offer = t.enrol_high(&high_claims(2)).await;
    let received = session
        .receive(
            &transport,
            offer["offer_uri"].as_str().unwrap(),
            offer["tx_code"].as_str(),
            &ReceiveArgs {
                copies: Some(1),
                configurations: Vec::new(),
            },
            now(),
        )
        .await
        .unwrap();
    let batch_id = received["batches"][0]["batch_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _ = session.take_changes();

    let consent = session
        .open_request(&transport, &hotel_request("n-1"))
        .await
        .unwrap();
    assert_eq!(consent["response_mode"], "offline");
    assert_eq!(consent["needs_reuse"], false);
    assert_eq!(consent["items"][0]["batch_id"], batch_id.as_str());
    let answer = session.answer(false, now()).await.unwrap();
    // The copy is marked shown before delivery: its record is the change to persist.
    let changes = session.take_changes();
    assert_eq!(changes.put.len(), 1);
    assert_eq!(changes.put[0].0, format!("copy:{batch_id}-0"));
    let report = session.deliver(&transport, &answer).await.unwrap();
    assert_eq!(
        keys(&report),
        [
            "consent",
            "answer",
            "bytes",
            "answer_json_bytes",
            "qr_version",
            "copies_used"
        ]
    );
    assert!(report["answer"].as_str().unwrap().starts_with("VP2:"));
    assert!(report["qr_version"].as_i64().unwrap() >= 1);
    assert_eq!(
        session.answer(false, now()).await.unwrap_err().code(),
        "no_open_request"
    );

    // The only copy was shown: without reuse the next request is refused, and stays open.
    let consent = session
        .open_request(&transport, &hotel_request("n-2"))
        .await
        .unwrap();
    assert_eq!(consent["needs_reuse"], true);
    assert_eq!(
        session.answer(false, now()).await.unwrap_err().code(),
        "all_copies_shown"
    );
    let reused = session.answer(true, now()).await.unwrap();
    assert_eq!(reused.reused, [batch_id]);
    t.stop().await;
}

/// What the verifier endpoint received: the forms posted to it.
type Posted = std::sync::Arc<tokio::sync::Mutex<Vec<std::collections::HashMap<String, String>>>>;

async fn response_endpoint(
    axum::extract::State(got): axum::extract::State<Posted>,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> axum::Json<Value> {
    got.lock().await.push(form);
    axum::Json(serde_json::json!({"redirect_uri": "https://bank.example/done"}))
}

#[tokio::test]
async fn an_answer_sent_by_direct_post_reports_what_the_cli_prints_and_verifies() {
    use credential::sd_jwt::{KeyBinding, Limits, SdJwt, VerifyOptions};
    let t = start().await;
    let http = reqwest::Client::new();
    let transport = Reqwest(&http);
    let mut session = open(Vec::new(), 21).unwrap();
    let offer = t.enrol_high(&high_claims(4)).await;
    session
        .receive(
            &transport,
            offer["offer_uri"].as_str().unwrap(),
            offer["tx_code"].as_str(),
            &ReceiveArgs::default(),
            now(),
        )
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let got = Posted::default();
    let app = axum::Router::new()
        .route("/response", axum::routing::post(response_endpoint))
        .with_state(got.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client_id = format!("redirect_uri:{base}/response");
    let dcql = r#"{"credentials":[{"id":"bank","format":"dc+sd-jwt",
      "meta":{"vct_values":["urn:cn:citizen-id:high:1"]},"claims":[{"path":["family_name"]}]}]}"#;
    let uri = format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([
            ("client_id", client_id.as_str()),
            ("nonce", "n-bank-1"),
            ("state", "s-1"),
            ("response_type", "vp_token"),
            ("response_mode", "direct_post"),
            ("response_uri", &format!("{base}/response")),
            ("dcql_query", dcql),
        ])
        .unwrap()
    );
    let consent = session.open_request(&transport, &uri).await.unwrap();
    assert_eq!(consent["response_mode"], "direct_post");
    let answer = session.answer(false, now()).await.unwrap();
    let report = session.deliver(&transport, &answer).await.unwrap();
    assert_eq!(
        keys(&report),
        [
            "consent",
            "sent_to",
            "status",
            "redirect_uri",
            "copies_used"
        ]
    );
    assert_eq!(report["status"], 200);
    assert_eq!(report["redirect_uri"], "https://bank.example/done");

    let forms = got.lock().await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["state"], "s-1");
    let token: Value = serde_json::from_str(&forms[0]["vp_token"]).unwrap();
    let trust = verifier::TrustStore::from_json(&t.jwt_vc_issuer().await).unwrap();
    let verified = SdJwt::parse(token["bank"][0].as_str().unwrap(), &Limits::default())
        .unwrap()
        .verify(
            &trust,
            &VerifyOptions::new(
                now(),
                KeyBinding::Required {
                    nonce: "n-bank-1".into(),
                    aud: client_id.clone(),
                    max_age: 300,
                },
            ),
        )
        .unwrap();
    let disclosed: Vec<String> = verified.disclosed.iter().map(|p| p.to_string()).collect();
    assert_eq!(disclosed, ["family_name"]);
    server.abort();
    t.stop().await;
}

#[tokio::test]
async fn each_session_error_has_its_code() {
    let t = start().await;
    let http = reqwest::Client::new();
    let transport = Reqwest(&http);
    let mut session = open(Vec::new(), 9).unwrap();
    let offer = t.enrol_high(&high_claims(3)).await;
    let uri = offer["offer_uri"].as_str().unwrap();
    let code = |e: wallet_wasm::error::WalletError| e.code();

    assert_eq!(
        code(
            session
                .resolve_offer(&transport, "not an offer")
                .await
                .unwrap_err()
        ),
        "invalid_offer_uri"
    );
    let insecure = format!(
        "openid-credential-offer://?credential_offer_uri={}",
        serde_urlencoded::to_string([("u", "http://bureau.example/offers/1")]).unwrap()[2..]
            .to_owned()
    );
    assert_eq!(
        code(
            session
                .resolve_offer(&transport, &insecure)
                .await
                .unwrap_err()
        ),
        "insecure_url"
    );
    assert_eq!(
        code(
            session
                .receive(&transport, uri, None, &ReceiveArgs::default(), now())
                .await
                .unwrap_err()
        ),
        "tx_code_required"
    );
    let wrong = wrong_tx_code(offer["tx_code"].as_str().unwrap());
    assert_eq!(
        code(
            session
                .receive(&transport, uri, Some(wrong), &ReceiveArgs::default(), now())
                .await
                .unwrap_err()
        ),
        "issuer_refused"
    );
    assert_eq!(code(session.show("0000000000").unwrap_err()), "not_found");
    assert_eq!(
        code(
            session
                .open_request(&transport, "openid4vp://?client_id=x")
                .await
                .unwrap_err()
                .0
        ),
        "invalid_request"
    );
    let (err, details) = session
        .open_request(&transport, &hotel_request("n-3"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cannot_satisfy");
    let details = details.unwrap();
    assert_eq!(keys(&details), ["client_id", "cannot_satisfy"]);
    assert_eq!(
        code(
            session
                .refresh(
                    &transport,
                    Some("0000000000"),
                    &ReceiveArgs::default(),
                    now()
                )
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    // Records that are not the wallet's: no key check.
    assert_eq!(
        code(open(vec![("copy:x-0".into(), vec![0; 40])], 10).unwrap_err()),
        "corrupted"
    );
    t.stop().await;
}
