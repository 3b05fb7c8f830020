//! The refresh grant (RFC 6749 section 6): a fresh batch after every copy was shown, and each
//! way a refresh token is refused.

use serde_json::{json, Value};

use crate::client::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";

/// Enrols citizen `serial` at high, redeems the offer and takes `n` copies.
async fn enrolled(t: &TestIssuer, wallet: &mut Wallet, serial: u32, n: usize) -> Redeemed {
    let offer = t.enrol_high(&high_claims(serial)).await;
    let redeemed = wallet.redeem_offer(&offer).await;
    wallet.credentials(&redeemed, CONFIG, n).await;
    redeemed
}

/// An issuer on `backend` and the wallet of citizen `serial` holding one copy; its grant.
async fn family(backend: Backend, serial: u32) -> (TestIssuer, Wallet, Redeemed) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(serial.into());
    let first = enrolled(&t, &mut wallet, serial, 1).await;
    (t, wallet, first)
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
    assert_refused((status, body), 400, "invalid_grant", reason);
}

async fn admin(t: &TestIssuer, path: &str, body: &Value) {
    let (status, _) = t.post_as_admin(path, body).await;
    assert_eq!(status, 200);
}

async fn refresh_issues_a_fresh_batch_with_new_indexes_in_the_same_lineage(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let meta: Value = t.get_json("/.well-known/oauth-authorization-server").await;
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
    // Without the grace window even an immediate retry is reuse.
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_reuse_grace = 0)
        .await
        .unwrap();
    let mut wallet = Wallet::new(32);
    let first = enrolled(&t, &mut wallet, 32, 1).await;
    let second = refreshed(&t, &wallet, &first).await;
    refresh_refused(&t, &wallet, &first.refresh_token, "already used").await;
    // The thief's or the owner's newer token dies with it, and so does the access token it
    // granted.
    refresh_refused(&t, &wallet, &second.refresh_token, "revoked").await;
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
    let (t, wallet, first) = family(backend, 33).await;
    // A refreshed access token obtained before the revocation stops working too.
    let pending = refreshed(&t, &wallet, &first).await;
    admin(
        &t,
        "/admin/citizens/revoke",
        &json!({"id_number": id_number(33)}),
    )
    .await;
    refresh_refused(&t, &wallet, &pending.refresh_token, "revoked").await;
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
    let (t, wallet, first) = family(backend, 34).await;
    admin(
        &t,
        "/admin/citizens/suspend",
        &json!({"id_number": id_number(34)}),
    )
    .await;
    refresh_refused(&t, &wallet, &first.refresh_token, "suspended").await;
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
    refresh_refused(&t, &wallet, &first.refresh_token, "expired").await;
    t.stop().await;
}

async fn unknown_forged_and_missing_refresh_tokens_are_refused(backend: Backend) {
    let (t, wallet, first) = family(backend, 36).await;
    let (id, _) = first.refresh_token.split_once('.').unwrap();
    // Right id, wrong secret: unknown, and the real token still works.
    let forged = format!("{id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    refresh_refused(&t, &wallet, &forged, "unknown").await;
    refresh_refused(&t, &wallet, "not a token", "unknown").await;
    // An access token is not a refresh token.
    refresh_refused(&t, &wallet, &first.access_token, "unknown").await;
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

/// A one-copy batch request with a fresh key and nonce; returns status and body.
async fn one_copy(t: &TestIssuer, wallet: &Wallet, grant: &Redeemed, seed: u64) -> (u16, Value) {
    let nonce = wallet.nonce(&grant.metadata).await;
    let key = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(seed),
    );
    wallet
        .credential_request(
            &grant.metadata,
            &grant.access_token,
            &json!({"credential_configuration_id": CONFIG,
                    "proofs": {"jwt": [proof(&key, &t.url, &nonce, now())]}}),
        )
        .await
}

/// Presenting `token` is refused with `invalid_grant` naming `reason`.
async fn refresh_refused(t: &TestIssuer, wallet: &Wallet, token: &str, reason: &str) {
    let (status, body) = wallet.refresh(&t.url, token).await;
    assert_invalid_grant(status, &body, reason);
}

/// Presenting the spent token is refused (`reason`) and revokes the whole family, so its live
/// `successor` is refused as revoked.
async fn reuse_revokes_the_family(
    t: &TestIssuer,
    wallet: &Wallet,
    spent: &Redeemed,
    reason: &str,
    successor: &Redeemed,
) {
    refresh_refused(t, wallet, &spent.refresh_token, reason).await;
    family_fully_revoked(t).await;
    refresh_refused(t, wallet, &successor.refresh_token, "revoked").await;
}

async fn family_fully_revoked(t: &TestIssuer) {
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 0);
    assert_eq!(
        t.count("refreshed_access_tokens WHERE expires_at > 0")
            .await,
        0
    );
}

