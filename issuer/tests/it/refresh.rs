//! The refresh grant (RFC 6749 section 6): a fresh batch after every copy was shown, and each
//! way a refresh token is refused.

use serde_json::{json, Value};

use crate::client::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

/// Enrols citizen `serial` at high, redeems the offer and takes `n` copies.
async fn enrolled(t: &TestIssuer, wallet: &mut Wallet, serial: u32, n: usize) -> Redeemed {
    let offer = t.enrol_high(&high_claims(serial)).await;
    let redeemed = wallet
        .redeem(
            offer["offer_uri"].as_str().unwrap(),
            offer["tx_code"].as_str().unwrap(),
        )
        .await;
    wallet.credentials(&redeemed, CONFIG, n).await;
    redeemed
}

/// A refresh that must succeed; returns the new grant as a `Redeemed`.
async fn refreshed(t: &TestIssuer, wallet: &Wallet, prev: &Redeemed) -> Redeemed {
    let (status, body) = wallet.refresh(&t.url, &prev.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    Redeemed {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        metadata: prev.metadata.clone(),
    }
}

fn assert_invalid_grant(status: u16, body: &Value, reason: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(
        body["error_description"].as_str().unwrap().contains(reason),
        "{body}"
    );
}

async fn admin(t: &TestIssuer, path: &str, body: &Value) {
    let r = t
        .http
        .post(format!("{}{path}", t.url))
        .bearer_auth(&t.admin_token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn refresh_issues_a_fresh_batch_with_new_indexes_in_the_same_lineage(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let meta: Value = t
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", t.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("refresh_token")));
    let mut wallet = Wallet::new(31);
    let first = enrolled(&t, &mut wallet, 31, 2).await;
    // Only a digest is stored.
    let secret = first.refresh_token.split_once('.').unwrap().1.to_owned();
    assert_eq!(t.count("refresh_tokens").await, 1);
    let second = refreshed(&t, &wallet, &first).await;
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let (keys, creds) = wallet.credentials(&second, CONFIG, 3).await;
    assert_eq!(creds.len(), 3);
    let mut indexes = Vec::new();
    for (key, cred) in keys.iter().zip(&creds) {
        let (payload, _) = verify_sd_jwt(&t.http, &t.url, cred).await;
        assert_eq!(
            payload["cnf"]["jwk"]["x"],
            key.public_jwk().to_bare_value()["x"]
        );
        indexes.push(payload["status"]["status_list"]["idx"].as_u64().unwrap());
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 3);
    // Five credentials, all distinct status entries, one batch (the lineage).
    assert_eq!(t.count("credentials").await, 5);
    assert_eq!(
        t.count("(SELECT DISTINCT status_shard, status_idx FROM credentials)")
            .await,
        5
    );
    assert_eq!(
        t.count("(SELECT DISTINCT batch_id FROM credentials)").await,
        1
    );
    // The refreshed access token allows one batch per configuration, once.
    let nonce = wallet.nonce(&second.metadata).await;
    let key = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(5),
    );
    let p = proof(&key, &t.url, &nonce, now());
    let (status, body) = wallet
        .credential_request(
            &second.metadata,
            &second.access_token,
            &json!({"credential_configuration_id": CONFIG, "proofs": {"jwt": [p]}}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "credential_request_denied");
    // Chains: the new refresh token works once more.
    refreshed(&t, &wallet, &second).await;
    assert_eq!(t.count("audit WHERE event = 'refresh.used'").await, 2);
    let audit_text: i64 = t
        .count(&format!(
            "audit WHERE detail LIKE '%{}%'",
            secret.replace('%', "")
        ))
        .await;
    assert_eq!(audit_text, 0, "no secret in the audit trail");
    t.stop().await;
}

async fn reusing_a_spent_refresh_token_revokes_the_family(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(32);
    let first = enrolled(&t, &mut wallet, 32, 1).await;
    let second = refreshed(&t, &wallet, &first).await;
    let (status, body) = wallet.refresh(&t.url, &first.refresh_token).await;
    assert_invalid_grant(status, &body, "already used");
    // The thief's or the owner's newer token dies with it, and so does the access token it
    // granted.
    let (status, body) = wallet.refresh(&t.url, &second.refresh_token).await;
    assert_invalid_grant(status, &body, "revoked");
    let nonce = wallet.nonce(&second.metadata).await;
    let key = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(6),
    );
    let (status, body) = wallet
        .credential_request(
            &second.metadata,
            &second.access_token,
            &json!({"credential_configuration_id": CONFIG,
                    "proofs": {"jwt": [proof(&key, &t.url, &nonce, now())]}}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        t.count("refresh_tokens WHERE state = 'revoked'").await,
        t.count("refresh_tokens").await
    );
    assert_eq!(t.count("audit WHERE event = 'refresh.refused'").await, 2);
    t.stop().await;
}

async fn a_revoked_citizen_cannot_refresh(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(33);
    let first = enrolled(&t, &mut wallet, 33, 1).await;
    // A refreshed access token obtained before the revocation stops working too.
    let pending = refreshed(&t, &wallet, &first).await;
    admin(
        &t,
        "/admin/citizens/revoke",
        &json!({"id_number": id_number(33)}),
    )
    .await;
    let (status, body) = wallet.refresh(&t.url, &pending.refresh_token).await;
    assert_invalid_grant(status, &body, "revoked");
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 0);
    let before = t.count("credentials").await;
    let nonce = wallet.nonce(&pending.metadata).await;
    let key = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7),
    );
    let (status, _) = wallet
        .credential_request(
            &pending.metadata,
            &pending.access_token,
            &json!({"credential_configuration_id": CONFIG,
                    "proofs": {"jwt": [proof(&key, &t.url, &nonce, now())]}}),
        )
        .await;
    assert!(status == 400 || status == 401);
    assert_eq!(t.count("credentials").await, before);
    t.stop().await;
}

