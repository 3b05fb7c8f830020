//! One holder key per credential (docs/issuer/http.md, "Holder keys"): a key repeated in a request,
//! reused from an earlier batch, or raced by two requests is refused with `invalid_proof`, and
//! a refused request issues nothing.

use serde_json::{json, Value};

use credential::jose::{Alg, SigningKey};

use crate::client::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

/// A credential request with one proof per key, all over one fresh `c_nonce`.
async fn request(
    t: &TestIssuer,
    wallet: &Wallet,
    grant: &Redeemed,
    keys: &[&SigningKey],
) -> (u16, Value) {
    let nonce = wallet.nonce(&grant.metadata).await;
    let proofs: Vec<String> = keys
        .iter()
        .map(|k| proof(k, &t.url, &nonce, now()))
        .collect();
    wallet
        .credential_request(
            &grant.metadata,
            &grant.access_token,
            &json!({"credential_configuration_id": CONFIG, "proofs": {"jwt": proofs}}),
        )
        .await
}

fn assert_reused(status: u16, body: &Value, index: usize, text: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_proof", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("proof {index}:")) && description.contains(text),
        "{body}"
    );
}

async fn the_same_holder_key_twice_in_one_request_is_refused(backend: Backend) {
    let (t, mut wallet, grant) = redeemed_on(backend, 71).await;
    let a = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let b = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let (status, body) = request(&t, &wallet, &grant, &[&a, &b, &a]).await;
    assert_reused(status, &body, 2, "holder key repeated");
    assert_eq!(t.count("credentials").await, 0);
    // Nothing was consumed: the same token issues the batch with distinct keys.
    let c = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let (status, body) = request(&t, &wallet, &grant, &[&a, &b, &c]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.count("credentials").await, 3);
    t.stop().await;
}

async fn a_holder_key_from_an_earlier_batch_is_refused_and_nothing_is_issued(backend: Backend) {
    let (t, mut wallet, first) = redeemed_on(backend, 72).await;
    let a = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let b = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let (status, body) = request(&t, &wallet, &first, &[&a, &b]).await;
    assert_eq!(status, 200, "{body}");
    // The refreshed batch tries to rebind `b` next to a fresh key: all or nothing.
    let (status, body) = wallet.refresh(&t.url, &first.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let second = Redeemed {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        metadata: first.metadata.clone(),
    };
    let c = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let before_audit = t.count("audit").await;
    let (status, body) = request(&t, &wallet, &second, &[&c, &b]).await;
    assert_reused(status, &body, 1, "already bound to another credential");
    assert_eq!(t.count("credentials").await, 2);
    assert_eq!(t.count("refreshed_issuances").await, 0);
    assert_eq!(t.count("audit").await, before_audit);
    // Another citizen's wallet cannot bind that key either.
    let other = redeemed(&t, &wallet, 73).await;
    let (status, body) = request(&t, &wallet, &other, &[&a]).await;
    assert_reused(status, &body, 0, "already bound");
    // The refused access token still gives its one batch with fresh keys.
    let d = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let (status, body) = request(&t, &wallet, &second, &[&c, &d]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.count("credentials").await, 4);
    t.stop().await;
}

async fn concurrent_requests_with_one_holder_key_issue_exactly_once(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(74);
    for round in 0..4u32 {
        let left = redeemed(&t, &wallet, 740 + 2 * round).await;
        let right = redeemed(&t, &wallet, 741 + 2 * round).await;
        let shared = SigningKey::generate(Alg::Es256, &mut wallet.rng);
        let own_left = SigningKey::generate(Alg::Es256, &mut wallet.rng);
        let own_right = SigningKey::generate(Alg::Es256, &mut wallet.rng);
        let before = t.count("credentials").await;
        let (keys_left, keys_right) = ([&own_left, &shared], [&own_right, &shared]);
        let ((s1, b1), (s2, b2)) = tokio::join!(
            request(&t, &wallet, &left, &keys_left),
            request(&t, &wallet, &right, &keys_right),
        );
        let mut outcomes = [(s1, b1), (s2, b2)];
        outcomes.sort_by_key(|(s, _)| *s);
        assert_eq!(outcomes[0].0, 200, "{}", outcomes[0].1);
        assert_reused(outcomes[1].0, &outcomes[1].1, 1, "already bound");
        // The winner's two copies only: the loser issued nothing.
        assert_eq!(t.count("credentials").await, before + 2);
    }
    t.stop().await;
}

crate::on_both_backends!(
    the_same_holder_key_twice_in_one_request_is_refused,
    a_holder_key_from_an_earlier_batch_is_refused_and_nothing_is_issued,
    concurrent_requests_with_one_holder_key_issue_exactly_once,
);
