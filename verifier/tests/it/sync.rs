//! The offline journey against a real issuer on loopback and the real `verifier` binary: pin,
//! sync, verify (also with the issuer gone), revocation, key rotation, freshness, and every
//! bad bundle refused with the previous state kept byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use issuer::service::simulate::DirectCredential;
use issuer::service::status::Target;
use issuer::service::trust::{try_sign_trust_bundle, BundleContents};
use issuer::Issuer;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use testkit::{now, TestIssuer};

const AUD: &str = "https://hotel.example";

/// The bureau: the kit's issuer on loopback, its keys drawn from `seed`.
pub(crate) async fn start(seed: u64) -> TestIssuer {
    TestIssuer::builder().seed(seed).start().await
}

/// A fresh work directory with a `state` directory pinned to `bureau`'s root, after the
/// bureau issued a credential (returned) to a holder key drawn from `seed`.
pub(crate) async fn pinned_state(
    bureau: &TestIssuer,
    seed: u64,
) -> (tempfile::TempDir, PathBuf, DirectCredential) {
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let holder = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(seed));
    let credential = bureau.credential(&holder).await;
    pin(&state, &bureau.issuer, work.path());
    (work, state, credential)
}

/// The keys `issuer` publishes now, as a bundle lists them.
pub(crate) fn published_keys(issuer: &Issuer) -> Vec<serde_json::Value> {
    issuer
        .keys
        .published(now())
        .iter()
        .map(|r| r.to_json())
        .collect()
}

/// `good` (a bundle or delta) refused in three forms through `refused(document, code)`: one
/// from another root (`foreign`), cut in half, and with a broken signature; the codes are
/// `{what}_wrong_root`, `{what}_truncated` and `{what}_bad_signature`.
pub(crate) fn refuse_tampered(good: &str, foreign: &str, what: &str, refused: impl Fn(&str, &str)) {
    refused(foreign, &format!("{what}_wrong_root"));
    refused(&good[..good.len() / 2], &format!("{what}_truncated"));
    let mut corrupt = good.to_owned().into_bytes();
    let i = good.find('.').unwrap() + 30;
    corrupt[i] = if corrupt[i] == b'x' { b'y' } else { b'x' };
    refused(
        &String::from_utf8(corrupt).unwrap(),
        &format!("{what}_bad_signature"),
    );
}

/// A bundle signed by `bureau`'s root with these keys and status lists, issued 5 s from now
/// (newer than any the verifier holds), without a status sequence.
fn newer_bundle(
    bureau: &TestIssuer,
    keys: &[serde_json::Value],
    lists: &[(i64, String, String)],
) -> String {
    try_sign_trust_bundle(
        &bureau.issuer.keys.root(),
        &BundleContents {
            iss: bureau.issuer.url(),
            issued_at: now() + 5,
            next_update: now() + 300,
            keys,
            status_lists: lists,
            status_seq: None,
        },
    )
    .unwrap()
}

pub(crate) fn verifier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn run_in(state: &Path, args: &[&str]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--data", state.to_str().unwrap()]);
    // `verify`, `sync` and `trust` all take the one data directory.
    verifier(&all)
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn present(
    dir: &Path,
    name: &str,
    cred: &str,
    holder: &SigningKey,
    nonce: &str,
    iat: i64,
) -> PathBuf {
    let paths: Vec<ClaimPath> = ["family_name", "given_name", "id_number"]
        .iter()
        .map(|p| ClaimPath::parse_dotted(p))
        .collect();
    let p = wallet::present(cred, holder, &paths, nonce, AUD, iat).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, p).unwrap();
    file
}

pub(crate) fn verify_in(state: &Path, presentation: &Path, nonce: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "--nonce",
        nonce,
        "--aud",
        AUD,
        presentation.to_str().unwrap(),
    ];
    args.extend(extra);
    run_in(state, &args)
}