async fn a_suspended_citizen_cannot_refresh_until_reinstated(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(34);
    let first = enrolled(&t, &mut wallet, 34, 1).await;
    admin(
        &t,
        "/admin/citizens/suspend",
        &json!({"id_number": id_number(34)}),
    )
    .await;
    let (status, body) = wallet.refresh(&t.url, &first.refresh_token).await;
    assert_invalid_grant(status, &body, "suspended");
    admin(
        &t,
        "/admin/citizens/reinstate",
        &json!({"id_number": id_number(34)}),
    )
    .await;
    refreshed(&t, &wallet, &first).await;
    t.stop().await;
}

async fn an_expired_refresh_token_is_refused(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_token_ttl = 0)
        .await
        .unwrap();
    let mut wallet = Wallet::new(35);
    let first = enrolled(&t, &mut wallet, 35, 1).await;
    let (status, body) = wallet.refresh(&t.url, &first.refresh_token).await;
    assert_invalid_grant(status, &body, "expired");
    t.stop().await;
}

async fn unknown_forged_and_missing_refresh_tokens_are_refused(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(36);
    let first = enrolled(&t, &mut wallet, 36, 1).await;
    let (id, _) = first.refresh_token.split_once('.').unwrap();
    // Right id, wrong secret: unknown, and the real token still works.
    let forged = format!("{id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let (status, body) = wallet.refresh(&t.url, &forged).await;
    assert_invalid_grant(status, &body, "unknown");
    let (status, body) = wallet.refresh(&t.url, "not a token").await;
    assert_invalid_grant(status, &body, "unknown");
    // An access token is not a refresh token.
    let (status, body) = wallet.refresh(&t.url, &first.access_token).await;
    assert_invalid_grant(status, &body, "unknown");
    let r = t
        .http
        .post(format!("{}/token", t.url))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request");
    refreshed(&t, &wallet, &first).await;
    t.stop().await;
}

crate::on_both_backends!(
    refresh_issues_a_fresh_batch_with_new_indexes_in_the_same_lineage,
    reusing_a_spent_refresh_token_revokes_the_family,
    a_revoked_citizen_cannot_refresh,
    a_suspended_citizen_cannot_refresh_until_reinstated,
    an_expired_refresh_token_is_refused,
    unknown_forged_and_missing_refresh_tokens_are_refused,
);
