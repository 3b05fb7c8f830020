//! `/nonce` costs nothing to abuse: a `c_nonce` is stateless (HMAC-sealed issue time and
//! randomness under a master-secret key) and recorded only when a proof uses it, once.

use serde_json::{json, Value};

use crate::client::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

fn assert_invalid_nonce(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_nonce", "{body}");
}

/// A copy proved over `nonce` is refused with `invalid_nonce` and nothing is issued; stops `t`.
async fn refused_and_nothing_issued(
    t: TestIssuer,
    wallet: &mut Wallet,
    grant: &Redeemed,
    nonce: &str,
) {
    let (status, body) = wallet.one_copy_with_nonce(grant, CONFIG, nonce).await;
    assert_invalid_nonce(status, &body);
    assert_eq!(t.count("credentials").await, 0);
    t.stop().await;
}

async fn many_nonce_calls_store_nothing(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let wallet = Wallet::new(90);
    let meta: Value = t.get_json("/.well-known/openid-credential-issuer").await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..300 {
        assert!(
            seen.insert(wallet.nonce(&meta).await),
            "nonces never repeat"
        );
    }
    assert_eq!(t.count("c_nonces").await, 0);
    t.stop().await;
}

async fn a_nonce_is_used_once(backend: Backend) {
    let (t, mut wallet, grant) = redeemed_on(backend, 91).await;
    let nonce = wallet.nonce(&grant.metadata).await;
    let (status, body) = wallet.one_copy_with_nonce(&grant, CONFIG, &nonce).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.count("c_nonces").await, 1);
    // Again, for the configuration not yet issued, with a fresh proof: refused.
    let (status, body) = wallet
        .one_copy_with_nonce(&grant, "citizen_id_high_vc_sd_jwt", &nonce)
        .await;
    assert_invalid_nonce(status, &body);
    assert_eq!(t.count("credentials").await, 1);
    t.stop().await;
}

async fn a_forged_nonce_is_invalid_nonce(backend: Backend) {
    let (t, mut wallet, grant) = redeemed_on(backend, 92).await;
    let forged = credential::b64::encode([1u8; 41]);
    refused_and_nothing_issued(t, &mut wallet, &grant, &forged).await;
}

async fn an_altered_nonce_is_invalid_nonce(backend: Backend) {
    let (t, mut wallet, grant) = redeemed_on(backend, 93).await;
    let nonce = wallet.nonce(&grant.metadata).await;
    // Move the issue time one second on, keeping the tag.
    let mut bytes = credential::b64::decode(&nonce).unwrap();
    bytes[8] ^= 1;
    let altered = credential::b64::encode(&bytes);
    refused_and_nothing_issued(t, &mut wallet, &grant, &altered).await;
}

async fn an_expired_nonce_is_invalid_nonce(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.nonce_ttl = 1)
        .await
        .unwrap();
    let mut wallet = Wallet::new(94);
    let grant = redeemed(&t, &wallet, 94).await;
    let nonce = wallet.nonce(&grant.metadata).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    refused_and_nothing_issued(t, &mut wallet, &grant, &nonce).await;
}

async fn a_nonce_of_another_issuer_is_invalid_nonce(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    // Test issuers draw their master secret from one seed: give this one its own.
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("master.secret");
    std::fs::write(&secret, [0x5a; 32]).unwrap();
    let other = TestIssuer::start_on_with(Backend::Sqlite, |c| {
        c.master_secret_file = Some(secret.clone());
    })
    .await
    .unwrap();
    let mut wallet = Wallet::new(95);
    let grant = redeemed(&t, &wallet, 95).await;
    let mut other_meta = grant.metadata.clone();
    other_meta["nonce_endpoint"] = json!(format!("{}/nonce", other.url));
    let foreign = wallet.nonce(&other_meta).await;
    let (status, body) = wallet.one_copy_with_nonce(&grant, CONFIG, &foreign).await;
    assert_invalid_nonce(status, &body);
    other.stop().await;
    t.stop().await;
}

crate::on_both_backends!(
    many_nonce_calls_store_nothing,
    a_nonce_is_used_once,
    a_forged_nonce_is_invalid_nonce,
    an_altered_nonce_is_invalid_nonce,
    an_expired_nonce_is_invalid_nonce,
    a_nonce_of_another_issuer_is_invalid_nonce,
);
