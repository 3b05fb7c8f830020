//! What could fetch a pre-authorized code (the offer id) is neither logged nor audited, and
//! error answers and logs describe a wrongly typed field without echoing the submitted value.

use serde_json::{json, Value};

use crate::client::*;
use crate::logs;

async fn offer_id_appears_in_no_log_and_no_audit_row(backend: Backend) {
    logs::capture();
    let t = TestIssuer::start_on(backend).await.unwrap();
    let wallet = Wallet::new(81);
    // One offer redeemed, one killed by wrong tx_codes.
    let redeemed = t.enrol_high(&high_claims(81)).await;
    wallet.redeem_offer(&redeemed).await;
    let killed = t.enrol_high(&high_claims(82)).await;
    let code = pre_authorized_code(&killed);
    for _ in 0..5 {
        let (status, body) = wallet.token(&t.url, &code, "000000x").await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(t.count("audit WHERE event = 'offer.dead'").await, 1);
    assert_eq!(t.count("audit WHERE event = 'offer.redeemed'").await, 1);
    for offer in [&redeemed, &killed] {
        let id = offer["offer_id"].as_str().unwrap();
        assert_eq!(id.len(), 22, "a random id, safe to put in SQL");
        let rows = t
            .count(&format!(
                "audit WHERE subject = '{id}' OR detail LIKE '%{id}%'"
            ))
            .await;
        assert_eq!(rows, 0, "offer id in the audit table");
        assert!(!logs::text().contains(id), "offer id in the log");
        // The enrolment id is audited and logged instead (which shows the log is captured).
        let enrolment = offer["enrolment_id"].as_str().unwrap();
        assert!(
            t.count(&format!("audit WHERE subject = '{enrolment}'"))
                .await
                >= 2
        );
        assert!(logs::text().contains(enrolment));
    }
    t.stop().await;
}

fn assert_no_echo(status: u16, body: &Value, code: &str, secret: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], code, "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(!description.contains(secret), "echoed: {description}");
    assert!(
        !logs::text().contains(secret),
        "echoed into the log: {secret}"
    );
}

async fn wrongly_typed_values_are_not_echoed(backend: Backend) {
    logs::capture();
    let t = TestIssuer::start_on(backend).await.unwrap();
    // An id number sent as a number (admin endpoint).
    let id_number: u64 = 110_105_199_001_017_771;
    let (status, body) = t
        .post_as_admin("/admin/citizens/revoke", &json!({"id_number": id_number}))
        .await;
    assert_no_echo(status, &body, "invalid_request", &id_number.to_string());
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("id_number"),
        "names the field: {body}"
    );
    // The same in the claims of an enrolment.
    let mut claims = high_claims(83);
    claims["id_number"] = json!(id_number);
    let (status, body) = t
        .post_as_officer("/enrol/high", &json!({"claims": claims}))
        .await;
    assert_no_echo(status, &body, "invalid_claims", &id_number.to_string());
    // A number where the attestation JWS goes.
    let (status, body) = t
        .post_as_officer(
            "/enrol/basic",
            &json!({"claims": basic_claims(84), "attestation": 424_242_424_242_u64}),
        )
        .await;
    assert_no_echo(status, &body, "invalid_request", "424242424242");
    // A whole proof JWT where an array of them goes.
    let wallet = Wallet::new(85);
    let offer = t.enrol_high(&high_claims(85)).await;
    let grant = wallet.redeem_offer(&offer).await;
    let key = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(85),
    );
    let nonce = wallet.nonce(&grant.metadata).await;
    let jwt = proof(&key, &t.url, &nonce, now());
    let (status, body) = wallet
        .credential_request(
            &grant.metadata,
            &grant.access_token,
            &json!({"credential_configuration_id": "citizen_id_high_dc_sd_jwt",
                    "proofs": {"jwt": jwt}}),
        )
        .await;
    assert_no_echo(status, &body, "invalid_credential_request", &jwt);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("proofs.jwt"),
        "{body}"
    );
    // An unknown field's value and an unknown enum-like value.
    let (status, body) = wallet
        .credential_request(
            &grant.metadata,
            &grant.access_token,
            &json!({"credential_configuration_id": "citizen_id_high_dc_sd_jwt",
                    "proofs": {"jwt": [jwt], "extra_secret_field_x9": 1}}),
        )
        .await;
    assert_no_echo(
        status,
        &body,
        "invalid_credential_request",
        "extra_secret_field_x9",
    );
    // The key-rotation body: alg as a number.
    let (status, body) = t
        .post_as_admin("/admin/keys/rotate", &json!({"alg": 987_654_321}))
        .await;
    assert_no_echo(status, &body, "invalid_request", "987654321");
    // The token endpoint's form: a repeated parameter is described, not echoed.
    let r = t
        .http
        .post(format!("{}/token", t.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=a.b&refresh_token=secret-form-value-x7")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_no_echo(status, &body, "invalid_request", "secret-form-value-x7");
    t.stop().await;
}

crate::on_both_backends!(
    offer_id_appears_in_no_log_and_no_audit_row,
    wrongly_typed_values_are_not_echoed,
);