pub(crate) fn pin(state: &Path, issuer: &Issuer, work: &Path) {
    let root = work.join("root.jwk");
    std::fs::write(
        &root,
        issuer.keys.root().public_jwk().to_bare_value().to_string(),
    )
    .unwrap();
    let o = run_in(state, &["trust", "pin", root.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&issuer.root_fingerprint()), "{out}");
}

pub(crate) fn sync(state: &Path, url: &str) -> Output {
    run_in(state, &["sync", url])
}

/// [`sync`], which must succeed.
pub(crate) fn sync_ok(state: &Path, url: &str) {
    let o = sync(state, url);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_sync_verify_offline_revoke_and_rotate() {
    let mut bureau = start(1).await;
    let work = tempfile::tempdir().unwrap();
    let hotel = work.path().join("hotel");
    let lagging = work.path().join("lagging");
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let holder = SigningKey::generate(Alg::Es256, &mut rng);
    // One holder key per credential: the issuer refuses a key it has bound before.
    let holder2 = SigningKey::generate(Alg::Es256, &mut rng);
    let holder3 = SigningKey::generate(Alg::Es256, &mut rng);
    let old = bureau.credential(&holder).await;
    let other = bureau.credential(&holder2).await;

    for state in [&hotel, &lagging] {
        pin(state, &bureau.issuer, work.path());
        sync_ok(state, &bureau.url);
    }
    // Syncing again with nothing new is fine (same second: identical; later: newer).
    let p = present(work.path(), "p1", &old.sd_jwt, &holder, "n1", now());
    let o = verify_in(&hotel, &p, "n1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Revoke one credential; after a sync the hotel rejects it, the other still verifies.
    bureau
        .issuer
        .change_status(
            "test",
            Target::Credential(other.id.clone()),
            issuer::domain::StatusAction::Revoke,
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    sync_ok(&hotel, &bureau.url);
    let p2 = present(work.path(), "p2", &other.sd_jwt, &holder2, "n2", now());
    let o = verify_in(&hotel, &p2, "n2", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));

    // Key rotation: new credentials are signed by the new key.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    bureau.issuer.rotate_key("test", Alg::Es256).await.unwrap();
    let new = bureau.credential(&holder3).await;
    sync_ok(&hotel, &bureau.url);
    let show = run_in(&hotel, &["trust", "show", "--json"]);
    assert!(show.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["keys"].as_array().unwrap().len(), 2);
    assert!(shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["state"] == "retired" && k["not_after"].is_i64()));

    // The network goes away.
    bureau.stop_server().await;
    let o = sync(&hotel, &bureau.url);
    assert_eq!(o.status.code(), Some(2), "sync without network cannot run");

    let t = now();
    let p_new = present(work.path(), "p3", &new.sd_jwt, &holder3, "n3", t);
    let p_old = present(work.path(), "p4", &old.sd_jwt, &holder, "n4", t);
    let o = verify_in(&hotel, &p_new, "n3", &[]);
    assert!(
        o.status.success(),
        "new credential, synced hotel: {}",
        stderr(&o)
    );
    let o = verify_in(&hotel, &p_old, "n4", &[]);
    assert!(
        o.status.success(),
        "old credential, synced hotel: {}",
        stderr(&o)
    );

    // The verifier that never synced after the rotation.
    let o = verify_in(&lagging, &p_new, "n3", &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("unknown_issuer_key") && e.contains("verifier sync"),
        "{e}"
    );
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["error"], "unknown_issuer_key");

    // Freshness: a bank allowing one minute of revocation age, an hour later, offline.
    let policy = work.path().join("bank.toml");
    std::fs::write(&policy, "name = \"bank\"\nmax_status_age_seconds = 60\n").unwrap();
    let later = t + 3600;
    let p_late = present(work.path(), "p5", &old.sd_jwt, &holder, "n5", later);
    let later_s = later.to_string();
    let o = verify_in(
        &hotel,
        &p_late,
        "n5",
        &["--policy", policy.to_str().unwrap(), "--now", &later_s],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("status_too_old"), "{}", stderr(&o));
    assert!(stderr(&o).contains("sync the verifier"), "{}", stderr(&o));
}

