//! DCQL features end to end against the real issuer and the `verifier` library: `multiple`,
//! `require_cryptographic_holder_binding`, `trusted_authorities`.

use credential::sd_jwt::VerifyError;
use serde_json::{json, Value};
use verifier::request::{PresentationRequest, ResponseMode as RpMode};
use verifier::{Policy, Verifier, VerifierError};
use wallet::consent::Preparation;
use wallet::dcql::Unmet;
use wallet::{Reuse, Store};

use crate::support::*;

const HOTEL: &str = include_str!("../../../verifier/profiles/hotel.toml");

/// A store with one batch of `copies` high dc+sd-jwt copies per offer in `serials`.
async fn store_with(t: &TestIssuer, serials: &[u32], copies: usize) -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path());
    let http = reqwest::Client::new();
    for serial in serials {
        let offer = t.enrol_high(&high_claims(*serial)).await;
        receive_offer(
            &http,
            &offer,
            &receive_options(Some("citizen_id_high_dc_sd_jwt"), copies),
        )
        .await
        .store(&mut store)
        .unwrap();
    }
    (store, dir)
}

fn rp_request(query: Value) -> PresentationRequest {
    PresentationRequest {
        client_id: "x509_san_dns:hotel.example".into(),
        nonce: "n-dcql-1".into(),
        dcql_query: json!({"credentials": [query]}),
        response_mode: RpMode::Shown,
        state: None,
    }
}

