//! A hostile issuer: it publishes one key and signs the last copy of a batch with another.
//! The wallet must refuse the whole answer and store nothing.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use credential::jose::{Alg, Jws, PublicJwk, SigningKey};
use credential::sd_jwt::{ClaimPath, RngSalts, SdJwtBuilder};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use wallet::receive::{ReceiveError, ReceiveOptions};

use crate::support::*;

struct Hostile {
    url: String,
    published: SigningKey,
    other: SigningKey,
    /// Instead of signing the last copy with another key, damage its signature.
    tamper: bool,
}

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

async fn metadata(State(h): State<Arc<Hostile>>) -> Json<Value> {
    Json(json!({
        "credential_issuer": h.url,
        "credential_endpoint": format!("{}/credential", h.url),
        "nonce_endpoint": format!("{}/nonce", h.url),
        "batch_credential_issuance": {"batch_size": 10},
        "credential_configurations_supported": {CONFIG: {
            "format": "dc+sd-jwt", "vct": "urn:cn:citizen-id:high:1"
        }},
    }))
}

async fn as_metadata(State(h): State<Arc<Hostile>>) -> Json<Value> {
    Json(json!({"issuer": h.url, "token_endpoint": format!("{}/token", h.url)}))
}

async fn jwks(State(h): State<Arc<Hostile>>) -> Json<Value> {
    let mut jwk = h.published.public_jwk().to_bare_value();
    jwk["kid"] = json!(h.published.kid());
    Json(json!({"issuer": h.url, "jwks": {"keys": [jwk]}}))
}

async fn token() -> Json<Value> {
    Json(json!({"access_token": "t", "token_type": "Bearer", "expires_in": 300}))
}

async fn nonce() -> Json<Value> {
    Json(json!({"c_nonce": "n"}))
}

async fn credential(State(h): State<Arc<Hostile>>, Json(body): Json<Value>) -> Json<Value> {
    let proofs = body["proofs"]["jwt"].as_array().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let creds: Vec<Value> = proofs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let proof = Jws::parse(p.as_str().unwrap()).unwrap();
            let holder = PublicJwk::from_value(&proof.header().members["jwk"]).unwrap();
            let claims = json!({
                "iss": h.url, "vct": "urn:cn:citizen-id:high:1", "iat": now(),
                "exp": now() + 3600, "cnf": {"jwk": holder.to_bare_value()},
                "given_name": "小明", "family_name": "王",
            });
            // The last copy is signed by a key the issuer does not publish (or, with
            // `tamper`, by the published key with its signature damaged).
            let last = i + 1 == proofs.len();
            let signer = if last && !h.tamper {
                &h.other
            } else {
                &h.published
            };
            let issued = SdJwtBuilder::new(claims.as_object().unwrap().clone())
                .typ("dc+sd-jwt")
                .header("kid", json!(h.published.kid()))
                .disclosable(&ClaimPath::keys(["given_name"]))
                .disclosable(&ClaimPath::keys(["family_name"]))
                .issue(signer, &mut RngSalts(&mut rng))
                .unwrap();
            let mut text = issued.to_compact();
            if last && h.tamper {
                // Flip one character in the middle of the signature.
                let jwt_end = text.find('~').unwrap();
                let at = jwt_end - 10;
                let c = if &text[at..=at] == "A" { "B" } else { "A" };
                text.replace_range(at..=at, c);
            }
            json!({"credential": text})
        })
        .collect();
    Json(json!({"credentials": creds}))
}

#[tokio::test]
async fn credential_signed_by_an_unpublished_key_is_refused_and_nothing_stored() {
    hostile_batch(false, "unknown_issuer_key").await;
}

#[tokio::test]
async fn credential_with_a_bad_signature_is_refused_and_nothing_stored() {
    hostile_batch(true, "issuer_signature").await;
}

async fn hostile_batch(tamper: bool, code: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let h = Arc::new(Hostile {
        url: url.clone(),
        published: SigningKey::generate(Alg::Es256, &mut rng),
        other: SigningKey::generate(Alg::Es256, &mut rng),
        tamper,
    });
    let app = Router::new()
        .route("/.well-known/openid-credential-issuer", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/.well-known/jwt-vc-issuer", get(jwks))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .with_state(h);
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let uri = offer_uri(&url, CONFIG, "c");
    let http = reqwest::Client::new();
    let parsed = wallet::resolve_offer(&http, &uri).await.unwrap();
    let err = receive_with(&http, &parsed, Some("123456"), &ReceiveOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ReceiveError::NotVerified {
            configuration: CONFIG.into(),
            index: 9,
            code: code.into(),
        }
    );
    // Nothing came back, so nothing can be stored; the store stays empty.
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    assert!(store.list().unwrap().is_empty());
    server.abort();
}
