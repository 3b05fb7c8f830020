//! `verifier sync`: fetch (or import) the bureau's trust bundle, verify it against the pinned
//! root, refuse one older than the stored bundle, and store it atomically. A refused bundle
//! leaves the previous state untouched.

use std::path::PathBuf;

use serde_json::json;
use verifier::bundle::{BundleLimits, Freshness, VerifiedBundle};

use super::state::{read_limited, State, StateArg};
use super::{now, Outcome};

/// Sync the trust bundle from the issuer (`ISSUER_URL/trust-bundle`) or import it from a file.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  verifier sync https://id.example.cn\n  verifier sync --file trust-bundle.jwt --state /var/lib/verifier\n\n\
Exit codes: 0 stored (or already current), 1 bundle refused (stderr names the check; the previous state is kept), 2 could not run."
)]
pub struct Args {
    #[command(flatten)]
    state: StateArg,
    /// The issuer's URL; the bundle is fetched from `<URL>/trust-bundle`.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    issuer_url: Option<String>,
    /// Import a bundle file instead (offline: a USB stick, a courier).
    #[arg(long, value_name = "BUNDLE")]
    file: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Outcome {
    let state = State::new(&args.state.dir);
    let limits = BundleLimits::default();
    let root = match state.root() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    // A stored bundle that no longer verifies (tampered with) is replaced by any verifying one.
    let stored = match state.bundle(&root) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("warning: {e:#}");
            None
        }
    };
    let fetched = match (&args.file, &args.issuer_url) {
        (Some(file), _) => read_limited(file, limits.max_bundle_bytes),
        (None, Some(url)) => fetch(url, limits.max_bundle_bytes),
        (None, None) => Err(anyhow::anyhow!("give ISSUER_URL or --file")),
    };
    let text = match fetched {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    let now = now();
    let checked = VerifiedBundle::verify(&text, &root, now, &limits)
        .and_then(|b| b.check_newer(stored.as_ref()).map(|f| (b, f)));
    let (bundle, freshness) = match checked {
        Ok(v) => v,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"stored": false, "error": e.code(), "message": e.to_string()})
                );
            }
            eprintln!(
                "refused: {}: {e}; the previous trust state is kept",
                e.code()
            );
            return Outcome::Rejected;
        }
    };
    if freshness == Freshness::Newer {
        if let Err(e) = state.store_bundle(&bundle) {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    }
    let unchanged = freshness == Freshness::Unchanged;
    if args.json {
        println!(
            "{}",
            json!({"stored": true, "unchanged": unchanged, "issuer": bundle.iss,
                   "issued_at": bundle.issued_at, "next_update": bundle.next_update,
                   "keys": bundle.keys.len(), "status_lists": bundle.lists.len(),
                   "bytes": bundle.as_str().len()})
        );
    } else {
        println!(
            "{} trust bundle from {} issued {} ({} keys, {} status lists, {} bytes); next update {}",
            if unchanged { "already have" } else { "stored" },
            bundle.iss,
            super::trust::format_time(bundle.issued_at),
            bundle.keys.len(),
            bundle.lists.len(),
            bundle.as_str().len(),
            super::trust::format_time(bundle.next_update),
        );
    }
    if bundle.next_update < now {
        eprintln!(
            "warning: this bundle's next_update has passed; the issuer should have a newer one"
        );
    }
    Outcome::Accepted
}

#[cfg(feature = "sync")]
fn fetch(url: &str, max: usize) -> anyhow::Result<String> {
    use std::io::Read as _;
    let url = format!("{}/trust-bundle", url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()?;
    let resp = client
        .get(&url)
        .send()
        .map_err(|e| anyhow::anyhow!("cannot fetch {url}: {e}"))?;
    if !resp.status().is_success() {
        anyhow::bail!("cannot fetch {url}: http {}", resp.status().as_u16());
    }
    let mut text = String::new();
    resp.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read {url}: {e}"))?;
    if text.len() > max {
        anyhow::bail!("{url}: bundle larger than {max} bytes");
    }
    Ok(text)
}

#[cfg(not(feature = "sync"))]
fn fetch(_url: &str, _max: usize) -> anyhow::Result<String> {
    anyhow::bail!("this verifier was built without the `sync` feature; use `verifier sync --file`")
}
