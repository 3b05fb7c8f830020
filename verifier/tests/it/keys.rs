//! Retired and withdrawn signing keys, end to end against a real issuer on loopback and the
//! real `verifier` binary: a retired key cannot sign credentials that outlive its published
//! last credential expiry, nor credentials dated after its retirement; an emergency withdrawal
//! reaches the verifier first at the next sync and refuses what the key signed.

use std::path::{Path, PathBuf};

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, JwsSigner, SigningKey};
use credential::status_list::{Bits, StatusList, StatusListToken};
use issuer::domain::keys::KeyWithdrawal;
use issuer::service::trust::{sign_trust_bundle, BundleContents};
use issuer::service::withdraw::sign_key_withdrawals;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;

use crate::sync::{pin, present, run_in, start, stderr, sync, sync_ok, verify_in};
use testkit::{now, TestIssuer};

const CLAIMS: &str = include_str!("../../../examples/claims/citizen-basic.json");
const DAY: i64 = 86_400;

/// A credential signed with `key` for `holder`, as the issuer would make it but with the
/// times given (a forgery when `key` is retired or withdrawn).
fn signed_by(
    key: &(impl JwsSigner + ?Sized),
    iss: &str,
    holder: &SigningKey,
    issued_at: i64,
    expires_at: i64,
) -> String {
    let claims = CitizenClaims::from_json(CLAIMS, Level::Basic).unwrap();
    issue(
        &IssueRequest {
            claims: &claims,
            level: Level::Basic,
            format: Format::DcSdJwt,
            issuer: iss,
            holder: holder.public_jwk(),
            status: None,
            issued_at,
            expires_at,
        },
        key,
        &mut ChaCha20Rng::seed_from_u64(3),
    )
    .unwrap()
}

fn holder(seed: u64) -> SigningKey {
    SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(seed))
}

/// A credential for a fresh holder (`holder_seed`) signed by the active key (its kid), and a
/// hotel state in a new work directory that pinned `bureau` and synced once.
async fn issued_and_synced(
    bureau: &TestIssuer,
    holder_seed: u64,
) -> (
    tempfile::TempDir,
    PathBuf,
    SigningKey,
    issuer::service::simulate::DirectCredential,
    String,
) {
    let work = tempfile::tempdir().unwrap();
    let hotel = work.path().join("hotel");
    let alice = holder(holder_seed);
    let credential = bureau.credential(&alice).await;
    let kid = bureau.issuer.keys.active().kid().to_owned();
    pin(&hotel, &bureau.issuer, work.path());
    sync_ok(&hotel, &bureau.url);
    (work, hotel, alice, credential, kid)
}

/// Verifies `credential` (shown by `holder`) with the synced state in `state`, under a policy
/// that does not ask for a status reference (so only the key checks decide).
fn verify(
    state: &Path,
    work: &Path,
    name: &str,
    credential: &str,
    holder: &SigningKey,
    at: i64,
) -> std::process::Output {
    let policy = work.join("keys-only.toml");
    std::fs::write(
        &policy,
        "require_status = false\nmax_status_age_seconds = 31536000\n",
    )
    .unwrap();
    let p = present(work, name, credential, holder, "n-keys", at - 5);
    verify_in(
        state,
        &p,
        "n-keys",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--now",
            &at.to_string(),
        ],
    )
}

/// `credential`, verified after the sync, is refused: its key was withdrawn.
fn withdrawn_key_refused(state: &Path, work: &Path, credential: &str, holder: &SigningKey) {
    let o = verify(state, work, "after", credential, holder, now());
    refused_with(&o, "issuer_key_withdrawn");
}

