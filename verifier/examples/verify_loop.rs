//! Runs one stage of the hotel-desk verification (`benches/hotel/mod.rs`) a given number of
//! times, for counting CPU cycles with `perf stat -e cycles:u` on a shared machine, where
//! wall-clock benchmarks mostly measure the other processes.
//!
//! ```text
//! cargo build --release -p verifier --example verify_loop
//! perf stat -e cycles:u target/release/examples/verify_loop verify 20000
//! perf stat -e cycles:u target/release/examples/verify_loop verify 0     # setup only
//! ```
//!
//! Where hardware counters are not available, count instructions with callgrind instead; each
//! stage runs once before the loop (warming the status-list cache), so `N` iterations minus the
//! same command with `0` is exactly `N` stages:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.verify.200 \
//!     target/release/examples/verify_loop verify 200 high
//! ```
//!
//! The optional third argument picks the credential: `high` (the default: address, ID card and
//! portrait among the undisclosed claims) or `basic`.
//!
//! `verify_loop batch N DIR` writes what the CLI's batch mode needs instead: `DIR/jwks.json`,
//! `DIR/status.jwt` and `DIR/batch.jsonl`, N presentations of the hotel credential, each bound
//! to its own nonce (verify them with `--now 1772323200`, see `docs/performance.md`).
//!
//! Stages: `verify` (`Verifier::verify`), `raw` (the two ES256 signature verifications it
//! contains), `parse` (`SdJwt::parse`), `sd_jwt` (`SdJwt::verify` of the parsed presentation:
//! signatures, disclosures, times, key binding), `sd_hash` (the KB-JWT's hash over the
//! presentation), `holder` (the holder key from `cnf.jwk`).

use std::hint::black_box;
use std::time::Instant;

use credential::citizen::Level;
use credential::jose::PublicJwk;
use credential::sd_jwt::{add_key_binding, SdAlg, SdJwt};

#[path = "../benches/hotel/mod.rs"]
mod hotel;

use hotel::{fixture_at, sd_jwt_options, signed_parts, verify_raw_pair, AUD, NONCE, NOW};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(stage), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!(
            "usage: verify_loop verify|raw|parse|sd_jwt|sd_hash|holder ITERATIONS [high|basic]"
        );
        std::process::exit(2);
    };
    // `batch N DIR [LEVEL]`, every other stage `STAGE N [LEVEL]`.
    let level_arg = if stage == "batch" { 4 } else { 3 };
    let level = match args.get(level_arg).map(String::as_str) {
        Some("basic") => Level::Basic,
        _ => Level::High,
    };
    let f = fixture_at(level);
    if stage == "batch" {
        let Some(dir) = args.get(3) else {
            eprintln!("usage: verify_loop batch N DIR [high|basic]");
            std::process::exit(2);
        };
        write_batch(&f, n, std::path::Path::new(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        return;
    }
    eprintln!(
        "hotel presentation ({level}): {} bytes, 3 of {} disclosures",
        f.presentation.len(),
        f.issued_disclosures
    );
    let parsed =
        SdJwt::parse(&f.presentation, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let signed = signed_parts(&parsed);
    let holder = f.holder.to_bare_value();
    let options = sd_jwt_options();
    // One untimed run first: the status list is inflated into the store's cache once, as it
    // would be on a desk that verifies all day.
    let mut start = Instant::now();
    for i in 0..=n {
        if i == 1 {
            start = Instant::now();
        }
        match stage.as_str() {
            "verify" => {
                black_box(
                    f.verifier
                        .verify(black_box(&f.presentation), NONCE, AUD, NOW),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            }
            "raw" => verify_raw_pair(&f, &signed),
            "parse" => {
                black_box(SdJwt::parse(
                    black_box(&f.presentation),
                    &Default::default(),
                ))
                .unwrap_or_else(|e| panic!("{e}"));
            }
            "sd_jwt" => {
                black_box(black_box(&parsed).verify(&f.verifier.trust, &options))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "sd_hash" => {
                black_box(SdAlg::Sha256.digest(black_box(parsed.sd_hash_input())));
            }
            "holder" => {
                black_box(PublicJwk::from_value(black_box(&holder)))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            other => {
                eprintln!("unknown stage {other}");
                std::process::exit(2);
            }
        }
    }
    if n > 0 {
        let each = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        eprintln!("{stage}: {n} iterations, {each:.2} us each (wall clock)");
    }
}

/// The trust file, the status token and `n` JSON lines `{"presentation", "nonce", "aud"}`.
fn write_batch(f: &hotel::Fixture, n: u64, dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let jwks = serde_json::json!({"keys": [f.issuer.to_value()]});
    std::fs::write(dir.join("jwks.json"), jwks.to_string())?;
    std::fs::write(dir.join("status.jwt"), &f.status_token)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("batch.jsonl"))?);
    for i in 0..n {
        let nonce = format!("n-{i:06}");
        let presentation = add_key_binding(&f.selected, &f.holder_key, &nonce, AUD, NOW - 5);
        let line = serde_json::json!({"presentation": presentation, "nonce": nonce, "aud": AUD});
        writeln!(out, "{line}")?;
    }
    out.flush()
}