fn hotel_query() -> Value {
    json!({"id": "hotel", "format": "dc+sd-jwt",
           "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["id_number"]}]})
}

/// The hotel's request with `member` of its credential query set to `value`.
fn hotel_request_with(member: &str, value: Value) -> PresentationRequest {
    let mut q = hotel_query();
    q[member] = value;
    rp_request(q)
}

fn wallet_request(rp: &PresentationRequest) -> wallet::AuthorizationRequest {
    match wallet::AuthorizationRequest::parse_uri(&rp.to_uri()).unwrap() {
        wallet::present::RequestRef::ByValue(r) => *r,
        _ => panic!("by value"),
    }
}

fn answer(store: &mut Store, rp: &PresentationRequest) -> (wallet::Answer, Box<wallet::Prepared>) {
    let Preparation::Ready(prepared) = wallet::prepare(store, &wallet_request(rp)).unwrap() else {
        panic!("not ready")
    };
    let a = wallet::answer(store, &prepared, Reuse::Refuse, now()).unwrap();
    (a, prepared)
}

async fn verifier_for(t: &TestIssuer, key_binding: bool) -> Verifier {
    let mut policy = Policy::from_toml(HOTEL).unwrap();
    policy.key_binding = key_binding;
    // No status list synced in this test: the status check is not what is tested here.
    policy.require_status = false;
    Verifier::new(
        verifier::TrustStore::from_json(&t.jwt_vc_issuer().await).unwrap(),
        Default::default(),
        policy,
    )
}

#[tokio::test]
async fn multiple_answers_with_every_matching_credential() {
    let t = start_issuer().await;
    let (mut store, _dir) = store_with(&t, &[50, 51], 2).await;
    let rp = hotel_request_with("multiple", json!(true));
    let (a, prepared) = answer(&mut store, &rp);
    assert_eq!(prepared.consent.items.len(), 2);
    assert_eq!(a.copies_used.len(), 2);
    let text = a.to_text();
    let parsed = verifier::answer::parse(&text).unwrap();
    assert_eq!(parsed.presentations.len(), 2);
    parsed.check_against(&rp.dcql_query).unwrap();
    let v = verifier_for(&t, true).await;
    let mut ids = Vec::new();
    for p in &parsed.presentations {
        let ok = v
            .verify_for_request(&p.presentation, &rp, p.query_id.as_deref(), now())
            .unwrap();
        ids.push(ok.claims["id_number"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let mut expected = vec![id_number(50), id_number(51)];
    expected.sort();
    assert_eq!(ids, expected);
    // The same two presentations against a request without `multiple` are refused.
    let single = rp_request(hotel_query());
    assert_eq!(
        parsed.check_against(&single.dcql_query).unwrap_err().code(),
        "answer_not_multiple"
    );
    // Without `multiple` the wallet answers with one.
    let (a, _) = answer(&mut store, &single);
    assert_eq!(a.vp_token["hotel"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn no_key_binding_only_when_the_request_said_so() {
    let t = start_issuer().await;
    let (mut store, _dir) = store_with(&t, &[52], 3).await;
    let unbound_rp = hotel_request_with("require_cryptographic_holder_binding", json!(false));
    let (a, prepared) = answer(&mut store, &unbound_rp);
    assert!(
        !prepared.consent.items[0].holder_binding,
        "the consent summary warns"
    );
    let presentation = a.vp_token["hotel"][0].as_str().unwrap().to_owned();
    assert!(presentation.ends_with('~'), "no KB-JWT");
    // Accepted only when the policy allows it and the request said so.
    let lenient = verifier_for(&t, false).await;
    let ok = lenient
        .verify_for_request(&presentation, &unbound_rp, Some("hotel"), now())
        .unwrap();
    assert!(ok.key_binding.is_none());
    let bound_rp = rp_request(hotel_query());
    assert_eq!(
        lenient
            .verify_for_request(&presentation, &bound_rp, Some("hotel"), now())
            .unwrap_err(),
        VerifierError::Credential(VerifyError::KeyBindingMissing)
    );
    let strict = verifier_for(&t, true).await;
    assert_eq!(
        strict
            .verify_for_request(&presentation, &unbound_rp, Some("hotel"), now())
            .unwrap_err(),
        VerifierError::Credential(VerifyError::KeyBindingMissing)
    );
    // By default the wallet binds, and the strict verifier accepts.
    let (a, prepared) = answer(&mut store, &bound_rp);
    assert!(prepared.consent.items[0].holder_binding);
    let p = a.vp_token["hotel"][0].as_str().unwrap();
    strict
        .verify_for_request(p, &bound_rp, Some("hotel"), now())
        .unwrap();
    t.stop().await;
}

#[tokio::test]
async fn trusted_authorities_aki_refuses_and_trust_lists_are_flagged() {
    let t = start_issuer().await;
    let (mut store, _dir) = store_with(&t, &[53], 2).await;
    let rp = hotel_request_with(
        "trusted_authorities",
        json!([{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]),
    );
    match wallet::prepare(&store, &wallet_request(&rp)).unwrap() {
        Preparation::CannotSatisfy { unmet, .. } => assert_eq!(
            unmet,
            vec![Unmet::NoTrustedIssuer {
                query_id: "hotel".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
    let rp = hotel_request_with(
        "trusted_authorities",
        json!([{"type": "etsi_tl", "values": ["https://lotl.example.com"]}]),
    );
    let (_, prepared) = answer(&mut store, &rp);
    assert!(prepared.consent.items[0].issuer_trust_unchecked);
    t.stop().await;
}

#[tokio::test]
async fn a_signed_request_is_answered_for_its_did_client_id() {
    use credential::jose::{Alg, SigningKey};
    let t = start_issuer().await;
    let (mut store, _dir) = store_with(&t, &[54], 1).await;
    let key = SigningKey::generate(Alg::Es256, &mut rand_core::OsRng);
    let mut rp = rp_request(hotel_query());
    rp.client_id = verifier::request::did_jwk_client_id(key.public_jwk());
    let t0 = now();
    let uri = rp.to_signed_uri(&key, t0, 600);
    let wallet::present::RequestRef::ByValue(request) =
        wallet::AuthorizationRequest::parse_uri(&uri).unwrap()
    else {
        panic!("by value")
    };
    let Preparation::Ready(prepared) = wallet::prepare(&store, &request).unwrap() else {
        panic!("not ready")
    };
    assert!(matches!(
        prepared.consent.client_identity,
        wallet::ClientIdentity::Did { .. }
    ));
    assert_eq!(prepared.request.expires_at, Some(t0 + 600));
    // Past its `exp` (and the clock skew) the request is refused, and no copy is used up.
    let late = t0 + 600 + wallet::present::REQUEST_CLOCK_SKEW + 1;
    assert_eq!(
        wallet::answer(&mut store, &prepared, Reuse::Refuse, late).unwrap_err(),
        wallet::PresentationError::RequestExpired {
            expired_at: t0 + 600
        }
    );
    let a = wallet::answer(&mut store, &prepared, Reuse::Refuse, now()).unwrap();
    let parsed = verifier::answer::parse(&a.to_text()).unwrap();
    let v = verifier_for(&t, true).await;
    let ok = v
        .verify_for_request(
            &parsed.presentations[0].presentation,
            &rp,
            Some("hotel"),
            now(),
        )
        .unwrap();
    assert_eq!(ok.key_binding.unwrap().aud, rp.client_id);
    t.stop().await;
}