async fn a_retry_within_the_grace_window_gets_a_fresh_successor(backend: Backend) {
    let (t, wallet, first) = family(backend, 37).await;
    // The answer to this refresh is lost on the way to the wallet.
    let lost = refreshed(&t, &wallet, &first).await;
    // The wallet retries with the token it still holds.
    let retry = refreshed(&t, &wallet, &first).await;
    assert_ne!(retry.refresh_token, lost.refresh_token);
    assert_ne!(retry.access_token, lost.access_token);
    // One live successor: the lost answer's pair is invalidated.
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 1);
    assert_eq!(
        t.count("refresh_tokens WHERE superseded_at IS NOT NULL")
            .await,
        1
    );
    let (status, body) = one_copy(&t, &wallet, &lost, 11).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    // The retry's access token gives the one batch of this refresh, once.
    let before = t.count("credentials").await;
    let (status, body) = one_copy(&t, &wallet, &retry, 12).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.count("credentials").await, before + 1);
    let (status, body) = one_copy(&t, &wallet, &retry, 13).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "credential_request_denied");
    // Audited, without the secret; the chain goes on from the retry's token.
    assert_eq!(t.count("audit WHERE event = 'refresh.grace'").await, 1);
    let secret = first.refresh_token.split_once('.').unwrap().1.to_owned();
    assert_eq!(
        t.count(&format!(
            "audit WHERE detail LIKE '%{}%'",
            secret.replace('%', "")
        ))
        .await,
        0
    );
    let next = refreshed(&t, &wallet, &retry).await;
    // Once the retry's successor is used, the first token is plain reuse again.
    reuse_revokes_the_family(&t, &wallet, &first, "already used", &next).await;
    t.stop().await;
}

async fn the_superseded_successor_presented_later_revokes_the_family(backend: Backend) {
    let (t, wallet, first) = family(backend, 38).await;
    // Whoever got the first answer was not the one who retried: two parties hold the family.
    let got_first = refreshed(&t, &wallet, &first).await;
    let retried = refreshed(&t, &wallet, &first).await;
    reuse_revokes_the_family(&t, &wallet, &got_first, "superseded", &retried).await;
    t.stop().await;
}

async fn reuse_after_the_successor_was_used_revokes_the_family(backend: Backend) {
    let (t, wallet, first) = family(backend, 39).await;
    let second = refreshed(&t, &wallet, &first).await;
    let third = refreshed(&t, &wallet, &second).await;
    // Within the window, but the successor was used: reuse.
    reuse_revokes_the_family(&t, &wallet, &first, "already used", &third).await;
    assert_eq!(t.count("audit WHERE event = 'refresh.grace'").await, 0);
    t.stop().await;
}

async fn a_retry_after_the_first_answer_issued_a_batch_gets_no_second_batch(backend: Backend) {
    let (t, wallet, first) = family(backend, 40).await;
    let second = refreshed(&t, &wallet, &first).await;
    let (status, body) = one_copy(&t, &wallet, &second, 21).await;
    assert_eq!(status, 200, "{body}");
    let before = t.count("credentials").await;
    // The first answer was not lost (its batch was taken): the retry is reuse, and a second
    // access token that could take a second batch is never minted.
    refresh_refused(&t, &wallet, &first.refresh_token, "already used").await;
    family_fully_revoked(&t).await;
    assert_eq!(t.count("refreshed_access_tokens").await, 1);
    assert_eq!(t.count("credentials").await, before);
    t.stop().await;
}

async fn a_retry_racing_the_first_answers_batch_yields_one_batch(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(41);
    for serial in [41, 141, 241, 341] {
        let first = enrolled(&t, &mut wallet, serial, 1).await;
        let second = refreshed(&t, &wallet, &first).await;
        let before = t.count("credentials").await;
        // The first answer's batch and a retry race (row locks on PostgreSQL, the writer on
        // SQLite): exactly one of them wins, and the refresh yields one batch in the end.
        let (batch, retry) = tokio::join!(
            one_copy(&t, &wallet, &second, u64::from(serial)),
            wallet.refresh(&t.url, &first.refresh_token)
        );
        match (batch.0, retry.0) {
            (200, 400) => {
                assert_invalid_grant(retry.0, &retry.1, "already used");
                refresh_refused(&t, &wallet, &second.refresh_token, "revoked").await;
            }
            (401, 200) => {
                assert_eq!(t.count("credentials").await, before);
                let retried = Redeemed {
                    access_token: retry.1["access_token"].as_str().unwrap().to_owned(),
                    refresh_token: retry.1["refresh_token"].as_str().unwrap().to_owned(),
                    metadata: second.metadata.clone(),
                };
                let (status, body) =
                    one_copy(&t, &wallet, &retried, 1000 + u64::from(serial)).await;
                assert_eq!(status, 200, "{body}");
            }
            other => panic!("both or neither won: {other:?} {} {}", batch.1, retry.1),
        }
        assert_eq!(t.count("credentials").await, before + 1);
    }
    t.stop().await;
}

