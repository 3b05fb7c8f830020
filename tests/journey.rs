//! The whole journey end to end with the real issuer server on a loopback port, SQLite in a
//! temporary directory, the wallet client over HTTP and relying-party desks on the `verifier`
//! library, including the negative steps.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use citizen_id::demo::bureau::Bureau;
use citizen_id::demo::desk::Desk;
use citizen_id::demo::wallet::{DemoWallet, WalletError};
use credential::jose::{Alg, SigningKey};
use serde_json::Value;
use verifier::TrustStore;

const BASIC_CLAIMS: &str = include_str!("../examples/claims/citizen-basic.json");
const HIGH_CLAIMS: &str = include_str!("../examples/claims/citizen-high.json");
const HOTEL: &str = include_str!("../verifier/profiles/hotel.toml");
const BANK: &str = include_str!("../verifier/profiles/bank.toml");

fn presentation_of(answer: &str) -> String {
    assert!(
        answer.starts_with("VP1:"),
        "offline answers use the compact form"
    );
    let parsed = verifier::answer::parse(answer).unwrap();
    assert_eq!(
        parsed.presentations[0].query_id.as_deref(),
        Some("citizen_id")
    );
    parsed.presentations[0].presentation.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_journey_with_its_negative_steps() {
    let dir = tempfile::tempdir().unwrap();
    let bureau = Bureau::start(dir.path()).await.unwrap();
    let http = reqwest::Client::new();
    let basic: Value = serde_json::from_str(BASIC_CLAIMS).unwrap();
    let high: Value = serde_json::from_str(HIGH_CLAIMS).unwrap();
    let id_number = basic["id_number"].as_str().unwrap();

    // Basic enrolment with a face-match attestation; a low score enrols no one.
    assert!(bureau.enrol_basic(&basic, 0.2).await.is_err());
    let offer = bureau.enrol_basic(&basic, 0.97).await.unwrap();
    let mut wallet = DemoWallet::open(&dir.path().join("wallet")).unwrap();

    // A wrong tx_code is refused with the spec's error and stores nothing.
    match wallet
        .receive(&offer.offer_uri, "000000", "dc_sd_jwt", 2)
        .await
    {
        Err(WalletError::Issuer { code }) => assert_eq!(code, "invalid_grant"),
        other => panic!("wrong tx_code: {:?}", other.map(|_| ())),
    }
    assert!(wallet.held.is_empty());
    // The offer by reference works as well as by value.
    assert_eq!(
        wallet
            .receive(
                &offer.offer_uri_by_reference,
                &offer.tx_code,
                "dc_sd_jwt",
                2
            )
            .await
            .unwrap(),
        2
    );
    let high_offer = bureau.enrol_high(&high).await.unwrap();
    assert_eq!(
        wallet
            .receive(&high_offer.offer_uri, &high_offer.tx_code, "dc_sd_jwt", 2)
            .await
            .unwrap(),
        2
    );

    // A tampered credential (a hostile issuer's, or altered in transit) is refused by the
    // wallet and, presented anyway, by the verifier.
    let trust = TrustStore::from_json(
        &testkit::http::get_text(&http, &format!("{}/.well-known/jwt-vc-issuer", bureau.url)).await,
    )
    .unwrap();
    let genuine = &wallet.held[0].sd_jwt;
    let (jwt, rest) = genuine.split_once('~').unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&credential::b64::decode(&parts[1]).unwrap()).unwrap();
    payload["vct"] = Value::String("urn:cn:citizen-id:high:1".into());
    parts[1] = credential::b64::encode(payload.to_string());
    let tampered = format!("{}~{rest}", parts.join("."));
    let key = SigningKey::generate(Alg::Es256, &mut rand_core::OsRng);
    match DemoWallet::check(&trust, tampered.clone(), key) {
        Err(WalletError::Unverified { code }) => assert_eq!(code, "issuer_signature"),
        other => panic!("tampered credential: {:?}", other.map(|_| ())),
    }
    // A hostile issuer's own key is not trusted either.
    let hostile = SigningKey::generate(Alg::Es256, &mut rand_core::OsRng);
    let forged = credential::jose::sign_compact(
        serde_json::json!({"typ": "dc+sd-jwt", "kid": hostile.kid()})
            .as_object()
            .unwrap()
            .clone(),
        payload.to_string().as_bytes(),
        &hostile,
    );
    let forged = format!("{forged}~{rest}");
    match DemoWallet::check(
        &trust,
        forged,
        SigningKey::generate(Alg::Es256, &mut rand_core::OsRng),
    ) {
        Err(WalletError::Unverified { code }) => assert_eq!(code, "unknown_issuer_key"),
        other => panic!("forged credential: {:?}", other.map(|_| ())),
    }

    // The hotel syncs, then verifies offline.
    let status_uri = bureau.issuer.status_uri(0);
    let mut hotel = Desk::new(HOTEL).unwrap();
    hotel
        .sync(&http, &bureau.url, std::slice::from_ref(&status_uri))
        .await
        .unwrap();
    let request = hotel.request();
    let answer = wallet.answer(&request).unwrap();
    let v = hotel.check(&answer).unwrap();
    assert_eq!(v.level, Some(credential::citizen::Level::Basic));
    assert_eq!(v.claims["id_number"], id_number);
    assert!(v.claims.get("birthdate").is_none(), "only what was asked");
    // A replayed answer is refused.
    assert_eq!(
        hotel.check(&answer).unwrap_err().code,
        "nonce_unknown_or_used"
    );
    // A tampered presentation of the same request is refused and leaves the request open.
    let request = hotel.request();
    let answer = wallet.answer(&request).unwrap();
    let p = presentation_of(&answer);
    let (jwt, rest) = p.split_once('~').unwrap();
    let mut sig = jwt.rsplit_once('.').unwrap().1.as_bytes().to_vec();
    sig[5] = if sig[5] == b'A' { b'B' } else { b'A' };
    let bad = format!(
        "{}.{}~{rest}",
        jwt.rsplit_once('.').unwrap().0,
        String::from_utf8(sig).unwrap()
    );
    let bad_answer = verifier::answer::vp_token("citizen_id", &bad).to_string();
    assert_eq!(
        hotel.check(&bad_answer).unwrap_err().code,
        "issuer_signature"
    );
    hotel.check(&answer).unwrap();

    // Both basic copies were shown: the wallet refreshes the batch over the refresh grant
    // (new holder keys, new status entries) and the hotel accepts a fresh copy.
    let basic_batch = wallet.held[0].batch_id.clone();
    assert_eq!(wallet.exhausted().unwrap(), vec![basic_batch.clone()]);
    let old_keys: Vec<String> = wallet.held[..2]
        .iter()
        .map(|h| h.key.kid().to_owned())
        .collect();
    assert_eq!(wallet.refresh(&basic_batch, 2).await.unwrap(), 2);
    assert!(wallet.exhausted().unwrap().is_empty());
    assert_eq!(wallet.held[0].batch_id, basic_batch);
    assert!(wallet.held[..2]
        .iter()
        .all(|h| !old_keys.contains(&h.key.kid().to_owned())));
    let request = hotel.request();
    let v = hotel.check(&wallet.answer(&request).unwrap()).unwrap();
    assert_eq!(v.level, Some(credential::citizen::Level::Basic));

    // The bank: basic is too low; high is accepted.
    let mut bank = Desk::new(BANK).unwrap();
    bank.sync(&http, &bureau.url, std::slice::from_ref(&status_uri))
        .await
        .unwrap();
    let request = bank.request();
    let basic_index = wallet
        .held
        .iter()
        .position(|h| h.vct.contains(":basic:"))
        .unwrap();
    // A request for a claim the basic credential does not have (address).
    match wallet.answer_with(&request, basic_index, false) {
        Err(WalletError::MissingClaim { path }) => assert_eq!(path, "address"),
        other => panic!("missing claim: {:?}", other.map(|_| ())),
    }
    // Shown anyway with the claims it has, the level decides before the missing address.
    let answer = wallet.answer_with(&request, basic_index, true).unwrap();
    assert_eq!(bank.check(&answer).unwrap_err().code, "level_too_low");
    assert_eq!(
        bank.check(&answer).unwrap_err().code,
        "nonce_unknown_or_used"
    );
    let request = bank.request();
    let v = bank.check(&wallet.answer(&request).unwrap()).unwrap();
    assert_eq!(v.level, Some(credential::citizen::Level::High));

    // Revocation: after syncing, the hotel rejects.
    // Two basic copies, two refreshed ones, two high.
    assert_eq!(bureau.revoke_citizen(id_number).await.unwrap(), 6);
    // A revoked citizen cannot refresh themselves back.
    match wallet.refresh(&basic_batch, 2).await {
        Err(WalletError::Issuer { code }) => assert_eq!(code, "invalid_grant"),
        other => panic!("refresh after revocation: {:?}", other.map(|_| ())),
    }
    hotel.sync(&http, &bureau.url, &[status_uri]).await.unwrap();
    let request = hotel.request();
    let answer = wallet.answer(&request).unwrap();
    assert_eq!(hotel.check(&answer).unwrap_err().code, "revoked");
    // The rejected answer used its nonce up all the same.
    assert_eq!(
        hotel.check(&answer).unwrap_err().code,
        "nonce_unknown_or_used"
    );

    bureau.stop().await;
}
