//! A revoked or suspended citizen gets nothing new from any path: pending offers (fetch and
//! redeem), access tokens obtained before, a token already used for another configuration, the
//! refresh token of the citizen's other enrolment, and a new enrolment. Reinstating a suspended
//! citizen restores all of it.

use serde_json::{json, Value};

use crate::client::*;

const HIGH_DC: &str = "citizen_id_high_dc_sd_jwt";
const HIGH_VC: &str = "citizen_id_high_vc_sd_jwt";
const BASIC_DC: &str = "citizen_id_basic_dc_sd_jwt";

fn assert_error(status: u16, body: &Value, code: &str, text: &str) {
    assert_refused((status, body), 400, code, text);
}

/// A credential request refused because the citizen is held.
fn assert_denied(status: u16, body: &Value) {
    assert_error(
        status,
        body,
        "credential_request_denied",
        "revoked or suspended",
    );
}

async fn a_revoked_citizens_pending_offer_is_neither_fetched_nor_redeemed(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let wallet = Wallet::new(60);
    let offer = t.enrol_high(&high_claims(60)).await;
    assert_eq!(t.offer_status(&offer).await, 200);
    // The citizen has no credential yet: the revocation holds all the same.
    let (status, body) = t.citizen("revoke", 60).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    assert_eq!(t.offer_status(&offer).await, 404);
    let (status, body) = wallet
        .token(
            &t.url,
            &pre_authorized_code(&offer),
            offer["tx_code"].as_str().unwrap(),
        )
        .await;
    assert_error(status, &body, "invalid_grant", "");
    assert_eq!(t.count("access_tokens").await, 0);
    // Revocation is final: reinstating is refused.
    let (status, body) = t.citizen("reinstate", 60).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "invalid_status_transition");
    t.stop().await;
}

async fn a_suspended_citizens_offer_waits_until_reinstated(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let wallet = Wallet::new(61);
    let offer = t.enrol_high(&high_claims(61)).await;
    t.citizen_ok("suspend", 61).await;
    assert_eq!(t.offer_status(&offer).await, 404);
    let tx_code = offer["tx_code"].as_str().unwrap();
    let (status, body) = wallet
        .token(&t.url, &pre_authorized_code(&offer), tx_code)
        .await;
    assert_error(status, &body, "invalid_grant", "suspended");
    // The refusal did not spend the code.
    t.citizen_ok("reinstate", 61).await;
    assert_eq!(t.offer_status(&offer).await, 200);
    let (status, body) = wallet
        .token(&t.url, &pre_authorized_code(&offer), tx_code)
        .await;
    assert_eq!(status, 200, "{body}");
    t.stop().await;
}

async fn an_access_token_obtained_before_a_revocation_issues_nothing(backend: Backend) {
    for action in ["revoke", "suspend"] {
        let t = TestIssuer::start_on(backend).await.unwrap();
        let mut wallet = Wallet::new(62);
        let offer = t.enrol_high(&high_claims(62)).await;
        let grant = wallet.redeem_offer(&offer).await;
        t.citizen_ok(action, 62).await;
        let (status, body) = wallet.one_copy(&grant, HIGH_DC).await;
        assert_denied(status, &body);
        assert_eq!(t.count("credentials").await, 0, "{action}");
        t.stop().await;
    }
}

async fn a_token_used_for_one_configuration_gets_not_the_other_after_a_revocation(
    backend: Backend,
) {
    for action in ["revoke", "suspend"] {
        let t = TestIssuer::start_on(backend).await.unwrap();
        let mut wallet = Wallet::new(63);
        let offer = t.enrol_high(&high_claims(63)).await;
        let grant = wallet.redeem_offer(&offer).await;
        wallet.credentials(&grant, HIGH_DC, 1).await;
        t.citizen_ok(action, 63).await;
        let (status, body) = wallet.one_copy(&grant, HIGH_VC).await;
        assert_denied(status, &body);
        assert_eq!(t.count("credentials").await, 1, "{action}");
        if action == "suspend" {
            // Reinstated, the token's other configuration is issued.
            t.citizen_ok("reinstate", 63).await;
            let (status, body) = wallet.one_copy(&grant, HIGH_VC).await;
            assert_eq!(status, 200, "{body}");
        }
        t.stop().await;
    }
}

/// Enrols citizen `serial` at basic and at high (two enrolments of one citizen); redeems both
/// and takes a high copy only. Returns the basic grant.
async fn two_enrolments(t: &TestIssuer, wallet: &mut Wallet, serial: u32) -> Redeemed {
    let basic = t.enrol_basic(&basic_claims(serial)).await;
    let high = t.enrol_high(&high_claims(serial)).await;
    let basic = wallet.redeem_offer(&basic).await;
    let high = wallet.redeem_offer(&high).await;
    wallet.credentials(&high, HIGH_DC, 1).await;
    basic
}

