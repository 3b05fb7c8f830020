//! `scale`: the national-scale measurement of the trust bundle (`docs/scale.md`).
//!
//! Fills an issuer's status state with N simulated credentials, revokes a fraction, builds the
//! root-signed trust bundle, then times a verifier's sync (bundle verification and loading) and
//! a verification against the synced state. Two modes:
//!
//! - `db`: a real issuer in a temporary directory; credentials inserted directly into SQLite
//!   with indexes drawn like real ones (`Issuer::simulate_credentials`), the bundle built by
//!   `Issuer::trust_bundle`.
//! - `bitmap`: the shard bitmaps built directly in memory (same shard size, same 3/4 fill,
//!   revoked entries uniformly random), signed and bundled with the issuer's own functions.
//!   For sizes where SQLite inserts take too long.
//!
//! ```sh
//! cargo run --release --bin scale -- --credentials 1000000 --revoked-fraction 0.01 --mode db
//! ```

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use credential::citizen::{CitizenClaims, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use credential::status_list::{Bits, StatusList, StatusListToken};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::json;
use verifier::bundle::{BundleLimits, VerifiedBundle};
use verifier::{Policy, Verifier};

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
    /// Print JSON.
    #[arg(long)]
    json: bool,
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
    issuer.close();

    let root = issuer.keys.root().public_jwk().clone();
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
    let memory: usize = verified
        .lists
        .iter()
        .map(|l| l.known.list.as_zlib().len())
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
        "verifier_status_memory_bytes": memory,
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
        .sign(&key);
        lists.push((first + shard, uri, token));
        left -= n;
        shard += 1;
    }
    let keys: Vec<serde_json::Value> = issuer
        .keys
        .published(now)
        .iter()
        .map(|r| r.to_json())
        .collect();
    let bundle = issuer::trust::sign_trust_bundle(
        &issuer.keys.root(),
        &issuer::trust::BundleContents {
            iss: issuer.url(),
            issued_at: now,
            next_update: now + 86_400,
            keys: &keys,
            status_lists: &lists,
            status_seq: None,
        },
    );
    Ok((bundle, revoked))
}