fn refused(state: &Path, bundle: &str, work: &Path, code: &str) {
    let before = std::fs::read(state.join("bundle.jwt")).unwrap();
    let file = work.join(format!("{code}.jwt"));
    std::fs::write(&file, bundle).unwrap();
    let o = run_in(state, &["sync", "--file", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{code}: {}", stderr(&o));
    assert!(stderr(&o).contains(code), "expected {code}: {}", stderr(&o));
    assert_eq!(
        std::fs::read(state.join("bundle.jwt")).unwrap(),
        before,
        "{code}: state changed"
    );
    let show = run_in(state, &["trust", "show"]);
    assert!(show.status.success(), "{code}: state unusable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_show_into_a_closed_pipe_exits_quietly() {
    let mut bureau = start(6).await;
    let (work, state, _) = pinned_state(&bureau, 6).await;
    let file = work.path().join("bundle.jwt");
    std::fs::write(&file, bureau.issuer.trust_bundle().await.unwrap()).unwrap();
    assert!(run_in(&state, &["sync", "--file", file.to_str().unwrap()])
        .status
        .success());
    // `verifier trust show | head -0`: the reader is gone before the listing is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(["trust", "show", "--data", state.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    bureau.stop_server().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundles_each_refused_and_state_kept() {
    let mut bureau = start(3).await;
    let mut stranger = start(4).await;
    let (work, state, _) = pinned_state(&bureau, 5).await;

    let old = bureau.issuer.trust_bundle().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let current = bureau.issuer.trust_bundle().await.unwrap();
    let file = work.path().join("current.jwt");
    std::fs::write(&file, &current).unwrap();
    let o = run_in(&state, &["sync", "--file", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The identical bundle again: a no-op.
    let o = run_in(&state, &["sync", "--file", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("already have"));

    let holder = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(5));
    let _ = stranger.credential(&holder).await;
    let foreign = stranger.issuer.trust_bundle().await.unwrap();
    refuse_tampered(&current, &foreign, "bundle", |doc, code| {
        refused(&state, doc, work.path(), code)
    });
    refused(&state, &old, work.path(), "bundle_replayed");

    // Root-signed, but a status token whose `sub` names another list.
    let keys = published_keys(&bureau.issuer);
    let token0 = bureau.issuer.status_token(0).await.unwrap();
    let swapped = newer_bundle(&bureau, &keys, &[(1, bureau.issuer.status_uri(1), token0)]);
    refused(&state, &swapped, work.path(), "status_subject_mismatch");

    // Root-signed, with a decompression bomb as a status list.
    let bomb = {
        use std::io::Write as _;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 32 << 20]).unwrap();
        let lst = credential::b64::encode(z.finish().unwrap());
        let key = bureau.issuer.keys.active();
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "statuslist+jwt".into());
        header.insert("kid".into(), key.kid().into());
        let payload = serde_json::json!({"sub": bureau.issuer.status_uri(0), "iat": now(),
            "status_list": {"bits": 1, "lst": lst}});
        credential::jose::try_sign_compact(header, payload.to_string().as_bytes(), &key).unwrap()
    };
    let bombed = newer_bundle(&bureau, &keys, &[(0, bureau.issuer.status_uri(0), bomb)]);
    refused(
        &state,
        &bombed,
        work.path(),
        "status_list_decompression_limit",
    );

    // A crash mid-sync leaves a temporary file at most: the state still verifies.
    std::fs::write(state.join(".bundle.jwt.tmp-999"), &current[..100]).unwrap();
    let show = run_in(&state, &["trust", "show", "--json"]);
    assert!(show.status.success());

    bureau.stop_server().await;
    stranger.stop_server().await;
}
