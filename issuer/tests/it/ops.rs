//! Operations: the housekeeping sweep, the audit commands, and a corrupt officer role, on both
//! backends (the audit listing's filters are in the storage conformance suite).

use credential::citizen::Level;
use credential::jose::{Alg, SigningKey};
use serde_json::json;

use issuer::domain::audit::{AuditEvent, AuditFilter};
use issuer::domain::refusal::Refusal;
use issuer::secret::SecretDigest;
use issuer::service::delta::DELTA_MAX_BASE_AGE;
use issuer::service::sweep::SWEEP_GRACE;
use issuer::store::DbError;
use issuer::IssuerError;

use crate::client::*;

const CONFIG: &str = "citizen_id_high_dc_sd_jwt";
const SWEEP_EVENT: &str = AuditEvent::HousekeepingSweep.as_str();

fn digest(n: u8) -> SecretDigest {
    SecretDigest([n; 32])
}

/// Stores a `c_nonce` (the digest of `n`) that has just expired.
async fn expired_c_nonce(t: &TestIssuer, n: u8) {
    let store = &t.issuer.store;
    store.insert_c_nonce(digest(n), now() - 1).await.unwrap();
}

fn request(proof: String) -> serde_json::Value {
    json!({"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}})
}

/// The same for the other configuration the high offer covers.
fn request_vc(proof: String) -> serde_json::Value {
    json!({"credential_configuration_id": "citizen_id_high_vc_sd_jwt", "proofs": {"jwt": [proof]}})
}

async fn sweep_deletes_what_expired_and_keeps_what_lives(backend: Backend) {
    // Chunks of 2 rows: every step below runs several chunks.
    let t = TestIssuer::start_on_with(backend, |c| c.sweep_chunk = 2)
        .await
        .unwrap();
    let store = &t.issuer.store;
    let t0 = now();
    for n in 0..5 {
        store.insert_c_nonce(digest(n), t0 - 10).await.unwrap();
        store
            .insert_attestation_nonce(digest(n), t0 - 10)
            .await
            .unwrap();
    }
    store.insert_c_nonce(digest(100), t0 + 300).await.unwrap();
    store
        .insert_attestation_nonce(digest(100), t0 + 300)
        .await
        .unwrap();

    // One complete issuance (offer, access token, issuance row, proof, refresh family), then
    // a refresh (a refreshed access token and a second token in the family).
    let mut wallet = Wallet::new(61);
    let offer = t.enrol_high(&high_claims(61)).await;
    let redeemed = wallet.redeem_offer(&offer).await;
    let nonce = wallet.nonce(&redeemed.metadata).await;
    let key = credential::jose::SigningKey::generate(credential::jose::Alg::Es256, &mut wallet.rng);
    let used = proof(&key, &t.url, &nonce, now());
    let (s, _) = wallet
        .credential_request(
            &redeemed.metadata,
            &redeemed.access_token,
            &request(used.clone()),
        )
        .await;
    assert_eq!(s, 200);
    let (s, body) = wallet.refresh(&t.url, &redeemed.refresh_token).await;
    assert_eq!(s, 200, "{body}");
    let refreshed_access = body["access_token"].as_str().unwrap().to_owned();
    // A live c_nonce, not yet used, must survive the sweep and then work once.
    let live_nonce = wallet.nonce(&redeemed.metadata).await;
    let c_nonces_before = t.count("c_nonces").await;

    let report = t.issuer.sweep_at("test", now()).await.unwrap().unwrap();
    assert_eq!(report.count("c_nonces"), 5);
    assert_eq!(report.count("attestation_nonces"), 5);
    assert_eq!(report.count("used_proofs"), 0);
    assert_eq!(report.count("offers"), 0);
    assert_eq!(t.count("c_nonces").await, c_nonces_before - 5);
    assert_eq!(t.count("attestation_nonces").await, 1);
    assert_eq!(t.count("used_proofs").await, 1);
    assert_eq!(t.count("offers").await, 1);
    assert_eq!(t.count("access_tokens").await, 1);
    assert_eq!(t.count("refresh_tokens").await, 2);
    assert_eq!(t.count("refreshed_access_tokens").await, 1);

    // The swept store still refuses the used nonce and proof while the proof is fresh.
    let (s, b) = wallet
        .credential_request(
            &redeemed.metadata,
            &redeemed.access_token,
            &request_vc(used),
        )
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_nonce")));
    // The live nonce works once, then is used up (each copy with its own holder key).
    let key2 =
        credential::jose::SigningKey::generate(credential::jose::Alg::Es256, &mut wallet.rng);
    let (s, b) = wallet
        .credential_request(
            &redeemed.metadata,
            &redeemed.access_token,
            &request_vc(proof(&key2, &t.url, &live_nonce, now())),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let key3 =
        credential::jose::SigningKey::generate(credential::jose::Alg::Es256, &mut wallet.rng);
    let again = proof(&key3, &t.url, &live_nonce, now() + 1);
    let (s, b) = wallet
        .credential_request(&redeemed.metadata, &refreshed_access, &request(again))
        .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_nonce")));
    assert_eq!(t.count("used_proofs").await, 2);

    // Past the proofs' expiry (now + proof_max_age + 120), their replay rows go.
    let later = now() + t.issuer.config.proof_max_age + 121;
    let report = t.issuer.sweep_at("test", later).await.unwrap().unwrap();
    assert_eq!(report.count("used_proofs"), 2);
    assert_eq!(t.count("offers").await, 1);

    // Past the offer's expiry: offer, access tokens and their issuance rows go; the refresh
    // family (90 days) and the enrolment's credentials stay.
    let week = now() + t.issuer.config.offer_ttl + SWEEP_GRACE + 1;
    let report = t.issuer.sweep_at("test", week).await.unwrap().unwrap();
    assert_eq!(report.count("offers"), 1);
    assert_eq!(report.count("access_tokens"), 1);
    assert_eq!(report.count("token_issuances"), 2);
    assert_eq!(report.count("refreshed_access_tokens"), 1);
    assert_eq!(report.count("refreshed_issuances"), 0);
    assert_eq!(report.count("refresh_tokens"), 0);
    for table in [
        "offers",
        "access_tokens",
        "token_issuances",
        "refreshed_access_tokens",
        "c_nonces",
        "attestation_nonces",
    ] {
        assert_eq!(t.count(table).await, 0, "{table}");
    }
    assert_eq!(t.count("refresh_tokens").await, 2);
    assert_eq!(t.count("credentials").await, 2);
    assert_eq!(t.count("enrolments WHERE id <> 'simulated'").await, 1);

    // Past the family's life, the whole family goes.
    let family_end = now() + t.issuer.config.refresh_token_ttl + SWEEP_GRACE + 1;
    let report = t
        .issuer
        .sweep_at("test", family_end)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.count("refresh_tokens"), 2);
    assert_eq!(t.count("refresh_tokens").await, 0);
    assert_eq!(t.count("credentials").await, 2);

    // One audit event per sweep, with its counts.
    assert_eq!(
        t.count(&format!("audit WHERE event = '{SWEEP_EVENT}'"))
            .await,
        4
    );
    let events = store
        .audit_list(AuditFilter {
            event_prefix: Some(SWEEP_EVENT.into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(events[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(first["c_nonces"], 5);
    assert_eq!(first["status_changes"], 0);
    assert_eq!(events[0].actor, "test");
    t.stop().await;
}

async fn a_family_with_a_live_token_keeps_its_used_tokens(backend: Backend) {
    // No reuse grace window: an immediate reuse is reuse, not a lost answer retried.
    let t = TestIssuer::start_on_with(backend, |c| c.refresh_reuse_grace = 0)
        .await
        .unwrap();
    let wallet = Wallet::new(62);
    let offer = t.enrol_high(&high_claims(62)).await;
    let redeemed = wallet.redeem_offer(&offer).await;
    let (s, body) = wallet.refresh(&t.url, &redeemed.refresh_token).await;
    assert_eq!(s, 200, "{body}");
    // The first token is used, the second active: nothing of the family goes, so presenting
    // the used one still revokes the family.
    let report = t.issuer.sweep_at("test", now()).await.unwrap().unwrap();
    assert_eq!(report.count("refresh_tokens"), 0);
    assert_eq!(t.count("refresh_tokens WHERE state = 'used'").await, 1);
    let (s, body) = wallet.refresh(&t.url, &redeemed.refresh_token).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    assert_eq!(t.count("refresh_tokens WHERE state = 'revoked'").await, 2);
    t.stop().await;
}

async fn pruned_status_changes_make_their_bases_unknown(backend: Backend) {
    let t = TestIssuer::start_on_with(backend, |c| c.sweep_chunk = 3)
        .await
        .unwrap();
    let revoked = t.issuer.simulate_credentials(40, 0.5).await.unwrap() as i64;
    assert!(revoked > 2);
    let latest = revoked;
    // Before pruning, every base in the log is served.
    t.issuer.trust_bundle_delta(0).await.unwrap();
    t.issuer.trust_bundle_delta(latest - 1).await.unwrap();

    // A sweep inside the window prunes nothing.
    let report = t.issuer.sweep_at("test", now()).await.unwrap().unwrap();
    assert_eq!(report.count("status_changes"), 0);

    // Past the window: every row but the newest goes.
    let later = now() + DELTA_MAX_BASE_AGE + 1;
    let report = t.issuer.sweep_at("test", later).await.unwrap().unwrap();
    assert_eq!(report.count("status_changes"), (revoked - 1) as u64);
    assert_eq!(t.count("status_changes").await, 1);
    assert_eq!(t.issuer.store.status_high_water().await.unwrap(), latest);

    // Bases whose changes were pruned: delta_base_unknown (fetch the full bundle).
    for since in [0, 1, latest - 1] {
        let err = t.issuer.trust_bundle_delta(since).await.unwrap_err();
        assert!(
            matches!(
                err,
                IssuerError::Refused(Refusal::DeltaBaseUnknown {
                    since: s,
                    reason: "no longer in the issuer's change log"
                }) if s == since
            ),
            "{since}: {err:?}"
        );
    }
    // The high-water mark itself is still a base: an empty delta.
    t.issuer.trust_bundle_delta(latest).await.unwrap();
    t.stop().await;
}

async fn one_sweep_at_a_time(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let held = t.issuer.store.sweep_lock().await.unwrap().unwrap();
    let other = t.issuer.sweep("test").await.unwrap();
    match backend {
        // Another replica (session) holds the lock: this one skips.
        Backend::Postgres => assert!(other.is_none()),
        // One process, one writer: nothing to exclude.
        Backend::Sqlite => assert!(other.is_some()),
    }
    drop(held);
    // The lock went with its session.
    let mut done = None;
    for _ in 0..50 {
        done = t.issuer.sweep("test").await.unwrap();
        if done.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(done.is_some());
    t.stop().await;
}

async fn a_pool_of_one_connection_sweeps(backend: Backend) {
    // The PostgreSQL sweep runs on its lock's session: it never waits for a second connection.
    let t = TestIssuer::start_on_with(backend, |c| c.database_pool = 1)
        .await
        .unwrap();
    expired_c_nonce(&t, 3).await;
    let report = t.issuer.sweep("test").await.unwrap().unwrap();
    assert_eq!(report.count("c_nonces"), 1);
    // The pool still serves requests afterwards.
    assert_eq!(t.count("c_nonces").await, 0);
    t.stop().await;
}

async fn the_server_sweeps_periodically(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    expired_c_nonce(&t, 4).await;
    let every = std::time::Duration::from_millis(100);
    let task = tokio::spawn(issuer::service::sweep::run_periodically(
        t.issuer.clone(),
        every,
    ));
    let event = format!("audit WHERE event = '{SWEEP_EVENT}' AND actor = 'system'");
    let mut swept = false;
    for _ in 0..100 {
        if t.count("c_nonces").await == 0 && t.count(&event).await >= 1 {
            swept = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    task.abort();
    assert!(swept);
    t.stop().await;
}

async fn an_unknown_officer_role_is_corruption(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    // Only a tampered database holds another role: the schema's CHECK refuses it otherwise.
    let tamper = "UPDATE officers SET role = 'auditor' WHERE name = 'officer'";
    match &t.issuer.config.database_url {
        None => {
            let db =
                rusqlite::Connection::open(t.issuer.config.data.join("issuer.sqlite3")).unwrap();
            db.execute_batch(&format!("PRAGMA ignore_check_constraints = ON; {tamper};"))
                .unwrap();
        }
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .unwrap();
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "ALTER TABLE officers DROP CONSTRAINT officers_role_check; {tamper};"
                ))
                .await
                .unwrap();
            drop(client);
            let _ = task.await;
        }
    }
    let err = t.issuer.list_officers().await.unwrap_err();
    assert!(
        matches!(
            err,
            IssuerError::Storage(DbError::Corrupt {
                what: "officer role"
            })
        ),
        "{err:?}"
    );
    t.stop().await;
}

/// Runs the real `issuer` binary on the test issuer's data directory (and database).
fn cli(t: &TestIssuer, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_issuer"));
    cmd.args(args).arg("--data").arg(&t.issuer.config.data);
    cmd.env_remove("ISSUER_DATABASE_URL")
        .env("USER", "ops-test");
    if let Some(url) = &t.issuer.config.database_url {
        cmd.env("ISSUER_DATABASE_URL", url.expose());
    }
    cmd.output().unwrap()
}

async fn a_status_change_to_the_state_a_credential_is_in_is_a_success(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let holder = SigningKey::generate(Alg::Es256, &mut rand_core::OsRng);
    let claims =
        credential::citizen::CitizenClaims::from_json(&basic_claims(5).to_string(), Level::Basic)
            .unwrap();
    let cred = t
        .issuer
        .issue_direct(&claims, Level::Basic, holder.public_jwk())
        .await
        .unwrap();
    let out = cli(&t, &["revoke", "--credential", &cred.id, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["changed"], json!([cred.id]));
    assert_eq!(first["status"], "revoked");
    assert_eq!(first["already"], false);
    // Again: done already, exit 0, said so, nothing changed or logged.
    let out = cli(&t, &["revoke", "--credential", &cred.id, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        again,
        json!({"changed": [], "status": "revoked", "already": true})
    );
    let out = cli(&t, &["revoke", "--credential", &cred.id]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "already revoked: nothing changed\n"
    );
    assert_eq!(t.count("audit WHERE event = 'status.revoke'").await, 1);
    // A change that cannot happen (revocation is final) still fails.
    let out = cli(&t, &["reinstate", "--credential", &cred.id, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("revoked"),
        "{out:?}"
    );
    t.stop().await;
}

async fn sweep_and_audit_commands(backend: Backend) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    expired_c_nonce(&t, 1).await;
    let out = cli(&t, &["sweep", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["c_nonces"], 1);
    assert_eq!(report["status_changes"], 0);

    let out = cli(&t, &["audit", "--event", "housekeeping.", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["event"], SWEEP_EVENT);
    assert_eq!(lines[0]["actor"], "cli:ops-test");

    // Text lines, newest last; --limit keeps the newest.
    let out = cli(&t, &["audit", "--actor", "test", "--limit", "2"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("  test  officer.added  "), "{text}");
    assert!(lines[1].contains("  test  platform.added  "), "{text}");

    // A time that does not parse is a usage error (exit 2), before anything is opened.
    let out = cli(&t, &["audit", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // So is a limit outside 1..=1000000.
    let out = cli(&t, &["audit", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    t.stop().await;
}

crate::on_both_backends!(
    a_status_change_to_the_state_a_credential_is_in_is_a_success,
    sweep_and_audit_commands,
    sweep_deletes_what_expired_and_keeps_what_lives,
    a_family_with_a_live_token_keeps_its_used_tokens,
    pruned_status_changes_make_their_bases_unknown,
    one_sweep_at_a_time,
    a_pool_of_one_connection_sweeps,
    the_server_sweeps_periodically,
    an_unknown_officer_role_is_corruption,
);

/// Runs `issuer keygen` with `args` (no data directory).
fn keygen(args: &[&str]) -> std::process::Output {
    testkit::cli::keygen(env!("CARGO_BIN_EXE_issuer"), args)
}

#[test]
fn keygen_checks_both_outputs_before_writing_anything() {
    let dir = testkit::cli::keygen_checks_both_outputs_before_writing_anything(
        env!("CARGO_BIN_EXE_issuer"),
        1,
    );
    let fresh = dir.path().join("fresh.jwk");
    // `es256` and `ES256` both name P-256.
    for (n, alg) in ["es256", "ES256"].iter().enumerate() {
        let key = dir.path().join(format!("p256-{n}.jwk"));
        let out = keygen(&["--alg", alg, "--out", key.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let jwk: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(jwk["crv"], "P-256");
    }
    // The old spelling is gone.
    let out = keygen(&["--key-alg", "ES256", "--out", fresh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
