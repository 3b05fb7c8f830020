//! Restart tests against the real binary: `kill -9` in the middle of a load loses no issued
//! credential's record, duplicates no status index and keeps revocations; SIGTERM shuts down
//! cleanly.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::client::*;

const BIN: &str = env!("CARGO_BIN_EXE_issuer");

struct Served {
    child: Child,
    url: String,
}

fn serve(dir: &std::path::Path) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = listening_url(&mut lines);
    let second = lines.next().unwrap().unwrap();
    assert_eq!(second, format!("issuer url: {url}"));
    assert!(lines
        .next()
        .unwrap()
        .unwrap()
        .starts_with("root key fingerprint: "));
    Served { child, url }
}

fn admin_token(dir: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args([
            "officers", "add", "--name", "admin", "--role", "admin", "--json", "--data",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

async fn enrol(http: &reqwest::Client, url: &str, token: &str, serial: u32) -> Value {
    let r = http
        .post(format!("{url}/enrol/high"))
        .bearer_auth(token)
        .json(&json!({"claims": high_claims(serial)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

#[tokio::test]
async fn kill_9_mid_load_loses_nothing_and_keeps_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token(dir.path());
    let mut s = serve(dir.path());
    let http = reqwest::Client::new();

    // One credential revoked before the crash.
    let offer = enrol(&http, &s.url, &token, 100).await;
    let mut wallet = Wallet::new(100);
    let r = wallet.redeem_offer(&offer).await;
    let (_, creds) = wallet.credentials(&r, "citizen_id_high_dc_sd_jwt", 2).await;
    let revoked: Vec<(i64, i64)> = creds.iter().map(|c| status_entry(c)).collect();
    let resp = http
        .post(format!(
            "{}/admin/status/{}/{}/revoke",
            s.url, revoked[0].0, revoked[0].1
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Load: clients redeem offers; kill -9 while requests are in flight.
    let mut offers = Vec::new();
    for i in 0..40 {
        offers.push(enrol(&http, &s.url, &token, 200 + i).await);
    }
    let offers = Arc::new(Mutex::new(offers));
    let received = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let mut tasks = Vec::new();
    for c in 0..4u64 {
        let (offers, received) = (offers.clone(), received.clone());
        tasks.push(tokio::spawn(async move {
            let mut wallet = Wallet::new(1000 + c);
            loop {
                let Some(offer) = offers.lock().await.pop() else { break };
                // Any step may fail once the server is gone; keep only what was answered.
                let Ok(got) = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    let offer_json = parse_offer_uri(offer["offer_uri"].as_str().unwrap());
                    let issuer = offer_json["credential_issuer"].as_str().unwrap().to_owned();
                    let code = offer_json["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap().to_owned();
                    let (status, body) = wallet.token(&issuer, &code, offer["tx_code"].as_str().unwrap()).await;
                    if status != 200 {
                        return None;
                    }
                    let metadata = json!({"credential_endpoint": format!("{issuer}/credential"), "nonce_endpoint": format!("{issuer}/nonce"), "credential_issuer": issuer});
                    let redeemed = Redeemed { access_token: body["access_token"].as_str().unwrap().to_owned(), refresh_token: body["refresh_token"].as_str().unwrap().to_owned(), metadata };
                    let (_, creds) = wallet.credentials(&redeemed, "citizen_id_high_dc_sd_jwt", 3).await;
                    Some(creds)
                })
                .await
                else {
                    break;
                };
                match got {
                    Some(creds) => received.lock().await.extend(creds.iter().map(|c| status_entry(c))),
                    None => break,
                }
            }
        }));
    }
    // Let some flows complete, then crash the service.
    for _ in 0..200 {
        if received.lock().await.len() >= 15 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    for t in tasks {
        // Tasks hit connection errors after the kill; a panic inside one is such an error.
        let _ = t.await;
    }
    let received = received.lock().await.clone();
    assert!(received.len() >= 15, "load ran before the kill");

    // Restart on the same data directory.
    let s2 = serve(dir.path());
    let db = rusqlite::Connection::open(dir.path().join("issuer.sqlite3")).unwrap();
    for (shard, idx) in received.iter().chain(&revoked) {
        let found = credential_column(&db, "COUNT(*)", *shard, *idx);
        assert_eq!(found, 1, "issued credential at {shard}:{idx} is recorded");
    }
    let dupes: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT status_shard, status_idx FROM credentials
             GROUP BY status_shard, status_idx HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dupes, 0);
    for (shard, idx) in &revoked {
        let status = credential_column(&db, "status", *shard, *idx);
        assert_eq!(status, 1, "revocation kept across the crash");
    }
    // The restarted service still serves and issues.
    let offer = enrol(&http, &s2.url, &token, 300).await;
    let mut wallet = Wallet::new(300);
    let r = wallet.redeem_offer(&offer).await;
    let (_, creds) = wallet.credentials(&r, "citizen_id_high_vc_sd_jwt", 1).await;
    assert_eq!(creds.len(), 1);

    // SIGTERM: graceful shutdown, exit 0.
    let mut child = s2.child;
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// A data directory from before migration 4 keeps its signing keys as private JWK files; they
/// still load beside the sealed ones, and an active legacy key stays the signer.
#[tokio::test]
async fn legacy_key_files_still_load_after_migration_4() {
    use rand_core::SeedableRng as _;
    let dir = tempfile::tempdir().unwrap();
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let issuer = issuer::Issuer::connect_with_rng(
        config(dir.path(), addr),
        rand_chacha::ChaCha20Rng::seed_from_u64(11),
    )
    .await
    .unwrap();
    let sealed_kid = issuer.keys.active().kid().to_owned();
    issuer.close();
    // Make a legacy key the active one, as an old data directory has it: a file, no sealed row.
    let legacy = credential::jose::SigningKey::generate(
        credential::jose::Alg::Es256,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(12),
    );
    let file = format!("credential-{}.jwk", legacy.kid());
    std::fs::write(
        dir.path().join("keys").join(&file),
        legacy.to_private_jwk().as_bytes(),
    )
    .unwrap();
    let db = rusqlite::Connection::open(dir.path().join("issuer.sqlite3")).unwrap();
    db.execute(
        "UPDATE signing_keys SET state = 'retired', not_after = 1 WHERE kid = ?1",
        [&sealed_kid],
    )
    .unwrap();
    db.execute(
        "INSERT INTO signing_keys (kid, alg, purpose, state, file, sealed_jwk, not_before)
         VALUES (?1, 'ES256', 'credential', 'active', ?2, NULL, 2)",
        [legacy.kid(), file.as_str()],
    )
    .unwrap();
    drop(db);
    let issuer = issuer::Issuer::connect_with_rng(
        config(dir.path(), addr),
        rand_chacha::ChaCha20Rng::seed_from_u64(13),
    )
    .await
    .unwrap();
    assert_eq!(issuer.keys.active().kid(), legacy.kid());
    let kids: Vec<String> = issuer.keys.records().into_iter().map(|r| r.kid).collect();
    assert!(kids.contains(&sealed_kid) && kids.contains(&legacy.kid().to_owned()));
    // Rotating from a legacy key stores the new one sealed, and it becomes the signer.
    let rec = issuer
        .rotate_key("test", credential::jose::Alg::Es256)
        .await
        .unwrap();
    assert_eq!(issuer.signer().await.unwrap().kid(), rec.kid);
    assert_eq!(
        issuer.store.schema_version().await.unwrap(),
        issuer::store::migrations::SCHEMA_VERSION
    );
    issuer.close();
}

/// `SELECT what FROM credentials` for the credential at status entry `(shard, idx)`.
fn credential_column(db: &rusqlite::Connection, what: &str, shard: i64, idx: i64) -> i64 {
    db.query_row(
        &format!("SELECT {what} FROM credentials WHERE status_shard = ?1 AND status_idx = ?2"),
        [shard, idx],
        |r| r.get(0),
    )
    .unwrap()
}
