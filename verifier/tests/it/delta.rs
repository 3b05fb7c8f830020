//! Delta sync against a real issuer on loopback and the real `verifier` binary: a revocation
//! and a new shard arrive by delta, the state built from bundle + deltas equals a fresh full
//! bundle's, the issuer's "base unknown" answer falls back to the full bundle, the verified
//! cache is used and rebuilt, and every bad delta is refused with its own code and the
//! previous state kept byte for byte.

use std::path::Path;
use std::time::Duration;

use credential::jose::{Alg, SigningKey};
use issuer::domain::StatusAction;
use issuer::service::delta::{
    sign_trust_bundle_delta, try_sign_trust_bundle_delta, DeltaContents, ShardChanges,
};
use issuer::service::status::Target;
use issuer::service::trust::{sign_trust_bundle, try_sign_trust_bundle, BundleContents};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use verifier::bundle::{BundleLimits, VerifiedBundle};
use verifier::delta::{DeltaError, DeltaLimits, VerifiedDelta};
use verifier::TrustState;

use crate::sync::{
    pin, pinned_state, present, published_keys, refuse_tampered, run_in, start, stderr, sync_ok,
    verify_in,
};
use testkit::{now, TestIssuer};

fn json_out(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        panic!(
            "not json: {} / {}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

fn sync_json(state: &Path, url: &str) -> Value {
    let o = run_in(state, &["sync", url, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    json_out(&o)
}

fn show(state: &Path) -> Value {
    let o = run_in(state, &["trust", "show", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    json_out(&o)
}

async fn revoke(bureau: &TestIssuer, id: &str) {
    bureau
        .issuer
        .change_status(
            "test",
            Target::Credential(id.to_owned()),
            StatusAction::Revoke,
        )
        .await
        .unwrap();
}

/// The state a verifier rebuilds from its stored files, verified from scratch.
fn state_from_files(dir: &Path, root: &credential::jose::PublicJwk) -> TrustState {
    let bundle = std::fs::read_to_string(dir.join("bundle.jwt")).unwrap();
    let t = now();
    let b = VerifiedBundle::verify(&bundle, root, t, &BundleLimits::default()).unwrap();
    let mut state = TrustState::from_bundle(b);
    if let Ok(chain) = std::fs::read_to_string(dir.join("deltas.jwt")) {
        for line in chain.lines() {
            let d = VerifiedDelta::verify(line, root, t, &DeltaLimits::default()).unwrap();
            state.apply(&d).unwrap();
        }
    }
    state
}

fn pause() -> tokio::time::Sleep {
    // Bundles and deltas are ordered by issued_at, in seconds.
    tokio::time::sleep(Duration::from_millis(1100))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_sync_revocation_new_shard_fallback_and_cache() {
    let mut bureau = start(11).await;
    let work = tempfile::tempdir().unwrap();
    let hotel = work.path().join("hotel");
    let holder = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(12));
    // One holder key per credential: the issuer refuses a key it has bound before.
    let holder_b = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(13));
    let holder_c = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(14));
    let a = bureau.credential(&holder).await;
    let b = bureau.credential(&holder_b).await;
    pin(&hotel, &bureau.issuer, work.path());
    let first = sync_json(&hotel, &bureau.url);
    assert_eq!(first["kind"], "full");
    let base_seq = first["status_seq"].as_i64().unwrap();

    // A revocation arrives by delta.
    revoke(&bureau, &b.id).await;
    pause().await;
    let d = sync_json(&hotel, &bureau.url);
    assert_eq!(d["kind"], "delta", "{d}");
    assert_eq!(d["base_status_seq"], base_seq);
    assert_eq!(d["changed_entries"], 1);
    assert!(d["status_seq"].as_i64().unwrap() > base_seq);
    let p = present(work.path(), "pb", &b.sd_jwt, &holder_b, "nb", now());
    let o = verify_in(&hotel, &p, "nb", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));
    let p = present(work.path(), "pa", &a.sd_jwt, &holder, "na", now());
    let o = verify_in(&hotel, &p, "na", &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A new shard (shard 0 closes at 768 of 1024) with logged revocations, and a real
    // credential in it, arrive by delta too: the hotel starts that list from zeros.
    bureau.issuer.simulate_credentials(800, 0.3).await.unwrap();
    let c = bureau.credential(&holder_c).await;
    assert!(c.status.uri.ends_with("/status/1"), "{}", c.status.uri);
    pause().await;
    let d = sync_json(&hotel, &bureau.url);
    assert_eq!(d["kind"], "delta", "{d}");
    assert!(d["changed_lists"].as_u64().unwrap() >= 2, "{d}");
    let p = present(work.path(), "pc", &c.sd_jwt, &holder_c, "nc", now());
    let o = verify_in(&hotel, &p, "nc", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    revoke(&bureau, &c.id).await;
    pause().await;
    assert_eq!(sync_json(&hotel, &bureau.url)["kind"], "delta");
    let p = present(work.path(), "pc2", &c.sd_jwt, &holder_c, "nc2", now());
    let o = verify_in(&hotel, &p, "nc2", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // Bundle + deltas hold exactly what a fresh full bundle holds.
    let root = bureau.issuer.keys.root().public_jwk().clone();
    let chained = state_from_files(&hotel, &root);
    let full = bureau.issuer.trust_bundle().await.unwrap();
    let full = TrustState::from_bundle(
        VerifiedBundle::verify(&full, &root, now(), &BundleLimits::default()).unwrap(),
    );
    assert_eq!(chained.lists.len(), full.lists.len());
    for (uri, l) in &full.lists {
        let mine = chained.lists.get(uri).unwrap();
        assert_eq!(
            mine.known.list.inflate().unwrap(),
            l.known.list.inflate().unwrap(),
            "{uri}"
        );
        assert_eq!(
            mine.known.issued_at, chained.issued_at,
            "fresh as of the delta"
        );
    }
    assert_eq!(chained.status_seq, full.status_seq);

    // The verified cache: used when it matches the files, rebuilt when damaged, ignored when
    // the files change.
    let shown = show(&hotel);
    assert_eq!(shown["loaded_from"], "cache");
    assert_eq!(shown["deltas"], 3);
    let cache = hotel.join("verified-state.cache");
    let mut bytes = std::fs::read(&cache).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&cache, &bytes).unwrap();
    assert_eq!(show(&hotel)["loaded_from"], "verified");
    assert_eq!(
        show(&hotel)["loaded_from"],
        "cache",
        "rebuilt after verification"
    );
    let o = verify_in(&hotel, &p, "nc2", &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "cached state still knows the revocation"
    );
    let chain = std::fs::read_to_string(hotel.join("deltas.jwt")).unwrap();
    let two: String = chain.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(hotel.join("deltas.jwt"), &two).unwrap();
    let shown = show(&hotel);
    assert_eq!(
        shown["loaded_from"], "verified",
        "files changed: cache not used"
    );
    assert_eq!(shown["deltas"], 2);
    let o = verify_in(&hotel, &p, "nc2", &[]);
    assert!(
        o.status.success(),
        "without the third delta the revocation of c is unknown: {}",
        stderr(&o)
    );
    std::fs::write(hotel.join("deltas.jwt"), &chain).unwrap();

    // A base the issuer does not know (a status_seq beyond its log): the issuer says so and
    // the verifier falls back to the full bundle.
    pause().await;
    let keys = published_keys(&bureau.issuer);
    let lists = vec![(
        0,
        bureau.issuer.status_uri(0),
        bureau.issuer.status_token(0).await.unwrap(),
    )];
    let odd = try_sign_trust_bundle(
        &bureau.issuer.keys.root(),
        &BundleContents {
            iss: bureau.issuer.url(),
            issued_at: now(),
            next_update: now() + 300,
            keys: &keys,
            status_lists: &lists,
            status_seq: Some(1_000_000),
        },
    )
    .unwrap();
    let file = work.path().join("odd.jwt");
    std::fs::write(&file, odd).unwrap();
    let o = run_in(&hotel, &["sync", "--file", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !hotel.join("deltas.jwt").exists(),
        "a full bundle starts a new chain"
    );
    pause().await;
    let o = run_in(&hotel, &["sync", &bureau.url, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("delta_base_unknown"), "{}", stderr(&o));
    assert_eq!(json_out(&o)["kind"], "full");

    // Syncing again at once: a delta with nothing new is fine.
    let o = run_in(&hotel, &["sync", &bureau.url]);
    assert!(o.status.success(), "{}", stderr(&o));

    bureau.stop_server().await;
}

fn snapshot(state: &Path) -> Vec<Option<Vec<u8>>> {
    ["bundle.jwt", "deltas.jwt", "verified-state.cache"]
        .iter()
        .map(|f| std::fs::read(state.join(f)).ok())
        .collect()
}

fn refused(state: &Path, delta: &str, work: &Path, code: &str) {
    let before = snapshot(state);
    let file = work.join(format!("{code}.jwt"));
    std::fs::write(&file, delta).unwrap();
    let o = run_in(state, &["sync", "--file", file.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{code}: {}", stderr(&o));
    assert!(stderr(&o).contains(code), "expected {code}: {}", stderr(&o));
    assert_eq!(json_out(&o)["error"], code);
    assert_eq!(snapshot(state), before, "{code}: state changed");
    let o = run_in(state, &["trust", "show"]);
    assert!(o.status.success(), "{code}: state unusable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deltas_each_refused_and_state_kept() {
    let mut bureau = start(13).await;
    let mut stranger = start(14).await;
    let (work, state, a) = pinned_state(&bureau, 15).await;
    let holder = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(15));
    let _ = stranger.credential(&holder).await;

    // A delta needs a base.
    let early = bureau.issuer.trust_bundle_delta(0).await.unwrap();
    refused(&state, &early, work.path(), "delta_base_mismatch");

    sync_ok(&state, &bureau.url);
    let seq = show(&state)["status_seq"].as_i64().unwrap();
    // An empty delta from the stored base, then a newer one applied: the first is a replay.
    pause().await;
    let stale = bureau.issuer.trust_bundle_delta(seq).await.unwrap();
    revoke(&bureau, &a.id).await;
    pause().await;
    sync_ok(&state, &bureau.url);
    let seq2 = show(&state)["status_seq"].as_i64().unwrap();
    assert!(seq2 > seq);
    let empty_old = {
        // Same base as the stored state, issued before it.
        let keys = published_keys(&bureau.issuer);
        let t = show(&state)["issued_at"].as_i64().unwrap() - 10;
        try_sign_trust_bundle_delta(
            &bureau.issuer.keys.root(),
            &DeltaContents {
                iss: bureau.issuer.url(),
                base_status_seq: seq2,
                status_seq: seq2,
                issued_at: t,
                next_update: t + 300,
                status_exp: t + 86_400,
                keys: &keys,
                changes: &[],
            },
        )
        .unwrap()
    };
    refused(&state, &empty_old, work.path(), "delta_replayed");
    refused(&state, &stale, work.path(), "delta_base_mismatch");
    pause().await;
    let good = bureau.issuer.trust_bundle_delta(seq2).await.unwrap();

    let foreign = stranger.issuer.trust_bundle_delta(0).await.unwrap();
    refuse_tampered(&good, &foreign, "delta", |doc, code| {
        refused(&state, doc, work.path(), code)
    });

    let root = bureau.issuer.keys.root();
    let keys = published_keys(&bureau.issuer);
    let signed = |changes: Vec<Value>| {
        let t = now();
        let payload = serde_json::json!({"delta_version": 1, "iss": bureau.issuer.url(),
            "base_status_seq": seq2, "status_seq": seq2 + 1, "issued_at": t, "next_update": t + 300,
            "status_exp": t + 86_400, "keys": keys, "changes": changes});
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "trust-bundle-delta+jwt".into());
        header.insert("kid".into(), root.kid().into());
        credential::jose::try_sign_compact(header, payload.to_string().as_bytes(), &root).unwrap()
    };
    // Root-signed, with a decompression bomb as a change set.
    let bomb = {
        let z = credential::status_list::zlib_compress(&vec![0u8; 32 << 20], 9);
        signed(vec![
            serde_json::json!({"shard": 0, "uri": bureau.issuer.status_uri(0),
            "size": 1024, "bits": 2, "set": credential::b64::encode(z)}),
        ])
    };
    refused(&state, &bomb, work.path(), "delta_decompression_limit");
    // Root-signed, changing an entry outside the list.
    let outside = try_sign_trust_bundle_delta(
        &root,
        &DeltaContents {
            iss: bureau.issuer.url(),
            base_status_seq: seq2,
            status_seq: seq2 + 1,
            issued_at: now(),
            next_update: now() + 300,
            status_exp: now() + 86_400,
            keys: &keys,
            changes: &[ShardChanges {
                shard: 0,
                uri: bureau.issuer.status_uri(0),
                size: 1024,
                set: vec![(5000, 1)],
            }],
        },
    )
    .unwrap();
    refused(&state, &outside, work.path(), "delta_invalid_change");
    // Root-signed, but a list whose size differs from the stored one.
    let resized = signed(vec![
        serde_json::json!({"shard": 0, "uri": bureau.issuer.status_uri(0),
        "size": 2048, "bits": 2, "set": issuer::service::delta::encode_set(&[(1, 1)])}),
    ]);
    refused(&state, &resized, work.path(), "delta_invalid_change");

    // A crash mid-sync leaves a temporary file at most: the state still loads and verifies.
    std::fs::write(state.join(".deltas.jwt.tmp-999"), &good[..100]).unwrap();
    std::fs::write(state.join(".verified-state.cache.tmp-999"), b"CIDSTATE1\n").unwrap();
    assert_eq!(show(&state)["status_seq"], seq2);

    // After all that, the good delta still applies.
    let file = work.path().join("good.jwt");
    std::fs::write(&file, &good).unwrap();
    let o = run_in(&state, &["sync", "--file", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(show(&state)["status_seq"].as_i64().unwrap() >= seq2);
    // The revoked credential is rejected by the state built from bundle + deltas.
    let p = present(work.path(), "pa", &a.sd_jwt, &holder, "na", now());
    let o = verify_in(&state, &p, "na", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));

    bureau.stop_server().await;
    stranger.stop_server().await;
}

#[test]
fn a_bundle_is_not_a_delta() {
    let root = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(16));
    let bundle = sign_trust_bundle(
        &root,
        &BundleContents {
            iss: "https://id.example.cn",
            issued_at: 1_800_000_000,
            next_update: 1_800_000_300,
            keys: &[],
            status_lists: &[],
            status_seq: Some(0),
        },
    );
    let e = verify_issued_now(&bundle, &root).unwrap_err();
    assert!(matches!(e, DeltaError::WrongTyp { .. }), "{e:?}");
    assert_eq!(e.code(), "delta_wrong_typ");
}

/// `text` verified against `root` at 1_800_000_000, when the synthetic deltas here are
/// issued, with the default limits.
fn verify_issued_now(text: &str, root: &SigningKey) -> Result<VerifiedDelta, DeltaError> {
    VerifiedDelta::verify(
        text,
        root.public_jwk(),
        1_800_000_000,
        &DeltaLimits::default(),
    )
}

#[test]
fn random_change_sets_round_trip_through_the_issuer_encoding() {
    use rand_core::RngCore as _;
    let root = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(17));
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    for round in 0..50u64 {
        let size = 1 + rng.next_u64() % (1 << 22);
        let mut set = std::collections::BTreeMap::new();
        // Edges first: index 0 and the last index; then random ones (gaps from 0 to ~2^22,
        // so one- to four-byte varints).
        set.insert(0, (round % 3) as u8);
        set.insert(size - 1, 1);
        for _ in 0..(rng.next_u64() % 300) {
            set.insert(rng.next_u64() % size, (rng.next_u64() % 3) as u8);
        }
        let set: Vec<(u64, u8)> = set.into_iter().collect();
        let text = sign_trust_bundle_delta(
            &root,
            &DeltaContents {
                iss: "https://id.example.cn",
                base_status_seq: 1,
                status_seq: 2,
                issued_at: 1_800_000_000,
                next_update: 1_800_000_300,
                status_exp: 1_800_086_400,
                keys: &[],
                changes: &[ShardChanges {
                    shard: 3,
                    uri: "https://id.example.cn/status/3".into(),
                    size,
                    set: set.clone(),
                }],
            },
        );
        let d = verify_issued_now(&text, &root).unwrap();
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].size, size);
        assert_eq!(d.changes[0].set, set, "round {round}");
    }
}

#[test]
fn each_structural_delta_check_has_its_code() {
    let root = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(19));
    let t = 1_800_000_000i64;
    let sign = |payload: Value| {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "trust-bundle-delta+jwt".into());
        header.insert("kid".into(), root.kid().into());
        credential::jose::sign_compact(header, payload.to_string().as_bytes(), &root)
    };
    let base = || {
        serde_json::json!({"delta_version": 1, "iss": "https://i", "base_status_seq": 1,
            "status_seq": 2, "issued_at": t, "next_update": t + 300, "status_exp": t + 600,
            "keys": [], "changes": []})
    };
    let check = |text: &str, limits: &DeltaLimits| {
        VerifiedDelta::verify(text, root.public_jwk(), t, limits)
            .unwrap_err()
            .code()
    };
    let limits = DeltaLimits::default();
    assert!(VerifiedDelta::verify(&sign(base()), root.public_jwk(), t, &limits).is_ok());

    let mut small = DeltaLimits::default();
    small.max_delta_bytes = 100;
    assert_eq!(check(&sign(base()), &small), "delta_too_large");
    let mut v = base();
    v["delta_version"] = 2.into();
    assert_eq!(check(&sign(v), &limits), "delta_unsupported_version");
    let mut v = base();
    v["issued_at"] = (t + 3600).into();
    v["next_update"] = (t + 7200).into();
    v["status_exp"] = (t + 7200).into();
    assert_eq!(check(&sign(v), &limits), "delta_issued_in_future");
    let mut v = base();
    v["status_seq"] = 0.into();
    assert_eq!(check(&sign(v), &limits), "delta_malformed");
    let mut v = base();
    v.as_object_mut().unwrap().remove("status_exp");
    assert_eq!(check(&sign(v), &limits), "delta_malformed");
    let mut v = base();
    v["keys"] = serde_json::json!([{"kid": "x", "state": "active", "not_before": 0,
        "jwk": root.public_jwk().to_bare_value()}]);
    assert_eq!(check(&sign(v), &limits), "delta_invalid_key");
    let mut few = DeltaLimits::default();
    few.max_shards = 1;
    let change = |shard: i64| {
        serde_json::json!({"shard": shard, "uri": format!("https://i/status/{shard}"),
            "size": 16, "bits": 2, "set": issuer::service::delta::encode_set(&[(1, 1)])})
    };
    let mut v = base();
    v["changes"] = serde_json::json!([change(0), change(1)]);
    assert_eq!(check(&sign(v), &few), "delta_too_many_entries");
    let mut v = base();
    v["changes"] = serde_json::json!([change(0), change(0)]);
    assert_eq!(check(&sign(v), &limits), "delta_invalid_change");
    let mut v = base();
    let mut c = change(0);
    c["count"] = 5.into();
    v["changes"] = serde_json::json!([c]);
    assert_eq!(check(&sign(v), &limits), "delta_invalid_change");
    let mut v = base();
    let mut c = change(0);
    c["set"] = "!!".into();
    v["changes"] = serde_json::json!([c]);
    assert_eq!(check(&sign(v), &limits), "delta_invalid_change");
}

/// The issuer's delta from `base` re-signed by its root with `issued_at` set: the same changes
/// and keys the issuer serves, placed in a chosen second.
fn delta_in_second(bureau: &TestIssuer, base: i64, issued_at: i64, real: &str) -> String {
    let root = bureau.issuer.keys.root();
    let d = VerifiedDelta::verify(real, root.public_jwk(), now(), &DeltaLimits::default()).unwrap();
    assert_eq!(d.base_status_seq, base);
    let changes: Vec<ShardChanges> = d
        .changes
        .iter()
        .map(|c| ShardChanges {
            shard: c.shard.unwrap(),
            uri: c.uri.clone(),
            size: c.size,
            set: c.set.clone(),
        })
        .collect();
    let keys: Vec<Value> = d.keys.iter().map(|k| k.to_json()).collect();
    try_sign_trust_bundle_delta(
        &root,
        &DeltaContents {
            iss: bureau.issuer.url(),
            base_status_seq: d.base_status_seq,
            status_seq: d.status_seq,
            issued_at,
            next_update: issued_at + 300,
            status_exp: issued_at + 86_400,
            keys: &keys,
            changes: &changes,
        },
    )
    .unwrap()
}

fn sync_file(state: &Path, work: &Path, name: &str, text: &str) -> std::process::Output {
    let file = work.join(name);
    std::fs::write(&file, text).unwrap();
    run_in(state, &["sync", "--file", file.to_str().unwrap(), "--json"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_revocation_synced_in_the_same_second_is_applied() {
    let mut bureau = start(16).await;
    let work = tempfile::tempdir().unwrap();
    let hotel = work.path().join("hotel");
    let holders: Vec<SigningKey> = (0..4)
        .map(|i| SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(40 + i)))
        .collect();
    let mut creds = Vec::new();
    for h in &holders {
        creds.push(bureau.credential(h).await);
    }
    pin(&hotel, &bureau.issuer, work.path());
    sync_ok(&hotel, &bureau.url);
    let seq0 = show(&hotel)["status_seq"].as_i64().unwrap();
    // Both deltas carry the same second.
    let t = now();

    // Revoke, sync; revoke again, sync at once: both deltas stamped with the same second.
    // The delta from `seq` after revoking `id`, re-stamped with second `t`, synced from a file.
    let revoke_and_sync = |id: String, seq: i64, name: &'static str| {
        let (bureau, hotel, work) = (&bureau, &hotel, work.path());
        async move {
            revoke(bureau, &id).await;
            let real = bureau.issuer.trust_bundle_delta(seq).await.unwrap();
            sync_file(hotel, work, name, &delta_in_second(bureau, seq, t, &real))
        }
    };
    let o = revoke_and_sync(creds[0].id.clone(), seq0, "d1.jwt").await;
    assert!(o.status.success(), "{}", stderr(&o));
    let seq1 = show(&hotel)["status_seq"].as_i64().unwrap();
    assert!(seq1 > seq0);
    let o = revoke_and_sync(creds[1].id.clone(), seq1, "d2.jwt").await;
    assert!(
        o.status.success(),
        "same-second delta refused: {}",
        stderr(&o)
    );
    let d2 = json_out(&o);
    assert_eq!(d2["changed_entries"], 1, "{d2}");
    let seq2 = show(&hotel)["status_seq"].as_i64().unwrap();
    assert!(seq2 > seq1);
    let p = present(
        work.path(),
        "p1",
        &creds[1].sd_jwt,
        &holders[1],
        "n1",
        now(),
    );
    let o = verify_in(&hotel, &p, "n1", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));

    // A delta with no status change from the stored base, issued before the stored state, is
    // an old copy of the state: still a replay.
    let empty = try_sign_trust_bundle_delta(
        &bureau.issuer.keys.root(),
        &DeltaContents {
            iss: bureau.issuer.url(),
            base_status_seq: seq2,
            status_seq: seq2,
            issued_at: t - 1,
            next_update: t + 300,
            status_exp: t + 86_400,
            keys: &published_keys(&bureau.issuer),
            changes: &[],
        },
    )
    .unwrap();
    refused(&hotel, &empty, work.path(), "delta_replayed");

    // Against the live issuer: revoke, sync, revoke, sync at once.
    for (i, c) in creds.iter().enumerate().skip(2) {
        revoke(&bureau, &c.id).await;
        sync_ok(&hotel, &bureau.url);
        let p = present(
            work.path(),
            &format!("p{i}"),
            &c.sd_jwt,
            &holders[i],
            "nx",
            now(),
        );
        let o = verify_in(&hotel, &p, "nx", &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("revoked"), "{}", stderr(&o));
    }
    bureau.stop_server().await;
}
