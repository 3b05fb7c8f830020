//! `scale`: the national-scale measurement of the trust bundle (`docs/scale.md`).
//!
//! Fills an issuer's status state with N simulated credentials, revokes a fraction, builds the
//! root-signed trust bundle, then times a verifier's sync (bundle verification and loading) and
//! a verification against the synced state. Then a day of changes (`--changed-fraction` of the
//! credentials revoked or suspended) becomes a root-signed delta: its size, and the time to
//! verify and apply it. Last, the real `verifier` binary runs `verify --data` on the stored
//! bundle + delta twice: cold (verifies every signature, writes the verified cache) and cached,
//! each with its peak memory (`/usr/bin/time`). Two modes:
//!
//! - `db`: a real issuer in a temporary directory; credentials inserted directly into SQLite
//!   with indexes drawn like real ones (`Issuer::simulate_credentials`), the bundle built by
//!   `Issuer::trust_bundle`.
//! - `bitmap`: the shard bitmaps built directly in memory (same shard size, same 3/4 fill,
//!   revoked entries uniformly random), signed and bundled with the issuer's own functions.
//!   For sizes where SQLite inserts take too long.
//!
//! ```sh
//! cargo build --release -p citizen-id --bin scale -p verifier --bin verifier
//! ./target/release/scale --credentials 1000000 --revoked-fraction 0.01 --mode db
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use credential::citizen::{CitizenClaims, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use credential::status_list::{Bits, StatusList, StatusListToken};
use issuer::domain::StatusAction;
use issuer::service::delta::{try_sign_trust_bundle_delta, DeltaContents, ShardChanges};
use issuer::service::status::Target;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use verifier::bundle::{BundleLimits, VerifiedBundle};
use verifier::delta::{DeltaLimits, VerifiedDelta};
use verifier::{Policy, TrustState, Verifier};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Mode {
    Db,
    Bitmap,
}

/// Measure trust-bundle size, sync time and verify time for N credentials.
#[derive(Parser)]
#[command(name = "scale")]
struct Args {
    /// Number of simulated credentials.
    #[arg(long, default_value_t = 1_000_000)]
    credentials: u64,
    /// Fraction revoked, uniformly at random.
    #[arg(long, default_value_t = 0.01)]
    revoked_fraction: f64,
    /// Where the status state comes from.
    #[arg(long, value_enum, default_value = "db")]
    mode: Mode,
    /// Entries per shard.
    #[arg(long, default_value_t = 1 << 20)]
    shard_size: u32,
    /// Fraction of the credentials whose status changes in the delta (a day's changes).
    #[arg(long, default_value_t = 0.0001)]
    changed_fraction: f64,
    /// The `verifier` binary timed on `verify --data` [default: next to this binary].
    #[arg(long, value_name = "FILE")]
    verifier_bin: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Only write the root's public JWK (`root.jwk`) and the signed bundle (`bundle.jwt`)
    /// into this directory and stop (for timing other verifiers, e.g. the desk page).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

const CLAIMS: &str = include_str!("../../examples/claims/citizen-basic.json");

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let mut cfg = issuer::config::Config::defaults(dir.path().to_path_buf());
    cfg.public_url = "https://id.example.cn".into();
    cfg.public_url_set = true;
    cfg.shard_size = args.shard_size;
    let issuer = issuer::Issuer::open_with_rng(cfg, ChaCha20Rng::seed_from_u64(1))
        .map_err(|e| anyhow::anyhow!("issuer: {e}"))?;
    let holder = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(2));
    let claims = CitizenClaims::from_json(CLAIMS, Level::Basic)?;

    // One real credential (shard 0), to time a full verification against the synced state.
    let cred = rt
        .block_on(issuer.issue_direct(&claims, Level::Basic, holder.public_jwk()))
        .map_err(|e| anyhow::anyhow!("issue: {e}"))?;
    let fill_start = Instant::now();
    let (bundle, revoked) = match args.mode {
        Mode::Db => {
            let revoked = rt
                .block_on(issuer.simulate_credentials(args.credentials, args.revoked_fraction))
                .map_err(|e| anyhow::anyhow!("simulate: {e}"))?;
            eprintln!(
                "filled {} credentials in {:.1?}",
                args.credentials,
                fill_start.elapsed()
            );
            (None, revoked)
        }
        Mode::Bitmap => {
            let token0 = rt
                .block_on(issuer.status_token(0))
                .map_err(|e| anyhow::anyhow!("status: {e}"))?;
            let (b, revoked) = bitmap_bundle(&issuer, &args, token0)?;
            (Some(b), revoked)
        }
    };
    let fill = fill_start.elapsed();
    let build_start = Instant::now();
    let bundle = match bundle {
        Some(b) => b,
        None => rt
            .block_on(issuer.trust_bundle())
            .map_err(|e| anyhow::anyhow!("bundle: {e}"))?,
    };
    let build = build_start.elapsed();

    let root = issuer.keys.root().public_jwk().clone();
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)?;
        std::fs::write(out.join("root.jwk"), root.to_bare_value().to_string())?;
        std::fs::write(out.join("bundle.jwt"), &bundle)?;
        println!(
            "{}",
            serde_json::json!({"credentials": args.credentials, "revoked": revoked,
                               "bundle_bytes": bundle.len(), "fill_seconds": fill.as_secs_f64()})
        );
        return Ok(());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sync_start = Instant::now();
    let verified = VerifiedBundle::verify(&bundle, &root, now, &BundleLimits::default())
        .context("bundle does not verify")?;
    let verifier = Verifier::new(
        verified.trust_store(),
        verified.status_store(),
        Policy::default(),
    );
    let sync = sync_start.elapsed();
    let shards = verified.lists.len();
    let token_bytes: usize = verified.lists.iter().map(|l| l.token_bytes).sum();
    // What the lists took inflated (as the verifier held them before) vs compressed.
    let memory: usize = verified
        .lists
        .iter()
        .map(|l| {
            let bits = u64::from(l.known.list.bits().as_u8());
            usize::try_from((l.known.list.len() * bits).div_ceil(8)).unwrap_or(usize::MAX)
        })
        .sum();

    let paths = [
        ClaimPath::parse_dotted("family_name"),
        ClaimPath::parse_dotted("id_number"),
    ];
    let presentation = wallet::present(&cred.sd_jwt, &holder, &paths, "n", "https://hotel", now)?;
    let runs = 200u32;
    let verify_start = Instant::now();
    for _ in 0..runs {
        verifier
            .verify(&presentation, "n", "https://hotel", now)
            .context("verification")?;
    }
    let verify = verify_start.elapsed() / runs;
    drop(verifier);

    // A day of changes as a delta on this bundle.
    let base_seq = verified.status_seq.unwrap_or(0);
    let (delta, changed) = match args.mode {
        Mode::Db => {
            let n = (args.credentials as f64 * args.changed_fraction).round() as u64;
            let mut rng = ChaCha20Rng::seed_from_u64(21);
            let mut changed = 0u64;
            for i in 0..n {
                let k = rng.next_u64() % args.credentials.max(1);
                let action = if i % 4 == 0 {
                    StatusAction::Suspend
                } else {
                    StatusAction::Revoke
                };
                let target = Target::Credential(format!("sim-{k}"));
                if rt
                    .block_on(issuer.change_status("scale", target, action))
                    .is_ok()
                {
                    changed += 1;
                }
            }
            // Deltas are ordered by issued_at (seconds) after the bundle.
            std::thread::sleep(Duration::from_millis(1100));
            let d = rt
                .block_on(issuer.trust_bundle_delta(base_seq))
                .map_err(|e| anyhow::anyhow!("delta: {e}"))?;
            (d, changed)
        }
        Mode::Bitmap => bitmap_delta(&issuer, &args, shards, now + 1)?,
    };
    issuer.close();
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
    let apply_start = Instant::now();
    let parsed = VerifiedDelta::verify(&delta, &root, later, &DeltaLimits::default())
        .context("delta does not verify")?;
    let mut state = TrustState::from_bundle(verified);
    state.apply(&parsed).context("delta does not apply")?;
    let apply = apply_start.elapsed();
    let compressed: usize = state.compressed_bytes();

    let timed = match verifier_runs(&args, &root, &bundle, &delta, &presentation) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("note: verify --data not timed: {e:#}");
            json!(null)
        }
    };

    let report = json!({
        "mode": if args.mode == Mode::Db { "db" } else { "bitmap" },
        "credentials": args.credentials,
        "revoked": revoked,
        "shard_size": args.shard_size,
        "shards": shards,
        "bundle_bytes": bundle.len(),
        "status_token_bytes": token_bytes,
        "bytes_per_shard": token_bytes / shards.max(1),
        "fill_seconds": fill.as_secs_f64(),
        "bundle_build_seconds": build.as_secs_f64(),
        "sync_seconds": sync.as_secs_f64(),
        "verify_microseconds": verify.as_micros() as u64,
        "verifier_status_inflated_bytes": memory,
        "verifier_status_compressed_bytes": compressed,
        "changed_fraction": args.changed_fraction,
        "delta_changed_entries": changed,
        "delta_bytes": delta.len(),
        "delta_verify_apply_seconds": apply.as_secs_f64(),
        "verify_state": timed,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Shards built in memory: each filled to 3/4 (as the issuer closes them), each allocated
/// entry revoked with probability `revoked_fraction`, signed by the issuer's active key.
fn bitmap_bundle(
    issuer: &issuer::Issuer,
    args: &Args,
    token0: String,
) -> anyhow::Result<(String, u64)> {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let size = u64::from(args.shard_size);
    let per_shard = size * 3 / 4;
    let threshold = (args.revoked_fraction.clamp(0.0, 1.0) * f64::from(u32::MAX)) as u32;
    let key = issuer.keys.active();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Shard 0 holds the real credential; simulated shards follow.
    let mut lists = vec![(0, issuer.status_uri(0), token0)];
    let mut left = args.credentials;
    let mut revoked = 0u64;
    let mut shard = 0i64;
    let first = 1;
    while left > 0 {
        let n = left.min(per_shard);
        let mut list = StatusList::new(Bits::Two, size)?;
        // Which entries are allocated does not change the compressed size much; revoked
        // entries are uniformly random over the shard.
        for _ in 0..n {
            if rng.next_u32() < threshold {
                let idx = u64::from(rng.next_u32()) % size;
                list.set(idx, 1)?;
                revoked += 1;
            }
        }
        let uri = issuer.status_uri(first + shard);
        let token = StatusListToken {
            sub: uri.clone(),
            iat: now,
            exp: Some(now + 86_400),
            ttl: None,
            iss: Some(issuer.url().to_owned()),
            status_list: list,
        }
        .try_sign(&key)?;
        lists.push((first + shard, uri, token));
        left -= n;
        shard += 1;
    }
    let keys = published_keys(issuer, now);
    let bundle = issuer::service::trust::try_sign_trust_bundle(
        &issuer.keys.root(),
        &issuer::service::trust::BundleContents {
            iss: issuer.url(),
            issued_at: now,
            next_update: now + 86_400,
            keys: &keys,
            status_lists: &lists,
            // The delta below is built on this state.
            status_seq: Some(0),
        },
    )?;
    Ok((bundle, revoked))
}

/// The keys `issuer` publishes at `at`, as a bundle or a delta lists them.
fn published_keys(issuer: &issuer::Issuer, at: i64) -> Vec<serde_json::Value> {
    issuer
        .keys
        .published(at)
        .iter()
        .map(|r| r.to_json())
        .collect()
}

/// A day of changes on the bitmap shards: `changed_fraction` of the credentials, each at a
/// random index of a random simulated shard, revoked (3 in 4) or suspended, signed by the root
/// as a delta from `status_seq` 0.
fn bitmap_delta(
    issuer: &issuer::Issuer,
    args: &Args,
    shards: usize,
    issued_at: i64,
) -> anyhow::Result<(String, u64)> {
    let n = (args.credentials as f64 * args.changed_fraction).round() as u64;
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let simulated = (shards as u64).saturating_sub(1).max(1);
    let mut by_shard: std::collections::BTreeMap<i64, std::collections::BTreeMap<u64, u8>> =
        std::collections::BTreeMap::new();
    for i in 0..n {
        let shard = 1 + (rng.next_u64() % simulated) as i64;
        let idx = rng.next_u64() % u64::from(args.shard_size);
        let value = if i % 4 == 0 { 2 } else { 1 };
        by_shard.entry(shard).or_default().insert(idx, value);
    }
    let changed = by_shard.values().map(|s| s.len() as u64).sum();
    let changes: Vec<ShardChanges> = by_shard
        .into_iter()
        .map(|(shard, set)| ShardChanges {
            shard,
            uri: issuer.status_uri(shard),
            size: u64::from(args.shard_size),
            set: set.into_iter().collect(),
        })
        .collect();
    let keys = published_keys(issuer, issued_at);
    let delta = try_sign_trust_bundle_delta(
        &issuer.keys.root(),
        &DeltaContents {
            iss: issuer.url(),
            base_status_seq: 0,
            status_seq: i64::try_from(changed).unwrap_or(i64::MAX),
            issued_at,
            next_update: issued_at + 86_400,
            status_exp: issued_at + 86_400,
            keys: &keys,
            changes: &changes,
        },
    )?;
    Ok((delta, changed))
}

/// Runs the real `verifier verify --data` on the stored bundle + delta: cold (no cache: every
/// signature verified, the cache written), then twice cached. Wall time and peak RSS of each.
fn verifier_runs(
    args: &Args,
    root: &credential::jose::PublicJwk,
    bundle: &str,
    delta: &str,
    presentation: &str,
) -> anyhow::Result<serde_json::Value> {
    let bin = match &args.verifier_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no parent directory")?
            .join("verifier"),
    };
    if !bin.exists() {
        anyhow::bail!(
            "{} not found; build it with `cargo build --release -p verifier --bin verifier`",
            bin.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    std::fs::write(
        state.join("root.jwk"),
        format!("{}\n", root.to_bare_value()),
    )?;
    std::fs::write(state.join("bundle.jwt"), format!("{bundle}\n"))?;
    std::fs::write(state.join("deltas.jwt"), format!("{delta}\n"))?;
    let p = dir.path().join("presentation");
    std::fs::write(&p, presentation)?;
    let run = |label: &str| -> anyhow::Result<serde_json::Value> {
        let time = Path::new("/usr/bin/time");
        let mut cmd = if time.exists() {
            let mut c = Command::new(time);
            c.arg("-f").arg("maxrss_kb=%M").arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        cmd.args(["verify", "--data"])
            .arg(&state)
            .args(["--nonce", "n", "--aud", "https://hotel", "--json"])
            .arg(&p);
        let start = Instant::now();
        let out = cmd.output()?;
        let secs = start.elapsed().as_secs_f64();
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            anyhow::bail!("{label}: verifier failed: {err}");
        }
        let rss = err
            .lines()
            .filter_map(|l| l.strip_prefix("maxrss_kb="))
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .next_back();
        Ok(json!({"seconds": secs, "max_rss_kb": rss}))
    };
    let cold = run("cold")?;
    let cached = run("cached")?;
    let cached2 = run("cached")?;
    let cache_bytes = std::fs::metadata(state.join("verified-state.cache"))
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(
        json!({"cold": cold, "cached": cached, "cached_again": cached2, "cache_file_bytes": cache_bytes}),
    )
}
