//! The operator cases of a citizen's hold (docs/issuer/operating.md, "Drills"): a lost phone
//! is handled by revoking the batch on it, which leaves no hold, so the citizen enrols again on
//! a new phone; a revoked citizen can be enrolled again only after an admin lifts the
//! revocation hold with a reason (audited), and their old credentials stay revoked; a
//! suspension ends with reinstate, never with a lift.

use serde_json::{json, Value};

use issuer::domain::audit::AuditFilter;

use crate::client::*;

const HIGH_DC: &str = "citizen_id_high_dc_sd_jwt";
const CLAIMS: &[&str] = &["family_name", "given_name", "id_number"];

/// `POST /admin/citizens/lift-hold` with `body` and bearer `token`; status and body.
async fn lift(t: &TestIssuer, token: &str, body: Value) -> (u16, Value) {
    t.post_as(token, "/admin/citizens/lift-hold", &body).await
}

fn lift_body(serial: u32, reason: &str) -> Value {
    json!({"id_number": id_number(serial), "reason": reason})
}

/// `POST /enrol/high` for citizen `serial` as officer; status and body.
async fn enrol(t: &TestIssuer, serial: u32) -> (u16, Value) {
    t.post_as_officer("/enrol/high", &json!({"claims": high_claims(serial)}))
        .await
}

/// An issuer on `backend` where citizen `serial` is enrolled and then `action`ed (`revoke`,
/// `suspend`).
async fn held(backend: Backend, action: &str, serial: u32) -> TestIssuer {
    let t = TestIssuer::start_on(backend).await.unwrap();
    t.enrol_high(&high_claims(serial)).await;
    t.citizen_ok(action, serial).await;
    t
}

/// `POST /enrol/high` for citizen `serial` answers `status`.
async fn assert_enrol(t: &TestIssuer, serial: u32, status: u16) {
    let (got, body) = enrol(t, serial).await;
    assert_eq!(got, status, "{body}");
}

/// Enrols citizen `serial`, redeems the offer in `wallet` and takes `n` copies.
async fn credentials_of(
    t: &TestIssuer,
    wallet: &mut Wallet,
    serial: u32,
    n: usize,
) -> (Redeemed, Vec<credential::jose::SigningKey>, Vec<String>) {
    let offer = t.enrol_high(&high_claims(serial)).await;
    let grant = wallet.redeem_offer(&offer).await;
    let (keys, creds) = wallet.credentials(&grant, HIGH_DC, n).await;
    (grant, keys, creds)
}

async fn assert_valid(t: &TestIssuer, cred: &str, key: &credential::jose::SigningKey) {
    let verified = verify_with_verifier(&t.http, &t.url, cred, key, CLAIMS)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    assert!(matches!(
        verified.status,
        verifier::StatusOutcome::Valid { .. }
    ));
}

async fn assert_revoked(t: &TestIssuer, cred: &str, key: &credential::jose::SigningKey) {
    match verify_with_verifier(&t.http, &t.url, cred, key, CLAIMS).await {
        Err(e) => assert_eq!(e.code(), "revoked", "{e}"),
        Ok(_) => panic!("a revoked credential verified"),
    }
}

