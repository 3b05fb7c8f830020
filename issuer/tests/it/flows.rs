//! Complete flows over HTTP against the real server on 127.0.0.1:0.

use serde_json::{json, Value};

use credential::jose::{Alg, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::client::*;

async fn status_bits(http: &reqwest::Client, uri: &str, idx: u64) -> u8 {
    use std::io::Read as _;
    let r = http.get(uri).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/statuslist+jwt");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let token = r.text().await.unwrap();
    let jws = credential::jose::Jws::parse(&token).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("statuslist+jwt"));
    let payload: Value = serde_json::from_slice(jws.payload()).unwrap();
    assert!(payload["ttl"].as_i64().unwrap() > 0);
    assert!(payload["exp"].as_i64().unwrap() > now());
    assert_eq!(payload["sub"], uri);
    let lst = credential::b64::decode(payload["status_list"]["lst"].as_str().unwrap()).unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&lst[..])
        .read_to_end(&mut bytes)
        .unwrap();
    (bytes[(idx / 4) as usize] >> ((idx % 4) * 2)) & 0b11
}

async fn enrol_at_each_level_redeem_and_verify(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let meta: Value = t.get_json("/.well-known/openid-credential-issuer").await;
    assert_eq!(meta["credential_issuer"], t.url.as_str());
    assert_eq!(
        meta["credential_configurations_supported"]
            .as_object()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        meta["credential_configurations_supported"]["citizen_id_high_dc_sd_jwt"]["vct"],
        "urn:cn:citizen-id:high:1"
    );

    for (level, offer) in [
        ("high", t.enrol_high(&high_claims(1)).await),
        ("basic", t.enrol_basic(&basic_claims(2)).await),
    ] {
        let tx_code = offer["tx_code"].as_str().unwrap();
        assert_eq!(tx_code.len(), 6);
        let parsed = parse_offer_uri(offer["offer_uri"].as_str().unwrap());
        let tx = &parsed["grants"][PRE_AUTH]["tx_code"];
        assert_eq!(tx["length"], 6);
        assert_eq!(tx["input_mode"], "numeric");

        let mut wallet = Wallet::new(11);
        let redeemed = wallet
            .redeem(offer["offer_uri"].as_str().unwrap(), tx_code)
            .await;
        for format in ["dc_sd_jwt", "vc_sd_jwt"] {
            let config = format!("citizen_id_{level}_{format}");
            let (keys, creds) = wallet.credentials(&redeemed, &config, 2).await;
            assert_eq!(creds.len(), 2);
            let mut entries = Vec::new();
            for (key, cred) in keys.iter().zip(&creds) {
                let (payload, disclosed) = verify_sd_jwt(&t.http, &t.url, cred).await;
                let iss = if format == "dc_sd_jwt" {
                    &payload["iss"]
                } else {
                    &payload["issuer"]
                };
                assert_eq!(iss, t.url.as_str());
                assert_eq!(payload["cnf"]["jwk"], key.public_jwk().to_bare_value());
                assert_eq!(
                    disclosed["id_number"],
                    json!(id_number(if level == "high" { 1 } else { 2 }))
                );
                if format == "dc_sd_jwt" {
                    assert_eq!(payload["vct"], format!("urn:cn:citizen-id:{level}:1"));
                } else {
                    assert_eq!(payload["type"][2], format!("urn:cn:citizen-id:{level}:1"));
                }
                assert_eq!(disclosed.contains_key("portrait"), level == "high");
                // A relying party's verifier accepts it: trust from the published keys,
                // revocation state from the shard's status-list token.
                let claims: &[&str] = if level == "high" {
                    &["family_name", "given_name", "id_number", "address"]
                } else {
                    &["family_name", "given_name", "id_number"]
                };
                let verified = verify_with_verifier(&t.http, &t.url, cred, key, claims)
                    .await
                    .unwrap_or_else(|e| panic!("{level} {format}: {}: {e}", e.code()));
                assert_eq!(verified.issuer, t.url);
                assert_eq!(verified.level.map(|l| l.as_str()), Some(level));
                assert!(matches!(
                    verified.status,
                    verifier::StatusOutcome::Valid { .. }
                ));
                let expected_format = if format == "dc_sd_jwt" {
                    verifier::Format::DcSdJwt
                } else {
                    verifier::Format::VcSdJwt
                };
                assert_eq!(verified.format, expected_format);
                if format == "dc_sd_jwt" {
                    let s = &payload["status"]["status_list"];
                    entries.push((
                        s["uri"].as_str().unwrap().to_owned(),
                        s["idx"].as_u64().unwrap(),
                    ));
                } else {
                    // The W3C form names Bitstring Status List entries beside the same index.
                    let s = &payload["credentialStatus"][0];
                    let uri = s["statusListCredential"]
                        .as_str()
                        .unwrap()
                        .trim_end_matches("/revocation");
                    entries.push((
                        uri.to_owned(),
                        s["statusListIndex"].as_str().unwrap().parse().unwrap(),
                    ));
                }
            }
            assert_ne!(entries[0], entries[1], "each copy has its own status index");
            for (uri, idx) in &entries {
                assert_eq!(status_bits(&t.http, uri, *idx).await, 0);
            }
        }
        // The same configuration is issued once per access token.
        let nonce = wallet.nonce(&redeemed.metadata).await;
        let k = SigningKey::generate(Alg::EdDsa, &mut ChaCha20Rng::seed_from_u64(3));
        let (status, body) = wallet
            .credential_request(
                &redeemed.metadata,
                &redeemed.access_token,
                &json!({"credential_configuration_id": format!("citizen_id_{level}_dc_sd_jwt"),
                        "proofs": {"jwt": [proof(&k, &t.url, &nonce, now())]}}),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("credential_request_denied"))
        );
    }
    t.stop().await;
}

