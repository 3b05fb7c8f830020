//! Measurements for docs/performance.md, ignored by default:
//!
//! ```sh
//! cargo test --release -p wallet --test it perf_ -- --ignored --nocapture --test-threads 1
//! ```

use std::time::Instant;

use serde_json::json;
use wallet::{AuthorizationRequest, Preparation, Reuse};

use crate::support::*;

#[tokio::test]
#[ignore = "measurement"]
async fn perf_receive_batch_of_ten_and_answer_with_1000_in_store() {
    let t = start_issuer().await;
    let http = reqwest::Client::new();
    let mut receive_times = Vec::new();
    let mut last = None;
    for serial in 0..5 {
        let offer = t.enrol_high(&high_claims(100 + serial)).await;
        let parsed = resolve(&http, &offer).await;
        let started = Instant::now();
        let received = receive_with(
            &http,
            &parsed,
            offer["tx_code"].as_str(),
            &receive_options(
                Some("citizen_id_high_dc_sd_jwt"),
                wallet::receive::ReceiveOptions::default().copies,
            ),
        )
        .await
        .unwrap();
        receive_times.push(started.elapsed());
        last = Some(received);
    }
    receive_times.sort();
    eprintln!(
        "receive a batch of 10 over loopback: median {:?} (min {:?}, max {:?}, 5 runs)",
        receive_times[2], receive_times[0], receive_times[4]
    );

    // 1,000 credentials: the 10 copies, each imported 100 times as its own batch (the worst
    // case for matching, which opens one copy per batch).
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    let ids = last.unwrap().store(&mut store).unwrap();
    let jwks = t.jwt_vc_issuer().await;
    let copies: Vec<_> = store
        .copies(&ids[0])
        .unwrap()
        .into_iter()
        .map(|c| store.open_copy(&c.id).unwrap())
        .collect();
    store.delete(&ids[0]).unwrap();
    for _ in 0..100 {
        let mut batches = Vec::new();
        for c in &copies {
            let key =
                credential::jose::SigningKey::from_private_jwk(&c.holder_key.to_private_jwk())
                    .unwrap();
            let b = wallet::receive::import(&c.sd_jwt, &jwks, key, now()).unwrap();
            batches.push(b.into_copies());
        }
        store.insert_batches(batches).unwrap();
    }
    assert_eq!(store.list().unwrap().len(), 1000);
    let dcql = json!({"credentials": [{
        "id": "hotel", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"]},
        "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["id_number"]}]
    }]});
    let uri = vp_request("x509_san_dns:hotel.example", "n-perf", &dcql);
    let mut times = Vec::new();
    let mut text = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        let wallet::present::RequestRef::ByValue(request) =
            AuthorizationRequest::parse_uri(&uri).unwrap()
        else {
            panic!()
        };
        let Preparation::Ready(prepared) = wallet::prepare(&store, &request).unwrap() else {
            panic!()
        };
        let answer = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
        times.push(started.elapsed());
        text = answer.to_text();
    }
    times.sort();
    eprintln!(
        "answer a hotel request with 1,000 credentials in the store: median {:?} (min {:?}, max {:?}, 5 runs)",
        times[2], times[0], times[4]
    );
    let version = qr_version(&text);
    eprintln!(
        "hotel answer (high credential, 3 claims), compact VP2: form: {} bytes, QR version {version} (EC level L)",
        text.len()
    );
    let plain = credential::compact::decode(&text, 1 << 20).unwrap();
    let plain_version = qr_version(&plain);
    eprintln!(
        "the same as vp_token JSON: {} bytes, QR version {plain_version} (EC level L)",
        plain.len()
    );
    t.stop().await;
}

/// The QR code version `text` needs at error correction level L.
fn qr_version(text: &str) -> i16 {
    credential::qr::version(text).unwrap()
}