async fn a_lost_phone_is_revoked_by_its_batch_and_the_citizen_enrols_again(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut lost = Wallet::new(80);
    let (grant, old_keys, old) = credentials_of(&t, &mut lost, 80, 2).await;
    // The officer revokes the batch on the lost phone, not the citizen.
    let (shard, idx) = status_entry(&old[0]);
    let (status, _) = t.entry_action(&t.admin_token, shard, idx, "revoke").await;
    assert_eq!(status, 200);
    assert_eq!(
        t.count("citizen_holds").await,
        0,
        "a batch revocation sets no hold"
    );
    // Whoever has the lost phone cannot refresh onto new credentials.
    let (status, body) = lost.refresh(&t.url, &grant.refresh_token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // The citizen enrols again on a new phone; the new credential verifies, the old copies
    // are revoked.
    let mut new_phone = Wallet::new(81);
    let (_, new_keys, new) = credentials_of(&t, &mut new_phone, 80, 1).await;
    assert_valid(&t, &new[0], &new_keys[0]).await;
    for (cred, key) in old.iter().zip(&old_keys) {
        assert_revoked(&t, cred, key).await;
    }
    t.stop().await;
}

async fn a_revoked_citizen_enrols_again_once_an_admin_lifts_the_hold(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(82);
    let (_, old_keys, old) = credentials_of(&t, &mut wallet, 82, 1).await;
    t.citizen_ok("revoke", 82).await;
    let (status, body) = enrol(&t, 82).await;
    assert_eq!(
        (status, &body["error"]),
        (409, &json!("citizen_on_hold")),
        "{body}"
    );

    let reason = "case 2026-114: revocation was a data-entry error, identity re-checked";
    let (status, body) = lift(&t, &t.admin_token, lift_body(82, reason)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hold"], "lifted");
    assert_eq!(t.count("citizen_holds").await, 0);

    // Audited with the reason, under the admin, without the id number.
    let events = t
        .issuer
        .store
        .audit_list(AuditFilter {
            event_prefix: Some("citizen.lift-hold".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let detail: Value = serde_json::from_str(events[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["reason"], reason);
    assert_eq!(detail["was"], "revoked");
    assert_ne!(events[0].subject.as_deref(), Some(id_number(82).as_str()));
    let actor = events[0].actor.replace('\'', "");
    assert_eq!(
        t.count(&format!("officers WHERE role = 'admin' AND id = '{actor}'"))
            .await,
        1,
        "the actor is the admin who lifted"
    );

    // A new enrolment works; the new credential verifies, the old one stays revoked.
    let mut new_phone = Wallet::new(83);
    let (_, new_keys, new) = credentials_of(&t, &mut new_phone, 82, 1).await;
    assert_valid(&t, &new[0], &new_keys[0]).await;
    assert_revoked(&t, &old[0], &old_keys[0]).await;
    // Lifting is no pardon for the future: a new revocation holds again.
    t.citizen_ok("revoke", 82).await;
    assert_enrol(&t, 82, 409).await;
    t.stop().await;
}

async fn an_officer_cannot_lift_a_hold(backend: Backend) {
    let t = held(backend, "revoke", 84).await;
    let (status, body) = lift(&t, &t.officer_token, lift_body(84, "officer tries")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(t.count("citizen_holds").await, 1);
    assert_eq!(t.count("audit WHERE event = 'citizen.lift-hold'").await, 0);
    assert_enrol(&t, 84, 409).await;
    t.stop().await;
}

async fn a_suspended_citizen_is_reinstated_not_lifted(backend: Backend) {
    let t = held(backend, "suspend", 85).await;
    let (status, body) = lift(&t, &t.admin_token, lift_body(85, "investigation closed")).await;
    assert_refused(
        (status, &body),
        409,
        "invalid_status_transition",
        "suspended",
    );
    assert_eq!(t.count("citizen_holds").await, 1);
    assert_enrol(&t, 85, 409).await;
    t.citizen_ok("reinstate", 85).await;
    assert_enrol(&t, 85, 201).await;
    t.stop().await;
}

async fn lifting_a_hold_needs_a_reason(backend: Backend) {
    let t = held(backend, "revoke", 86).await;
    for reason in ["", "   ", "line one\nline two", &"x".repeat(501)] {
        let (status, body) = lift(&t, &t.admin_token, lift_body(86, reason)).await;
        assert_refused((status, &body), 400, "invalid_request", "reason");
    }
    let (status, body) = lift(&t, &t.admin_token, json!({"id_number": id_number(86)})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(t.count("citizen_holds").await, 1);
    t.stop().await;
}

async fn lifting_needs_a_revoked_citizen(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    // Never enrolled: not a citizen.
    let (status, body) = lift(&t, &t.admin_token, lift_body(87, "no such case")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    // Enrolled and not on hold: nothing to lift.
    t.enrol_high(&high_claims(88)).await;
    let (status, body) = lift(&t, &t.admin_token, lift_body(88, "no hold")).await;
    assert_refused(
        (status, &body),
        409,
        "invalid_status_transition",
        "not on hold",
    );
    assert_eq!(t.count("audit WHERE event = 'citizen.lift-hold'").await, 0);
    t.stop().await;
}

crate::on_both_backends!(
    a_lost_phone_is_revoked_by_its_batch_and_the_citizen_enrols_again,
    a_revoked_citizen_enrols_again_once_an_admin_lifts_the_hold,
    an_officer_cannot_lift_a_hold,
    a_suspended_citizen_is_reinstated_not_lifted,
    lifting_a_hold_needs_a_reason,
    lifting_needs_a_revoked_citizen,
);

#[test]
fn lift_hold_from_the_command_line_lets_a_revoked_citizen_enrol_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let claims = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/claims/citizen-high.json"
    );
    let id = "110105199205179985";
    let enrol = || {
        issuer_cli(&[
            "enroll", "--data", data, "--level", "high", "--claims", claims,
        ])
    };
    let lift = |reason: &str| {
        issuer_cli(&[
            "lift-hold",
            "--data",
            data,
            "--citizen",
            id,
            "--reason",
            reason,
        ])
    };
    let o = enrol();
    assert!(o.status.success(), "{o:?}");
    let o = issuer_cli(&["revoke", "--data", data, "--citizen", id]);
    assert!(o.status.success(), "{o:?}");
    let o = enrol();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    // A reason is required.
    let o = issuer_cli(&["lift-hold", "--data", data, "--citizen", id]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = lift("case 2026-115");
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("revocation hold lifted"));
    let o = enrol();
    assert!(o.status.success(), "{o:?}");
    let o = issuer_cli(&[
        "audit",
        "--data",
        data,
        "--event",
        "citizen.lift-hold",
        "--json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("case 2026-115"), "{out}");
    assert!(!out.contains(id), "{out}");
    // Lifted once, there is no hold left to lift.
    let o = lift("again");
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not on hold"));
}