async fn reuse_outside_the_window_revokes_the_family(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_reuse_grace = 1)
        .await
        .unwrap();
    let mut wallet = Wallet::new(42);
    let first = enrolled(&t, &mut wallet, 42, 1).await;
    let second = refreshed(&t, &wallet, &first).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    reuse_revokes_the_family(&t, &wallet, &first, "already used", &second).await;
    t.stop().await;
}

async fn concurrent_retries_leave_exactly_one_live_successor(backend: Backend) {
    let (t, wallet, first) = family(backend, 43).await;
    let lost = refreshed(&t, &wallet, &first).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let http = t.http.clone();
        let url = format!("{}/token", t.url);
        let token = first.refresh_token.clone();
        tasks.spawn(async move {
            let r = http
                .post(url)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        answers.push(Redeemed {
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
            metadata: lost.metadata.clone(),
        });
    }
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 1);
    assert_eq!(t.count("audit WHERE event = 'refresh.grace'").await, 6);
    // Exactly one access token of all those answers (and the lost one) still takes a batch.
    let before = t.count("credentials").await;
    let mut live = Vec::new();
    for (i, grant) in answers.iter().chain([&lost]).enumerate() {
        let (status, body) = one_copy(&t, &wallet, grant, 50 + i as u64).await;
        match status {
            200 => live.push(i),
            401 => assert_eq!(body["error"], "invalid_token"),
            _ => panic!("{status} {body}"),
        }
    }
    assert_eq!(live.len(), 1);
    assert_eq!(t.count("credentials").await, before + 1);
    // Its refresh token is the live successor.
    refreshed(&t, &wallet, &answers[live[0]]).await;
    t.stop().await;
}

fn assert_slow_down(status: u16, body: &Value) {
    assert_refused((status, body), 400, "slow_down", "refresh rate limit");
}

async fn a_refresh_sooner_than_the_minimum_interval_is_refused_and_the_token_kept(
    backend: Backend,
) {
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_min_interval = 2)
        .await
        .unwrap();
    let mut wallet = Wallet::new(81);
    let first = enrolled(&t, &mut wallet, 81, 1).await;
    // The first refresh after the token request is not limited.
    let second = refreshed(&t, &wallet, &first).await;
    let (status, body) = wallet.refresh(&t.url, &second.refresh_token).await;
    assert_slow_down(status, &body);
    // Refused without spending or revoking anything, and audited.
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 1);
    assert_eq!(t.count("refresh_tokens WHERE state = 'revoked'").await, 0);
    assert_eq!(t.count("refreshed_access_tokens").await, 1);
    assert_eq!(
        t.count("audit WHERE event = 'refresh.refused' AND detail LIKE '%refresh rate limit%'")
            .await,
        1
    );
    // Asking again too soon is not reuse either.
    let (status, body) = wallet.refresh(&t.url, &second.refresh_token).await;
    assert_slow_down(status, &body);
    // After the interval the same token works.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let third = refreshed(&t, &wallet, &second).await;
    let (status, body) = one_copy(&t, &wallet, &third, 21).await;
    assert_eq!(status, 200, "{body}");
    t.stop().await;
}

async fn the_rate_limit_answers_the_retry_of_a_lost_refresh(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_min_interval = 3600)
        .await
        .unwrap();
    let mut wallet = Wallet::new(82);
    let first = enrolled(&t, &mut wallet, 82, 1).await;
    let lost = refreshed(&t, &wallet, &first).await;
    // A retry within the grace window is not a new refresh: answered.
    let retry = refreshed(&t, &wallet, &first).await;
    assert_ne!(retry.refresh_token, lost.refresh_token);
    assert_eq!(t.count("audit WHERE event = 'refresh.grace'").await, 1);
    let (status, body) = one_copy(&t, &wallet, &retry, 22).await;
    assert_eq!(status, 200, "{body}");
    // Its successor's use is a new refresh, and too soon.
    let (status, body) = wallet.refresh(&t.url, &retry.refresh_token).await;
    assert_slow_down(status, &body);
    assert_eq!(t.count("refresh_tokens WHERE state = 'active'").await, 1);
    t.stop().await;
}

crate::on_both_backends!(
    a_refresh_sooner_than_the_minimum_interval_is_refused_and_the_token_kept,
    the_rate_limit_answers_the_retry_of_a_lost_refresh,
    refresh_issues_a_fresh_batch_with_new_indexes_in_the_same_lineage,
    reusing_a_spent_refresh_token_revokes_the_family,
    a_retry_within_the_grace_window_gets_a_fresh_successor,
    the_superseded_successor_presented_later_revokes_the_family,
    reuse_after_the_successor_was_used_revokes_the_family,
    a_retry_after_the_first_answer_issued_a_batch_gets_no_second_batch,
    a_retry_racing_the_first_answers_batch_yields_one_batch,
    reuse_outside_the_window_revokes_the_family,
    concurrent_retries_leave_exactly_one_live_successor,
    a_revoked_citizen_cannot_refresh,
    a_suspended_citizen_cannot_refresh_until_reinstated,
    an_expired_refresh_token_is_refused,
    unknown_forged_and_missing_refresh_tokens_are_refused,
);