/// Citizen `serial`, with two enrolments, is `action`ed (`revoke`, `suspend`): the refresh of
/// the basic enrolment is refused naming `reason` and grants nothing. The issuer, the wallet and
/// the basic enrolment's grant.
async fn other_enrolment_refused(
    backend: Backend,
    serial: u32,
    action: &str,
    reason: &str,
) -> (TestIssuer, Wallet, Redeemed) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(serial.into());
    let basic = two_enrolments(&t, &mut wallet, serial).await;
    t.citizen_ok(action, serial).await;
    let (status, body) = wallet.refresh(&t.url, &basic.refresh_token).await;
    assert_error(status, &body, "invalid_grant", reason);
    assert_eq!(t.count("refreshed_access_tokens").await, 0);
    (t, wallet, basic)
}

async fn the_refresh_token_of_a_revoked_citizens_other_enrolment_is_refused(backend: Backend) {
    let (t, mut wallet, basic) = other_enrolment_refused(backend, 64, "revoke", "revoked").await;
    let (status, body) = wallet.one_copy(&basic, BASIC_DC).await;
    assert_denied(status, &body);
    t.stop().await;
}

async fn a_suspended_citizens_other_enrolment_refreshes_again_once_reinstated(backend: Backend) {
    let (t, wallet, basic) = other_enrolment_refused(backend, 65, "suspend", "suspended").await;
    t.citizen_ok("reinstate", 65).await;
    let (status, body) = wallet.refresh(&t.url, &basic.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    t.stop().await;
}

async fn a_revoked_or_suspended_citizen_cannot_enrol_again(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    t.enrol_high(&high_claims(66)).await;
    t.enrol_high(&high_claims(67)).await;
    t.citizen_ok("revoke", 66).await;
    t.citizen_ok("suspend", 67).await;
    let enrol = |serial: u32| {
        t.http
            .post(format!("{}/enrol/high", t.url))
            .bearer_auth(&t.officer_token)
            .json(&json!({"claims": high_claims(serial)}))
            .send()
    };
    for (serial, status_text) in [(66, "revoked"), (67, "suspended")] {
        let r = enrol(serial).await.unwrap();
        assert_eq!(r.status(), 409);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "citizen_on_hold", "{body}");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains(status_text));
    }
    assert_eq!(t.count("enrolments").await, 2);
    t.citizen_ok("reinstate", 67).await;
    t.enrol_high(&high_claims(67)).await;
    // An id number never enrolled is not a citizen to revoke.
    let (status, body) = t.citizen("revoke", 68).await;
    assert_eq!(status, 404, "{body}");
    t.stop().await;
}

/// Revocations racing issuances: whatever the order, no credential of the citizen is left
/// valid once the revocation has answered (the check runs under the citizen's lock, in the
/// issuing transaction).
async fn a_revocation_racing_issuance_leaves_no_valid_credential(backend: Backend) {
    let t = std::sync::Arc::new(TestIssuer::start_on(backend).await.unwrap());
    for serial in 70..76u32 {
        let mut wallet = Wallet::new(u64::from(serial));
        let offer = t.enrol_high(&high_claims(serial)).await;
        let grant = wallet.redeem_offer(&offer).await;
        let issuing = tokio::spawn(async move { wallet.one_copy(&grant, HIGH_DC).await });
        let revoking = {
            let t = t.clone();
            tokio::spawn(async move { t.citizen("revoke", serial).await })
        };
        let (issued, revoked) = (issuing.await.unwrap(), revoking.await.unwrap());
        assert_eq!(revoked.0, 200, "{}", revoked.1);
        assert!(issued.0 == 200 || issued.0 == 400, "{}", issued.1);
        assert_eq!(t.count("credentials WHERE status = 0").await, 0);
    }
    match std::sync::Arc::try_unwrap(t) {
        Ok(t) => t.stop().await,
        Err(_) => panic!("test issuer still shared"),
    }
}

crate::on_both_backends!(
    a_revoked_citizens_pending_offer_is_neither_fetched_nor_redeemed,
    a_suspended_citizens_offer_waits_until_reinstated,
    an_access_token_obtained_before_a_revocation_issues_nothing,
    a_token_used_for_one_configuration_gets_not_the_other_after_a_revocation,
    the_refresh_token_of_a_revoked_citizens_other_enrolment_is_refused,
    a_suspended_citizens_other_enrolment_refreshes_again_once_reinstated,
    a_revoked_or_suspended_citizen_cannot_enrol_again,
    a_revocation_racing_issuance_leaves_no_valid_credential,
);