fn refused_with(o: &std::process::Output, code: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(
        stderr(o).contains(&format!("rejected: {code}:")),
        "expected {code}: {}",
        stderr(o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_key_cannot_sign_past_its_last_credential_expiry_or_after_retirement() {
    let mut bureau = start(21).await;
    let work = tempfile::tempdir().unwrap();
    let hotel = work.path().join("hotel");
    let alice = holder(22);
    let honest = bureau.credential(&alice).await;
    let old = bureau.issuer.keys.active();
    bureau.issuer.rotate_key("test", Alg::Es256).await.unwrap();
    let retired = bureau
        .issuer
        .keys
        .records()
        .into_iter()
        .find(|r| r.kid == old.kid())
        .unwrap();
    let last = retired.last_credential_expiry.unwrap();
    let retired_at = retired.not_after.unwrap();
    pin(&hotel, &bureau.issuer, work.path());
    sync_ok(&hotel, &bureau.url);
    let t = now();

    // What the key signed before retirement still verifies.
    let o = verify(&hotel, work.path(), "honest", &honest.sd_jwt, &alice, t);
    assert!(o.status.success(), "{}", stderr(&o));

    // A forgery dated on the retirement day with a ten-year expiry.
    let day = retired_at - retired_at.rem_euclid(DAY);
    let bob = holder(23);
    let forged = signed_by(&old, bureau.issuer.url(), &bob, day, day + 3_650 * DAY);
    let o = verify(&hotel, work.path(), "forged", &forged, &bob, t);
    refused_with(&o, "credential_outlives_key");
    // Within the last expiry it is the key's own credential (it could have signed it).
    let within = signed_by(
        &old,
        bureau.issuer.url(),
        &bob,
        day,
        last - last.rem_euclid(DAY),
    );
    let o = verify(&hotel, work.path(), "within", &within, &bob, t);
    assert!(o.status.success(), "{}", stderr(&o));

    // Dated after the retirement day: outside the key's window.
    let carol = holder(24);
    let later = signed_by(
        &old,
        bureau.issuer.url(),
        &carol,
        day + 2 * DAY,
        day + 3 * DAY,
    );
    let o = verify(
        &hotel,
        work.path(),
        "later",
        &later,
        &carol,
        day + 2 * DAY + 3_600,
    );
    refused_with(&o, "issuer_key_not_valid");
    bureau.stop_server().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_key_is_refused_after_the_next_sync() {
    let mut bureau = start(25).await;
    let (work, hotel, alice, credential, kid) = issued_and_synced(&bureau, 26).await;
    let o = verify(
        &hotel,
        work.path(),
        "before",
        &credential.sd_jwt,
        &alice,
        now(),
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // The bureau withdraws the (active) key: a new key takes over at once.
    let w = bureau
        .issuer
        .withdraw_key("test", &kid, None)
        .await
        .unwrap();
    assert_eq!((w.kid.as_str(), w.since), (kid.as_str(), None));
    assert_ne!(bureau.issuer.keys.active().kid(), kid);
    // It leaves the online channels.
    let jwks = bureau.issuer.jwt_vc_issuer().to_string();
    assert!(!jwks.contains(&kid), "{jwks}");
    assert!(!bureau.issuer.did_document().to_string().contains(&kid));

    let o = run_in(&hotel, &["sync", &bureau.url, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["withdrawals"]["newly_withdrawn"], 1, "{report}");
    withdrawn_key_refused(&hotel, work.path(), &credential.sd_jwt, &alice);
    // `trust show` says so.
    let o = run_in(&hotel, &["trust", "show", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .cloned()
        .unwrap();
    assert_eq!(key["state"], "withdrawn", "{key}");

    // Syncing again stores nothing new: the notice file stays one line.
    for _ in 0..2 {
        sync_ok(&hotel, &bureau.url);
    }
    let stored = std::fs::read_to_string(hotel.join("withdrawals.jwt")).unwrap();
    assert_eq!(stored.lines().count(), 1, "{stored}");

    // A credential from the new key is accepted.
    let bob = holder(27);
    let fresh = bureau.credential(&bob).await;
    let o = verify(&hotel, work.path(), "fresh", &fresh.sd_jwt, &bob, now());
    assert!(o.status.success(), "{}", stderr(&o));
    bureau.stop_server().await;
}

/// A bureau whose bundle and notices are built here (real root, real keys, chosen times).
struct Offline {
    root: SigningKey,
    key: SigningKey,
    iss: &'static str,
}

impl Offline {
    fn new() -> Offline {
        let mut rng = ChaCha20Rng::seed_from_u64(30);
        Offline {
            root: SigningKey::generate(Alg::Es256, &mut rng),
            key: SigningKey::generate(Alg::Es256, &mut rng),
            iss: "https://bureau.example.cn",
        }
    }

    fn bundle(&self, issued_at: i64, key_state: serde_json::Value) -> String {
        let mut list = StatusList::new(Bits::Two, 1024).unwrap();
        list.set(0, 0).unwrap();
        let uri = format!("{}/status/0", self.iss);
        let token = StatusListToken {
            sub: uri.clone(),
            iat: issued_at,
            exp: Some(issued_at + 30 * DAY),
            ttl: None,
            iss: Some(self.iss.into()),
            status_list: list,
        }
        .sign(&self.key);
        let mut key = json!({"kid": self.key.kid(), "alg": "ES256", "not_before": issued_at - 400 * DAY,
            "not_after": null, "last_credential_expiry": null,
            "jwk": self.key.public_jwk().to_value()});
        for (k, v) in key_state.as_object().unwrap() {
            key[k] = v.clone();
        }
        sign_trust_bundle(
            &self.root,
            &BundleContents {
                iss: self.iss,
                issued_at,
                next_update: issued_at + 300,
                keys: &[key],
                status_lists: &[(0, uri, token)],
                status_seq: None,
            },
        )
    }

    /// A fresh work directory with a `hotel` state pinned to this bureau's root.
    fn pinned_hotel(&self) -> (tempfile::TempDir, PathBuf) {
        let work = tempfile::tempdir().unwrap();
        let hotel = work.path().join("hotel");
        self.pin(&hotel, work.path());
        (work, hotel)
    }

    fn pin(&self, state: &Path, work: &Path) {
        let root = work.join("offline-root.jwk");
        std::fs::write(&root, self.root.public_jwk().to_bare_value().to_string()).unwrap();
        let o = run_in(state, &["trust", "pin", root.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

fn import(state: &Path, work: &Path, name: &str, text: &str) -> std::process::Output {
    let file = work.join(name);
    std::fs::write(&file, text).unwrap();
    run_in(state, &["sync", "--file", file.to_str().unwrap()])
}

#[test]
fn a_withdrawal_since_a_day_keeps_what_the_key_signed_before_it() {
    let bureau = Offline::new();
    let (work, hotel) = bureau.pinned_hotel();
    let t = now() - now().rem_euclid(DAY);
    let o = import(
        &hotel,
        work.path(),
        "bundle.jwt",
        &bureau.bundle(t, json!({"state": "active"})),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (alice, bob) = (holder(31), holder(32));
    let before = signed_by(&bureau.key, bureau.iss, &alice, t - 10 * DAY, t + 10 * DAY);
    let after = signed_by(&bureau.key, bureau.iss, &bob, t - 2 * DAY, t + 10 * DAY);
    for (name, c, h) in [("b0", &before, &alice), ("a0", &after, &bob)] {
        let o = verify(&hotel, work.path(), name, c, h, now());
        assert!(o.status.success(), "{name}: {}", stderr(&o));
    }

    // The notice: withdrawn for credentials issued from five days ago on.
    let notice = sign_key_withdrawals(
        &bureau.root,
        bureau.iss,
        now(),
        &[KeyWithdrawal {
            kid: bureau.key.kid().to_owned(),
            since: Some(t - 5 * DAY),
            withdrawn_at: now(),
        }],
    );
    let o = import(&hotel, work.path(), "withdrawals.jwt", &notice);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verify(&hotel, work.path(), "b1", &before, &alice, now());
    assert!(o.status.success(), "signed before --since: {}", stderr(&o));
    let o = verify(&hotel, work.path(), "a1", &after, &bob, now());
    refused_with(&o, "issuer_key_withdrawn");

    // A later bundle built before the withdrawal reached it cannot bring the key back: stored
    // notices apply on top of every bundle.
    let o = import(
        &hotel,
        work.path(),
        "bundle2.jwt",
        &bureau.bundle(now(), json!({"state": "active"})),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verify(&hotel, work.path(), "a2", &after, &bob, now());
    refused_with(&o, "issuer_key_withdrawn");

    // A notice from another root is refused and changes nothing.
    let stranger = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(33));
    let forged = sign_key_withdrawals(&stranger, bureau.iss, now(), &[]);
    let o = import(&hotel, work.path(), "forged.jwt", &forged);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("withdrawals_wrong_root"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bundle_entry_withdrawing_a_key_is_honoured() {
    let bureau = Offline::new();
    let (work, hotel) = bureau.pinned_hotel();
    let t = now() - now().rem_euclid(DAY);
    let bundle = bureau.bundle(
        t,
        json!({"state": "withdrawn", "not_after": t, "last_credential_expiry": t + 30 * DAY,
               "withdrawn_since": null}),
    );
    let o = import(&hotel, work.path(), "bundle.jwt", &bundle);
    assert!(o.status.success(), "{}", stderr(&o));
    let alice = holder(34);
    let c = signed_by(&bureau.key, bureau.iss, &alice, t - 10 * DAY, t + 10 * DAY);
    let o = verify(&hotel, work.path(), "w", &c, &alice, now());
    refused_with(&o, "issuer_key_withdrawn");
}

/// A relay in front of the bureau (an attacker on the path, or a broken mirror) that passes
/// the bureau's real withdrawal notice on but cuts every delta in half.
fn cutting_relay(notice: String, delta: String) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = if path.starts_with("/trust-bundle/withdrawals") {
                ("200 OK", notice.clone())
            } else if path.starts_with("/trust-bundle/delta") {
                ("200 OK", delta[..delta.len() / 2].to_owned())
            } else {
                ("404 Not Found", String::new())
            };
            let _ = write!(
                sock,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_is_applied_first_even_when_the_delta_fails() {
    let mut bureau = start(35).await;
    let (work, hotel, alice, credential, kid) = issued_and_synced(&bureau, 36).await;
    let seq = {
        let o = run_in(&hotel, &["trust", "show", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["status_seq"].as_i64().unwrap()
    };

    bureau
        .issuer
        .withdraw_key("test", &kid, None)
        .await
        .unwrap();
    let notice = bureau.issuer.key_withdrawals_notice().await.unwrap();
    let delta = bureau.issuer.trust_bundle_delta(seq).await.unwrap();
    let relay = cutting_relay(notice, delta);

    let o = sync(&hotel, &relay);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("stored key-withdrawal notice"), "{out}");
    assert!(stderr(&o).contains("refused: delta_"), "{}", stderr(&o));
    withdrawn_key_refused(&hotel, work.path(), &credential.sd_jwt, &alice);
    bureau.stop_server().await;
}
