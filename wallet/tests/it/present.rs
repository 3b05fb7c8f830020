//! Answering OpenID4VP requests from a store filled by the real issuer: consent summary,
//! direct_post to a small verifier server, offline answers, copies used once.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Json, Router};
use credential::sd_jwt::{KeyBinding, Limits, SdJwt, VerifyOptions};
use serde_json::{json, Value};
use wallet::consent::Preparation;
use wallet::dcql::Unmet;
use wallet::{AuthorizationRequest, PresentationError, ResponseMode, Reuse, Store};

use crate::support::*;

/// A wallet with `copies` copies of a high dc+sd-jwt credential; returns the store, its
/// directory, and the issuer's JWKS text.
async fn filled(t: &TestIssuer, copies: usize) -> (Store, tempfile::TempDir, String) {
    let offer = t.enrol_high(&high_claims(10)).await;
    let http = reqwest::Client::new();
    let received = receive_offer(
        &http,
        &offer,
        &receive_options(Some("citizen_id_high_dc_sd_jwt"), copies),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    received.store(&mut store).unwrap();
    (store, dir, t.jwt_vc_issuer().await)
}

fn hotel_query() -> Value {
    json!({"credentials": [{
        "id": "hotel", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"]},
        "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["id_number"]}]
    }]})
}

fn verify(presentation: &str, jwks: &str, nonce: &str, aud: &str) -> Vec<String> {
    let trust = verifier::TrustStore::from_json(jwks).unwrap();
    let v = SdJwt::parse(presentation, &Limits::default())
        .unwrap()
        .verify(
            &trust,
            &VerifyOptions::new(
                now(),
                KeyBinding::Required {
                    nonce: nonce.into(),
                    aud: aud.into(),
                    max_age: 300,
                },
            ),
        )
        .unwrap();
    let mut names: Vec<String> = v.disclosed.iter().map(|p| p.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn offline_answer_discloses_only_what_was_asked_and_uses_fresh_copies() {
    let t = start_issuer().await;
    let (mut store, _dir, jwks) = filled(&t, 2).await;
    let uri = request_uri(&[
        ("client_id", "x509_san_dns:hotel.example".into()),
        ("nonce", "n-hotel-1".into()),
        ("response_type", "vp_token".into()),
        ("dcql_query", hotel_query().to_string()),
    ]);
    let http = reqwest::Client::new();
    let request = wallet::resolve_request(&http, &uri).await.unwrap();
    assert_eq!(request.response_mode, ResponseMode::Offline);
    let Preparation::Ready(prepared) = wallet::prepare(&store, &request).unwrap() else {
        panic!("not ready")
    };
    // The consent summary says who asks, which credential, which claims exactly, which level.
    let c = &prepared.consent;
    assert_eq!(c.client_id, "x509_san_dns:hotel.example");
    assert_eq!(c.response_uri, None);
    assert_eq!(c.items.len(), 1);
    let item = &c.items[0];
    assert_eq!(item.query_id, "hotel");
    assert_eq!(item.level, Some(credential::citizen::Level::High));
    assert_eq!(item.credential_type, "urn:cn:citizen-id:high:1");
    let paths: Vec<&str> = item.claims.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["family_name", "given_name", "id_number"]);
    assert_eq!(item.claims[2].value, json!(id_number(10)));
    assert_eq!(item.claims[2].label.as_deref(), Some("ID number"));
    assert_eq!((item.unused_copies, item.copies), (2, 2));

    let first = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
    let text = first.to_json_text();
    assert_eq!(
        credential::compact::decode(&first.to_text(), 1 << 20).unwrap(),
        text
    );
    let token: Value = serde_json::from_str(&text).unwrap();
    let presentation = token["hotel"][0].as_str().unwrap();
    assert_eq!(
        verify(
            presentation,
            &jwks,
            "n-hotel-1",
            "x509_san_dns:hotel.example"
        ),
        ["family_name", "given_name", "id_number"]
    );
    let second = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
    assert_ne!(
        first.copies_used, second.copies_used,
        "a fresh copy each time"
    );
    let p2 = second.vp_token["hotel"][0].as_str().unwrap();
    assert_ne!(
        presentation.split('.').nth(2),
        p2.split('.').nth(2),
        "different issuer signatures"
    );
    // Both copies are used: refused unless the host allows reuse.
    let Preparation::Ready(again) = wallet::prepare(&store, &request).unwrap() else {
        panic!()
    };
    assert!(again.consent.needs_reuse());
    assert!(matches!(
        wallet::answer(&mut store, &again, Reuse::Refuse, now()).unwrap_err(),
        PresentationError::AllCopiesShown { .. }
    ));
    let reused = wallet::answer(&mut store, &again, Reuse::Allow, now()).unwrap();
    assert_eq!(reused.reused.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn missing_claim_cannot_be_satisfied() {
    let t = start_issuer().await;
    let (store, _dir, _) = filled(&t, 1).await;
    let mut q = hotel_query();
    q["credentials"][0]["claims"]
        .as_array_mut()
        .unwrap()
        .push(json!({"path": ["email"]}));
    let uri = request_uri(&[
        ("client_id", "hotel".into()),
        ("nonce", "n".into()),
        ("response_type", "vp_token".into()),
        ("dcql_query", q.to_string()),
    ]);
    let wallet::present::RequestRef::ByValue(request) =
        AuthorizationRequest::parse_uri(&uri).unwrap()
    else {
        panic!()
    };
    match wallet::prepare(&store, &request).unwrap() {
        Preparation::CannotSatisfy { client_id, unmet } => {
            assert_eq!(client_id, "hotel");
            assert_eq!(
                unmet,
                vec![Unmet::MissingClaims {
                    query_id: "hotel".into(),
                    claims: vec!["email".into()]
                }]
            );
        }
        Preparation::Ready(_) => panic!("should not be satisfiable"),
        _ => unreachable!(),
    }
    t.stop().await;
}

type Received = std::sync::Arc<tokio::sync::Mutex<Vec<HashMap<String, String>>>>;

async fn response(
    State(got): State<Received>,
    Form(form): Form<HashMap<String, String>>,
) -> Json<Value> {
    got.lock().await.push(form);
    Json(json!({"redirect_uri": "https://bank.example/done"}))
}

/// An unsigned `redirect_uri:` request comes by value (a request object fetched by reference
/// must be signed, and this prefix may not sign).
#[tokio::test]
async fn direct_post_by_value() {
    let t = start_issuer().await;
    let (mut store, _dir, jwks) = filled(&t, 3).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let got: Received = Default::default();
    // The redirect_uri prefix: the client id is the response URI (OpenID4VP 1.0 5.9.3).
    let client_id = format!("redirect_uri:{base}/response");
    let object = json!({
        "client_id": client_id,
        "nonce": "n-bank-7",
        "state": "s-1",
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": format!("{base}/response"),
        "dcql_query": {"credentials": [{
            "id": "bank", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:cn:citizen-id:high:1"]},
            "claims": [{"path": ["family_name"]}, {"path": ["address", "locality"]}]
        }]},
    });
    let app = Router::new()
        .route("/response", post(response))
        .with_state(got.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let params: Vec<(&str, String)> = object
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k.as_str(), s.clone()),
            other => (k.as_str(), other.to_string()),
        })
        .collect();
    let uri = request_uri(&params);
    let http = wallet::http_client().unwrap();
    let request = wallet::resolve_request(&http, &uri).await.unwrap();
    let Preparation::Ready(prepared) = wallet::prepare(&store, &request).unwrap() else {
        panic!()
    };
    assert_eq!(
        prepared.consent.response_uri.as_deref(),
        Some(format!("{base}/response").as_str())
    );
    let answer = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
    let outcome = wallet::send(&http, &answer).await.unwrap();
    assert_eq!(outcome.status, 200);
    assert_eq!(
        outcome.redirect_uri.as_deref(),
        Some("https://bank.example/done")
    );
    let forms = got.lock().await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["state"], "s-1");
    let token: Value = serde_json::from_str(&forms[0]["vp_token"]).unwrap();
    let disclosed = verify(
        token["bank"][0].as_str().unwrap(),
        &jwks,
        "n-bank-7",
        &client_id,
    );
    assert!(disclosed.contains(&"family_name".to_owned()));
    assert!(disclosed.contains(&"address.locality".to_owned()));
    assert!(!disclosed.contains(&"id_number".to_owned()));
    assert!(!disclosed.contains(&"given_name".to_owned()));
    // One copy shown out of three.
    let copies = store.list().unwrap();
    assert_eq!(copies.iter().filter(|c| c.shown_count == 1).count(), 1);
    server.abort();
    t.stop().await;
}

#[test]
fn request_parsing_rejections() {
    let bad = |params: &[(&str, String)]| AuthorizationRequest::parse_uri(&request_uri(params));
    let q = hotel_query().to_string();
    let request = |client_id: Option<&str>, response_type: &str, mode: Option<&str>, dcql: &str| {
        let mut params = Vec::new();
        if let Some(c) = client_id {
            params.push(("client_id", c.to_owned()));
        }
        params.push(("nonce", "n".to_owned()));
        params.push(("response_type", response_type.to_owned()));
        if let Some(m) = mode {
            params.push(("response_mode", m.to_owned()));
        }
        params.push(("dcql_query", dcql.to_owned()));
        bad(&params)
    };
    for (what, result) in [
        ("no client_id", request(None, "vp_token", None, &q)),
        ("id_token", request(Some("c"), "id_token", None, &q)),
        (
            "direct_post",
            request(Some("c"), "vp_token", Some("direct_post"), &q),
        ),
    ] {
        assert!(
            matches!(result, Err(PresentationError::InvalidRequest { .. })),
            "{what}"
        );
    }
    assert!(matches!(
        request(Some("c"), "vp_token", None, "{}"),
        Err(PresentationError::Dcql(_))
    ));
    assert!(matches!(
        bad(&[("client_id", "c".into()), ("request", "eyJ.eyJ.sig".into())]),
        Err(PresentationError::InvalidRequestObject { .. })
    ));
}

#[tokio::test]
async fn a_batch_with_an_unused_copy_is_preferred() {
    let t = start_issuer().await;
    let (mut store, _dir, _) = filled(&t, 1).await;
    // A second one-copy batch of the same type.
    let offer = t.enrol_high(&high_claims(11)).await;
    let http = reqwest::Client::new();
    receive_offer(
        &http,
        &offer,
        &receive_options(Some("citizen_id_high_dc_sd_jwt"), 1),
    )
    .await
    .store(&mut store)
    .unwrap();
    let uri = request_uri(&[
        ("client_id", "hotel".into()),
        ("nonce", "n".into()),
        ("response_type", "vp_token".into()),
        ("dcql_query", hotel_query().to_string()),
    ]);
    let request = wallet::resolve_request(&http, &uri).await.unwrap();
    let mut used = Vec::new();
    for _ in 0..2 {
        let Preparation::Ready(p) = wallet::prepare(&store, &request).unwrap() else {
            panic!()
        };
        assert!(!p.consent.needs_reuse());
        let a = wallet::answer(&mut store, &p, Reuse::Refuse, now()).unwrap();
        used.extend(a.copies_used);
    }
    assert_eq!(used.len(), 2);
    assert_ne!(used[0], used[1], "the second answer used the other batch");
    t.stop().await;
}
