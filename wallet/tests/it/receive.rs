//! Receiving from the real issuer over loopback.

use credential::sd_jwt::{KeyBinding, Limits, SdJwt, VerifyOptions};
use wallet::receive::{ReceiveError, ReceiveOptions};

use crate::support::*;

/// The test issuer, a high enrolment offer for the sample claims of citizen `n`, and an HTTP
/// client.
async fn high_offer(n: u32) -> (TestIssuer, serde_json::Value, reqwest::Client) {
    let t = start_issuer().await;
    let offer = t.enrol_high(&high_claims(n)).await;
    (t, offer, reqwest::Client::new())
}

#[tokio::test]
async fn receives_a_verified_batch_of_ten() {
    let (t, offer, http) = high_offer(1).await;
    let parsed = resolve(&http, &offer).await;
    assert_eq!(parsed.credential_issuer, t.url);
    assert_eq!(parsed.tx_code.as_ref().unwrap().length, Some(6));
    let options = receive_options(
        Some("citizen_id_high_dc_sd_jwt"),
        ReceiveOptions::default().copies,
    );
    let started = std::time::Instant::now();
    let received = receive_with(&http, &parsed, offer["tx_code"].as_str(), &options)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("received a batch of 10 over loopback in {elapsed:?}");
    assert_eq!(received.batches.len(), 1);
    assert_eq!(received.batches[0].len(), 10);

    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    let ids = received.store(&mut store).unwrap();
    let copies = store.copies(&ids[0]).unwrap();
    assert_eq!(copies.len(), 10);
    // Every stored copy verifies against the published keys and is bound to its own key.
    let trust = verifier::TrustStore::from_json(&t.jwt_vc_issuer().await).unwrap();
    let mut holder_keys = std::collections::BTreeSet::new();
    for c in &copies {
        assert_eq!(c.level, Some(credential::citizen::Level::High));
        assert_eq!(c.format, "dc+sd-jwt");
        assert_eq!(c.shown_count, 0);
        let opened = store.open_copy(&c.id).unwrap();
        let v = SdJwt::parse(&opened.sd_jwt, &Limits::default())
            .unwrap()
            .verify(&trust, &VerifyOptions::new(now(), KeyBinding::NotRequired))
            .unwrap();
        assert_eq!(v.holder_key.as_ref(), Some(opened.holder_key.public_jwk()));
        holder_keys.insert(opened.holder_key.kid().to_owned());
    }
    assert_eq!(holder_keys.len(), 10, "one holder key per copy");
    t.stop().await;
}

#[tokio::test]
async fn offer_by_reference_and_both_forms() {
    let (t, offer, http) = high_offer(2).await;
    let uri = offer["credential_offer_uri"].as_str().unwrap();
    assert!(uri.contains("credential_offer_uri="));
    let parsed = wallet::resolve_offer(&http, uri).await.unwrap();
    let received = receive_with(
        &http,
        &parsed,
        offer["tx_code"].as_str(),
        &receive_options(None, 2),
    )
    .await
    .unwrap();
    let formats: Vec<&str> = received.batches.iter().map(|b| b.format.as_str()).collect();
    assert!(formats.contains(&"dc+sd-jwt") && formats.contains(&"vc+sd-jwt"));
    assert!(received.batches.iter().all(|b| b.len() == 2));
    t.stop().await;
}

#[tokio::test]
async fn wrong_tx_code_is_refused_with_the_oauth_error() {
    let (t, offer, http) = high_offer(3).await;
    let parsed = resolve(&http, &offer).await;
    let wrong = wrong_tx_code(offer["tx_code"].as_str().unwrap());
    let err = receive_with(&http, &parsed, Some(wrong), &ReceiveOptions::default())
        .await
        .unwrap_err();
    match err {
        ReceiveError::Refused {
            endpoint, error, ..
        } => {
            assert_eq!(endpoint, "token");
            assert_eq!(error, "invalid_grant");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Without a code at all the library asks the host for one, and sends nothing.
    assert_eq!(
        receive_with(&http, &parsed, None, &ReceiveOptions::default())
            .await
            .unwrap_err(),
        ReceiveError::TxCodeRequired
    );
    t.stop().await;
}

#[test]
fn offer_uri_parsing() {
    use wallet::receive::{parse_offer_uri, OfferRef};
    assert!(matches!(
        parse_offer_uri("https://id.example.cn/offers/x").unwrap(),
        OfferRef::ByReference(_)
    ));
    assert!(matches!(
        parse_offer_uri("openid4vp://?x=1").unwrap_err(),
        ReceiveError::InvalidOfferUri { .. }
    ));
    // `{}`: the required members are missing; the error names where, at the offer's root.
    assert_eq!(
        parse_offer_uri("openid-credential-offer://?credential_offer=%7B%7D").unwrap_err(),
        ReceiveError::InvalidOfferMember { path: ".".into() }
    );
    assert!(matches!(
        parse_offer_uri("openid-credential-offer://?credential_offer=not-json").unwrap_err(),
        ReceiveError::InvalidOffer { .. }
    ));
    let no_grant = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fa.cn%22%2C%22credential_configuration_ids%22%3A%5B%22x%22%5D%7D";
    assert_eq!(
        parse_offer_uri(no_grant).unwrap_err(),
        ReceiveError::UnsupportedGrant
    );
}

#[tokio::test]
async fn import_verifies_against_the_trust_file_and_the_holder_key() {
    use credential::jose::{Alg, SigningKey};
    let (t, offer, http) = high_offer(4).await;
    let received = receive_offer(
        &http,
        &offer,
        &receive_options(Some("citizen_id_high_vc_sd_jwt"), 1),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    let ids = received.store(&mut store).unwrap();
    let copy = store
        .open_copy(&store.copies(&ids[0]).unwrap()[0].id)
        .unwrap();
    let jwks = t.jwt_vc_issuer().await;
    let key = || SigningKey::from_private_jwk(&copy.holder_key.to_private_jwk()).unwrap();

    let batch = wallet::receive::import(&copy.sd_jwt, &jwks, key(), now()).unwrap();
    assert_eq!(batch.vct, "urn:cn:citizen-id:high:1");
    assert_eq!(batch.format, credential::citizen::Format::VcSdJwt);
    store.insert_batch(batch.into_copies()).unwrap();
    assert_eq!(store.batches().unwrap().len(), 2);

    let stranger = SigningKey::generate(Alg::Es256, &mut rand_core::OsRng);
    assert!(matches!(
        wallet::receive::import(&copy.sd_jwt, &jwks, stranger, now()).unwrap_err(),
        ReceiveError::HolderKeyMismatch { .. }
    ));
    let other_issuer = SigningKey::generate(Alg::EdDsa, &mut rand_core::OsRng);
    let other_trust = other_issuer.public_jwk().to_bare_value().to_string();
    assert_eq!(
        wallet::receive::import(&copy.sd_jwt, &other_trust, key(), now()).unwrap_err(),
        ReceiveError::NotVerified {
            configuration: "import".into(),
            index: 0,
            code: "unknown_issuer_key".into()
        }
    );
    t.stop().await;
}