async fn revoking_one_copy_revokes_the_batch_and_status_lists_show_it(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let offer = t.enrol_high(&high_claims(3)).await;
    let mut wallet = Wallet::new(12);
    let redeemed = wallet.redeem_offer(&offer).await;
    let (_, creds) = wallet
        .credentials(&redeemed, "citizen_id_high_dc_sd_jwt", 3)
        .await;
    let mut entries = Vec::new();
    for c in &creds {
        let (payload, _) = verify_sd_jwt(&t.http, &t.url, c).await;
        let s = &payload["status"]["status_list"];
        entries.push((
            s["uri"].as_str().unwrap().to_owned(),
            s["idx"].as_u64().unwrap(),
        ));
    }
    let shard = entries[0].0.rsplit('/').next().unwrap().to_owned();
    // An officer may not revoke.
    let (status, _) = t
        .entry_action(&t.officer_token, &shard, entries[0].1, "suspend")
        .await;
    assert_eq!(status, 403);
    let (status, v) = t
        .entry_action(&t.admin_token, &shard, entries[0].1, "suspend")
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["changed"].as_array().unwrap().len(), 3);
    for (uri, idx) in &entries {
        assert_eq!(status_bits(&t.http, uri, *idx).await, 2);
    }
    t.citizen_ok("revoke", 3).await;
    for (uri, idx) in &entries {
        assert_eq!(status_bits(&t.http, uri, *idx).await, 1);
    }
    // Revocation is final.
    let (status, _) = t
        .entry_action(&t.admin_token, &shard, entries[1].1, "reinstate")
        .await;
    assert_eq!(status, 409);
    // Audit: one row per credential per change.
    assert!(t.count("audit WHERE event = 'status.revoke'").await == 3);
    t.stop().await;
}

