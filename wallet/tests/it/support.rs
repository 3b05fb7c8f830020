//! A real issuer on loopback (the shared kit, with batches of 10 copies), and a wallet in a
//! temporary directory.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use wallet::receive::{CredentialOffer, ReceiveError, ReceiveOptions, Received, TxCode};
use wallet::{StorageKey, Store};

pub use testkit::{high_claims, id_number, now, wrong_tx_code, TestIssuer};

/// The kit's issuer with batches of 10 copies.
pub async fn start_issuer() -> TestIssuer {
    start_issuer_with(|_| {}).await
}

/// [`start_issuer`] with the configuration changed by `tweak` (after the defaults).
pub async fn start_issuer_with(tweak: impl FnOnce(&mut issuer::config::Config)) -> TestIssuer {
    TestIssuer::builder()
        .seed(1)
        .config(|c| c.batch_size = 10)
        .config(tweak)
        .start()
        .await
}

pub fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, &StorageKey::from_bytes([7; 32])).unwrap()
}

/// A holder-key RNG that never repeats a stream in this process: the issuer binds each
/// holder key to one credential only.
pub fn holder_rng() -> ChaCha20Rng {
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ChaCha20Rng::seed_from_u64(42 ^ (n << 32))
}

/// The options for `copies` copies of `config` (`None`: every offered configuration).
pub fn receive_options(config: Option<&str>, copies: usize) -> ReceiveOptions {
    ReceiveOptions {
        copies,
        configurations: config.map(|c| vec![c.to_owned()]).unwrap_or_default(),
        ..ReceiveOptions::default()
    }
}

/// `wallet::receive` of a resolved offer with `tx_code`, fresh holder keys and the clock.
pub async fn receive_with(
    http: &reqwest::Client,
    offer: &CredentialOffer,
    tx_code: Option<&str>,
    options: &ReceiveOptions,
) -> Result<Received, ReceiveError> {
    let tx_code = tx_code.map(TxCode::new);
    wallet::receive(
        http,
        offer,
        tx_code.as_ref(),
        options,
        &mut holder_rng(),
        now(),
    )
    .await
}

/// Resolves an enrolment answer's offer (by value).
pub async fn resolve(http: &reqwest::Client, enrolment: &Value) -> CredentialOffer {
    wallet::resolve_offer(http, enrolment["offer_uri"].as_str().unwrap())
        .await
        .unwrap()
}

/// Resolves an enrolment answer's offer (by value) and receives it with its tx_code.
pub async fn receive_offer(
    http: &reqwest::Client,
    enrolment: &Value,
    options: &ReceiveOptions,
) -> Received {
    let parsed = resolve(http, enrolment).await;
    receive_with(http, &parsed, enrolment["tx_code"].as_str(), options)
        .await
        .unwrap()
}

/// An OpenID4VP request by value (`openid4vp://?...`) with these parameters.
pub fn request_uri(params: &[(&str, String)]) -> String {
    format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// A `vp_token` request by value from `client_id` with `nonce` and a DCQL query.
pub fn vp_request(client_id: &str, nonce: &str, dcql: &Value) -> String {
    request_uri(&[
        ("client_id", client_id.to_owned()),
        ("nonce", nonce.to_owned()),
        ("response_type", "vp_token".to_owned()),
        ("dcql_query", dcql.to_string()),
    ])
}

/// An offer by value from the issuer at `url` for `config`, with this pre-authorized code and
/// a 6-digit tx_code.
pub fn offer_uri(url: &str, config: &str, code: &str) -> String {
    let offer = json!({
        "credential_issuer": url,
        "credential_configuration_ids": [config],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": code, "tx_code": {"length": 6}}},
    });
    format!(
        "openid-credential-offer://?{}",
        serde_urlencoded::to_string([("credential_offer", offer.to_string())]).unwrap()
    )
}