/// Reads bit `idx` of a W3C Bitstring Status List credential served at `url` (MSB first),
/// after checking its signature with the issuer's published key.
async fn bitstring_bit(t: &TestIssuer, url: &str, purpose: &str, idx: u64) -> bool {
    use std::io::Read as _;
    let r = t.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vc+jwt");
    let jwt = r.text().await.unwrap();
    let jws = credential::jose::Jws::parse(&jwt).unwrap();
    assert_eq!(jws.header().typ.as_deref(), Some("vc+jwt"));
    let keys: Value = t.get_json("/.well-known/jwt-vc-issuer").await;
    let kid = jws.header().kid.clone().unwrap();
    let mut jwk = keys["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap()
        .clone();
    jwk.as_object_mut().unwrap().remove("use");
    jws.verify(&credential::jose::PublicJwk::from_value(&jwk).unwrap())
        .unwrap();
    let vc: Value = serde_json::from_slice(jws.payload()).unwrap();
    assert_eq!(
        vc["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(vc["id"], url);
    assert_eq!(vc["issuer"], t.url.as_str());
    let subject = &vc["credentialSubject"];
    assert_eq!(subject["type"], "BitstringStatusList");
    assert_eq!(subject["statusPurpose"], purpose);
    let encoded = subject["encodedList"].as_str().unwrap();
    let gz = credential::b64::decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut bits)
        .unwrap();
    assert!(bits.len() >= 16 * 1024, "at least 131,072 entries");
    bits[(idx / 8) as usize] & (0x80 >> (idx % 8)) != 0
}

async fn bitstring_status_lists_project_revocation_and_suspension(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    // Two citizens with a W3C credential each: one gets suspended, the other revoked.
    let mut entries = Vec::new();
    for serial in [20, 21] {
        let offer = t.enrol_high(&high_claims(serial)).await;
        let mut wallet = Wallet::new(u64::from(serial));
        let redeemed = wallet.redeem_offer(&offer).await;
        let (_, creds) = wallet
            .credentials(&redeemed, "citizen_id_high_vc_sd_jwt", 1)
            .await;
        let (payload, _) = verify_sd_jwt(&t.http, &t.url, &creds[0]).await;
        let status = payload["credentialStatus"].as_array().unwrap().clone();
        assert_eq!(status[0]["statusPurpose"], "revocation");
        assert_eq!(status[1]["statusPurpose"], "suspension");
        let idx: u64 = status[0]["statusListIndex"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        entries.push((
            idx,
            status[0]["statusListCredential"]
                .as_str()
                .unwrap()
                .to_owned(),
            status[1]["statusListCredential"]
                .as_str()
                .unwrap()
                .to_owned(),
        ));
    }
    for (idx, rev, sus) in &entries {
        assert!(!bitstring_bit(&t, rev, "revocation", *idx).await);
        assert!(!bitstring_bit(&t, sus, "suspension", *idx).await);
    }
    for (serial, action) in [(20, "suspend"), (21, "revoke")] {
        t.citizen_ok(action, serial).await;
    }
    let (suspended, revoked) = (&entries[0], &entries[1]);
    assert!(bitstring_bit(&t, &suspended.2, "suspension", suspended.0).await);
    assert!(!bitstring_bit(&t, &suspended.1, "revocation", suspended.0).await);
    assert!(bitstring_bit(&t, &revoked.1, "revocation", revoked.0).await);
    assert!(!bitstring_bit(&t, &revoked.2, "suspension", revoked.0).await);
    // The 2-bit token of the same shard agrees.
    let shard_uri = revoked.1.trim_end_matches("/revocation");
    assert_eq!(status_bits(&t.http, shard_uri, revoked.0).await, 1);
    assert_eq!(status_bits(&t.http, shard_uri, suspended.0).await, 2);
    // Unknown purposes and shards are 404.
    for path in ["/status/0/refresh", "/status/99/revocation"] {
        let r = t.http.get(format!("{}{path}", t.url)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    t.stop().await;
}

async fn concurrent_redemption_of_one_code_yields_exactly_one_token(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let offer = t.enrol_high(&high_claims(4)).await;
    let code = pre_authorized_code(&offer);
    let tx = offer["tx_code"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (url, code, tx) = (t.url.clone(), code.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            Wallet::new(i).token(&url, &code, &tx).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        if status == 200 {
            ok += 1;
        } else {
            assert_eq!(body["error"], "invalid_grant");
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(t.count("access_tokens").await, 1);
    t.stop().await;
}

async fn wrong_tx_code_attempts_exhaust_the_code(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let offer = t.enrol_high(&high_claims(5)).await;
    let code = &pre_authorized_code(&offer);
    let right = offer["tx_code"].as_str().unwrap();
    let wrong = wrong_tx_code(right);
    let w = Wallet::new(1);
    for _ in 0..5 {
        let (status, body) = w.token(&t.url, code, wrong).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    let (status, body) = w.token(&t.url, code, right).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the code is dead"
    );
    assert_eq!(t.count("access_tokens").await, 0);
    assert_eq!(t.count("audit WHERE event = 'offer.dead'").await, 1);
    // The offer is no longer served.
    assert_eq!(t.offer_status(&offer).await, 404);
    t.stop().await;
}

/// A credential request for `config` with the JWT `proofs` on grant `r`; status and body.
async fn jwt_request(
    wallet: &Wallet,
    r: &Redeemed,
    config: &str,
    proofs: Vec<String>,
) -> (u16, Value) {
    let body = json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}});
    wallet
        .credential_request(&r.metadata, &r.access_token, &body)
        .await
}

async fn c_nonce_and_proof_replay_are_rejected(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(5);
    let o1 = t.enrol_high(&high_claims(6)).await;
    let r1 = wallet.redeem_offer(&o1).await;
    let nonce = wallet.nonce(&r1.metadata).await;
    let key = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let p = proof(&key, &t.url, &nonce, now());
    let (s, _) = jwt_request(&wallet, &r1, "citizen_id_high_dc_sd_jwt", vec![p.clone()]).await;
    assert_eq!(s, 200);
    // Same nonce, a new proof: the c_nonce is used up.
    let p2 = proof(&key, &t.url, &nonce, now() + 1);
    let (s, b) = jwt_request(&wallet, &r1, "citizen_id_high_vc_sd_jwt", vec![p2]).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_nonce")));
    // The very same proof again (another offer, a fresh nonce issued meanwhile): replay.
    let o2 = t.enrol_high(&high_claims(7)).await;
    let r2 = wallet.redeem_offer(&o2).await;
    let (s, b) = jwt_request(&wallet, &r2, "citizen_id_high_dc_sd_jwt", vec![p]).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_nonce")));
    // Unknown nonce.
    let p3 = proof(&key, &t.url, "never-issued", now());
    let (s, b) = jwt_request(&wallet, &r2, "citizen_id_high_dc_sd_jwt", vec![p3]).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_nonce")));
    assert_eq!(t.count("credentials").await, 1);
    t.stop().await;
}

async fn proof_checks_each_have_their_error(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let mut wallet = Wallet::new(6);
    let o = t.enrol_high(&high_claims(8)).await;
    let r = wallet.redeem_offer(&o).await;
    let key = SigningKey::generate(Alg::Es256, &mut wallet.rng);
    let nonce = wallet.nonce(&r.metadata).await;
    let req = |proofs: Vec<String>| json!({"credential_configuration_id": "citizen_id_high_dc_sd_jwt", "proofs": {"jwt": proofs}});
    let cases = [
        proof(&key, "https://other.example", &nonce, now()),
        proof(&key, &t.url, &nonce, now() - 3600),
        {
            let mut h = serde_json::Map::new();
            h.insert("typ".into(), json!("JWT"));
            h.insert("jwk".into(), key.public_jwk().to_bare_value());
            credential::jose::sign_compact(
                h,
                json!({"aud": t.url, "iat": now(), "nonce": nonce})
                    .to_string()
                    .as_bytes(),
                &key,
            )
        },
        "not.a.jwt".to_owned(),
    ];
    for p in cases {
        let (s, b) = wallet
            .credential_request(&r.metadata, &r.access_token, &req(vec![p]))
            .await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_proof")),
            "{b}"
        );
    }
    // Same key twice in one batch.
    let p = proof(&key, &t.url, &nonce, now());
    let (s, b) = wallet
        .credential_request(&r.metadata, &r.access_token, &req(vec![p.clone(), p]))
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_proof")));
    // Too many proofs.
    let many: Vec<String> = (0..5)
        .map(|_| {
            proof(
                &SigningKey::generate(Alg::Es256, &mut wallet.rng),
                &t.url,
                &nonce,
                now(),
            )
        })
        .collect();
    let (s, b) = wallet
        .credential_request(&r.metadata, &r.access_token, &req(many))
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_credential_request"))
    );
    // None of these consumed the nonce or stored anything.
    assert_eq!(t.count("credentials").await, 0);
    assert_eq!(t.count("used_proofs").await, 0);
    let p = proof(&key, &t.url, &nonce, now());
    let (s, _) = wallet
        .credential_request(&r.metadata, &r.access_token, &req(vec![p]))
        .await;
    assert_eq!(s, 200);
    t.stop().await;
}

async fn basic_enrolment_rejects_bad_attestations_and_enrols_no_one(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let claims = basic_claims(9);
    let id = claims["id_number"].as_str().unwrap();
    let fresh_nonce = || async {
        let v: Value = t
            .http
            .post(format!("{}/enrol/nonce", t.url))
            .bearer_auth(&t.officer_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["nonce"].as_str().unwrap().to_owned()
    };
    let n = fresh_nonce().await;
    let stranger = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(99));
    let forged = {
        let mut h = serde_json::Map::new();
        h.insert("kid".into(), json!(t.platform.kid()));
        credential::jose::sign_compact(h, json!({"id_number_sha256": "x", "score": 1.0, "liveness": true, "iat": now(), "nonce": n}).to_string().as_bytes(), &stranger)
    };
    let cases = [
        t.attestation(id, &n, 0.5, now()),              // score too low
        t.attestation(id, &n, 0.99, now() - 3600),      // stale
        t.attestation(&id_number(10), &n, 0.99, now()), // another person
        t.attestation(id, "never-issued", 0.99, now()), // unknown nonce
        forged,                                         // wrong signer
    ];
    for att in cases {
        let (status, b) = t
            .post_as_officer(
                "/enrol/basic",
                &json!({"claims": claims, "attestation": att}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(b["error"], "invalid_attestation", "{b}");
    }
    assert_eq!(t.count("enrolments").await, 0);
    // The nonce is still good, and single use.
    let att = t.attestation(id, &n, 0.99, now());
    let ok = |att: String| {
        t.http
            .post(format!("{}/enrol/basic", t.url))
            .bearer_auth(&t.officer_token)
            .json(&json!({"claims": claims, "attestation": att}))
            .send()
    };
    assert_eq!(ok(att.clone()).await.unwrap().status(), 201);
    assert_eq!(ok(att).await.unwrap().status(), 400);
    assert_eq!(t.count("enrolments").await, 1);
    t.stop().await;
}

crate::on_both_backends!(
    enrol_at_each_level_redeem_and_verify,
    revoking_one_copy_revokes_the_batch_and_status_lists_show_it,
    bitstring_status_lists_project_revocation_and_suspension,
    concurrent_redemption_of_one_code_yields_exactly_one_token,
    wrong_tx_code_attempts_exhaust_the_code,
    c_nonce_and_proof_replay_are_rejected,
    proof_checks_each_have_their_error,
    basic_enrolment_rejects_bad_attestations_and_enrols_no_one,
);
