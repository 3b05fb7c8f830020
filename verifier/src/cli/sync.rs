//! `verifier sync`: bring the local trust state up to date from the bureau, verified against
//! the pinned root, stored atomically. With a stored base that carries a `status_seq`, it asks
//! for the delta since that base (`ISSUER_URL/trust-bundle/delta?since=SEQ`) and applies it;
//! it fetches the full bundle (`ISSUER_URL/trust-bundle`) when it has no base, when the issuer
//! answers that the base is unknown or too old (`delta_base_unknown`), when the issuer serves
//! no deltas, when the stored delta chain has grown past the bundle's size (and 1 MiB), or with
//! `--full`. A refused bundle or delta leaves the previous state untouched. Before either, it
//! fetches the bureau's root-signed key-withdrawal notice (`ISSUER_URL/trust-bundle/withdrawals`)
//! and stores and applies it first, so an emergency withdrawal takes effect even when the
//! bundle or delta after it fails.

use std::path::PathBuf;

use serde_json::json;
use verifier::bundle::{BundleError, BundleLimits, Freshness, VerifiedBundle};
use verifier::delta::{self, DeltaError, DeltaLimits, VerifiedDelta};
use verifier::withdrawal::{self, VerifiedWithdrawals, WithdrawalError, WithdrawalLimits};
use verifier::TrustState;

use super::state::{read_limited, Loaded, State, StateArg};
use super::trust::format_time;
use super::{now, Outcome};

/// Sync the trust state from the issuer (a delta since the stored base when possible, else the
/// full bundle), or import a bundle or delta file.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  verifier sync https://id.example.cn\n  verifier sync --file trust-bundle.jwt --data /var/lib/verifier\n  verifier sync --file delta.jwt --data /var/lib/verifier\n  verifier sync --file withdrawals.jwt --data /var/lib/verifier\n\n\
Emergency key withdrawals (<URL>/trust-bundle/withdrawals, typ key-withdrawals+jwt) are fetched\n\
and applied first, and kept even when the bundle or delta that follows is refused.\n\
Exit codes: 0 stored (or already current), 1 bundle, delta or withdrawal notice refused (stderr names the check; the previous state is kept), 2 could not run."
)]
pub struct Args {
    #[command(flatten)]
    state: StateArg,
    /// The issuer's URL; deltas come from `<URL>/trust-bundle/delta`, bundles from
    /// `<URL>/trust-bundle`.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    issuer_url: Option<String>,
    /// Import a bundle or delta file instead (offline: a USB stick, a courier).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Fetch the full bundle even when a delta would do.
    #[arg(long, conflicts_with = "file")]
    full: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// A refusal, from any parser.
enum Refusal {
    Bundle(BundleError),
    Delta(DeltaError),
    Withdrawals(WithdrawalError),
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Refusal::Bundle(e) => e.code(),
            Refusal::Delta(e) => e.code(),
            Refusal::Withdrawals(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            Refusal::Bundle(e) => e.to_string(),
            Refusal::Delta(e) => e.to_string(),
            Refusal::Withdrawals(e) => e.to_string(),
        }
    }
}

pub fn run(args: Args) -> Outcome {
    let state = State::new(&args.state.dir);
    let root = match state.root() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    // A stored state that no longer verifies (tampered with) is replaced by any verifying
    // bundle.
    let mut stored = match state.load(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: {e:#}");
            None
        }
    };
    let limits = BundleLimits::default();
    // Emergency key withdrawals come first and are kept whatever happens to the bundle or
    // delta after them.
    let mut urgent = None;
    let text = match (&args.file, &args.issuer_url) {
        (Some(file), _) => read_limited(file, limits.max_bundle_bytes),
        (None, Some(url)) => {
            match fetch_withdrawals(url) {
                Ok(Some(text)) => {
                    urgent = Some(apply_withdrawals(&state, &root, stored.as_mut(), &text));
                }
                Ok(None) => {}
                Err(e) => eprintln!("warning: {e:#}"),
            }
            if let Some(seq) = delta_base(stored.as_ref(), args.full) {
                match fetch_delta(url, seq) {
                    Ok(Fetched::Delta(text)) => {
                        let result = apply_delta(&state, &root, stored, &text);
                        return finish(&args, urgent, result);
                    }
                    Ok(Fetched::Unavailable(why)) => {
                        eprintln!("note: no delta from status_seq {seq} ({why}); fetching the full trust bundle");
                    }
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        return finish(&args, urgent, Err(Failure::Io(e)));
                    }
                }
            }
            fetch(url, limits.max_bundle_bytes)
        }
        (None, None) => Err(anyhow::anyhow!("give ISSUER_URL or --file")),
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => return finish(&args, urgent, Err(Failure::Io(e))),
    };
    let result = match delta::peek_typ(&text).as_deref() {
        Some(delta::TYP) => apply_delta(&state, &root, stored, &text),
        Some(withdrawal::TYP) => apply_withdrawals(&state, &root, stored.as_mut(), &text),
        _ => apply_bundle(&state, &root, stored, &text),
    };
    finish(&args, urgent, result)
}

/// Verifies and stores a key-withdrawal notice, and applies it to the loaded state.
fn apply_withdrawals(
    state: &State,
    root: &credential::jose::PublicJwk,
    stored: Option<&mut Loaded>,
    text: &str,
) -> Result<Synced, Failure> {
    let refused = |e| Failure::Refused(Refusal::Withdrawals(e));
    let notice = VerifiedWithdrawals::verify(text, root, now(), &WithdrawalLimits::default())
        .map_err(refused)?;
    let changed = match stored {
        Some(loaded) => loaded.state.apply_withdrawals(&notice).map_err(refused)?,
        None => 0,
    };
    state
        .store_withdrawals(root, &notice)
        .map_err(Failure::Io)?;
    let n = notice.withdrawals.len();
    Ok(Synced {
        report: json!({"stored": true, "kind": "withdrawals", "issuer": notice.iss,
                       "issued_at": notice.issued_at, "withdrawn_keys": n,
                       "newly_withdrawn": changed}),
        line: format!(
            "stored key-withdrawal notice from {} issued {} ({n} withdrawn keys, {changed} newly withdrawn here)",
            notice.iss,
            format_time(notice.issued_at),
        ),
        next_update: i64::MAX,
    })
}

/// A delta chain smaller than this is never compacted.
const COMPACT_MIN_BYTES: usize = 1 << 20;

/// The `status_seq` to ask a delta from, if a delta should be tried.
fn delta_base(stored: Option<&Loaded>, full: bool) -> Option<i64> {
    let stored = stored?;
    if full {
        return None;
    }
    // Compaction: once the chain outweighs the bundle (and is not tiny), re-verifying it on
    // a cache miss costs more than a fresh base.
    if stored.deltas_bytes > stored.bundle_bytes.max(COMPACT_MIN_BYTES) {
        eprintln!("note: the stored delta chain has grown past the bundle's size; fetching the full trust bundle");
        return None;
    }
    stored.state.status_seq
}

/// What a sync stored.
struct Synced {
    report: serde_json::Value,
    line: String,
    next_update: i64,
}

fn finish(
    args: &Args,
    urgent: Option<Result<Synced, Failure>>,
    result: Result<Synced, Failure>,
) -> Outcome {
    // The withdrawal notice's outcome is reported first, then the bundle's or delta's; the
    // exit code is 0 only when both succeeded.
    let (urgent_report, urgent_ok) = match urgent {
        None => (None, true),
        Some(Ok(s)) => {
            if !args.json {
                println!("{}", s.line);
            }
            (Some(s.report), true)
        }
        Some(Err(Failure::Refused(r))) => {
            eprintln!(
                "refused: {}: {}; stored key withdrawals are kept",
                r.code(),
                r.message()
            );
            (
                Some(json!({"stored": false, "error": r.code(), "message": r.message()})),
                false,
            )
        }
        Some(Err(Failure::Io(e))) => {
            eprintln!("error: {e:#}");
            (
                Some(json!({"stored": false, "error": "io", "message": format!("{e:#}")})),
                false,
            )
        }
    };
    let with_urgent = |mut report: serde_json::Value| {
        if let (Some(u), Some(obj)) = (&urgent_report, report.as_object_mut()) {
            obj.insert("withdrawals".into(), u.clone());
        }
        report
    };
    let outcome = match result {
        Ok(s) => {
            if args.json {
                println!("{}", with_urgent(s.report));
            } else {
                println!("{}", s.line);
            }
            if s.next_update < now() {
                eprintln!(
                    "warning: this state's next_update has passed; the issuer should have a newer one"
                );
            }
            Outcome::Accepted
        }
        Err(Failure::Refused(r)) => {
            if args.json {
                println!(
                    "{}",
                    with_urgent(
                        json!({"stored": false, "error": r.code(), "message": r.message()})
                    )
                );
            }
            eprintln!(
                "refused: {}: {}; the previous trust state is kept",
                r.code(),
                r.message()
            );
            Outcome::Rejected
        }
        Err(Failure::Io(e)) => {
            eprintln!("error: {e:#}");
            return Outcome::CouldNotRun;
        }
    };
    if urgent_ok {
        outcome
    } else {
        Outcome::Rejected
    }
}

enum Failure {
    Refused(Refusal),
    Io(anyhow::Error),
}

fn apply_bundle(
    state: &State,
    root: &credential::jose::PublicJwk,
    stored: Option<Loaded>,
    text: &str,
) -> Result<Synced, Failure> {
    let now = now();
    let refused = |e| Failure::Refused(Refusal::Bundle(e));
    let bundle =
        VerifiedBundle::verify(text, root, now, &BundleLimits::default()).map_err(refused)?;
    // Never older than the stored state (bundle and deltas): ordered by time, and by the
    // status counter between states of the same second.
    let freshness = match &stored {
        None => Freshness::Newer,
        Some(s) => match verifier::bundle::order(
            (bundle.status_seq, bundle.issued_at),
            (s.state.status_seq, s.state.issued_at),
        ) {
            std::cmp::Ordering::Greater => Freshness::Newer,
            std::cmp::Ordering::Less => {
                return Err(refused(BundleError::Replayed {
                    stored: s.state.issued_at,
                    found: bundle.issued_at,
                }))
            }
            std::cmp::Ordering::Equal => {
                let same = s.deltas == 0
                    && state
                        .bundle(root)
                        .ok()
                        .flatten()
                        .is_some_and(|b| b.as_str() == bundle.as_str());
                if !same {
                    return Err(refused(BundleError::Conflicting {
                        issued_at: bundle.issued_at,
                    }));
                }
                Freshness::Unchanged
            }
        },
    };
    let unchanged = freshness == Freshness::Unchanged;
    let (iss, issued_at, next_update, seq, keys, lists, bytes) = (
        bundle.iss.clone(),
        bundle.issued_at,
        bundle.next_update,
        bundle.status_seq,
        bundle.keys.len(),
        bundle.lists.len(),
        bundle.as_str().len(),
    );
    if !unchanged {
        let raw = bundle.as_str().to_owned();
        let mut new_state = TrustState::from_bundle(bundle);
        // Stored key withdrawals outlive any bundle.
        state
            .apply_withdrawals(root, &mut new_state)
            .map_err(Failure::Io)?;
        state
            .store_bundle_text(&raw, &new_state)
            .map_err(Failure::Io)?;
    }
    Ok(Synced {
        report: json!({"stored": true, "kind": "full", "unchanged": unchanged, "issuer": iss,
                       "issued_at": issued_at, "next_update": next_update, "status_seq": seq,
                       "keys": keys, "status_lists": lists, "bytes": bytes}),
        line: format!(
            "{} trust bundle from {iss} issued {} ({keys} keys, {lists} status lists, {bytes} bytes); next update {}",
            if unchanged { "already have" } else { "stored" },
            format_time(issued_at),
            format_time(next_update),
        ),
        next_update,
    })
}

fn apply_delta(
    state: &State,
    root: &credential::jose::PublicJwk,
    stored: Option<Loaded>,
    text: &str,
) -> Result<Synced, Failure> {
    let refused = |e| Failure::Refused(Refusal::Delta(e));
    let delta =
        VerifiedDelta::verify(text, root, now(), &DeltaLimits::default()).map_err(refused)?;
    let Some(stored) = stored else {
        return Err(refused(DeltaError::BaseMismatch {
            stored: None,
            base: delta.base_status_seq,
        }));
    };
    let chain = stored.chain;
    let mut next = stored.state;
    // The same state again within the same second (nothing changed): already current.
    let unchanged = next.already_holds(&delta);
    if !unchanged {
        next.apply(&delta).map_err(refused)?;
        // The delta's key list replaced the stored one: stored withdrawals again on top.
        state
            .apply_withdrawals(root, &mut next)
            .map_err(Failure::Io)?;
        state
            .store_delta(&chain, &delta, &next)
            .map_err(Failure::Io)?;
    }
    let entries = delta.entries();
    let lists = delta.changes.len();
    let bytes = delta.as_str().len();
    Ok(Synced {
        report: json!({"stored": true, "kind": "delta", "unchanged": unchanged,
                       "issuer": delta.iss, "issued_at": delta.issued_at,
                       "next_update": delta.next_update, "base_status_seq": delta.base_status_seq,
                       "status_seq": delta.status_seq, "changed_entries": entries,
                       "changed_lists": lists, "bytes": bytes}),
        line: format!(
            "{} trust-bundle delta from {} issued {} ({entries} entries changed in {lists} lists, {bytes} bytes); status_seq {}; next update {}",
            if unchanged { "already current:" } else { "applied" },
            delta.iss,
            format_time(delta.issued_at),
            delta.status_seq,
            format_time(delta.next_update),
        ),
        next_update: delta.next_update,
    })
}

/// What the issuer answered to a delta request.
enum Fetched {
    Delta(String),
    /// The issuer cannot serve it (base unknown or too old, or no delta endpoint): why.
    Unavailable(String),
}

#[cfg(feature = "sync")]
fn get(url: &str, max: usize) -> anyhow::Result<(u16, String)> {
    use std::io::Read as _;
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()?;
    let resp = client
        .get(url)
        .send()
        .map_err(|e| anyhow::anyhow!("cannot fetch {url}: {e}"))?;
    let status = resp.status().as_u16();
    let mut text = String::new();
    resp.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("cannot read {url}: {e}"))?;
    if text.len() > max {
        anyhow::bail!("{url}: answer larger than {max} bytes");
    }
    Ok((status, text))
}

#[cfg(not(feature = "sync"))]
fn get(_url: &str, _max: usize) -> anyhow::Result<(u16, String)> {
    anyhow::bail!("this verifier was built without the `sync` feature; use `verifier sync --file`")
}

fn fetch(url: &str, max: usize) -> anyhow::Result<String> {
    let url = format!("{}/trust-bundle", url.trim_end_matches('/'));
    let (status, text) = get(&url, max)?;
    if !(200..300).contains(&status) {
        anyhow::bail!("cannot fetch {url}: http {status}");
    }
    Ok(text)
}

/// The issuer's key-withdrawal notice (`<URL>/trust-bundle/withdrawals`); `None` when the
/// issuer serves none.
fn fetch_withdrawals(url: &str) -> anyhow::Result<Option<String>> {
    let url = format!("{}/trust-bundle/withdrawals", url.trim_end_matches('/'));
    let (status, text) = get(&url, WithdrawalLimits::default().max_bytes)?;
    match status {
        200..=299 => Ok(Some(text)),
        404 => Ok(None),
        s => anyhow::bail!("cannot fetch {url}: http {s}"),
    }
}

fn fetch_delta(url: &str, since: i64) -> anyhow::Result<Fetched> {
    let url = format!(
        "{}/trust-bundle/delta?since={since}",
        url.trim_end_matches('/')
    );
    let (status, text) = get(&url, DeltaLimits::default().max_delta_bytes)?;
    match status {
        200..=299 => Ok(Fetched::Delta(text)),
        404 => Ok(Fetched::Unavailable("the issuer serves no deltas".into())),
        410 => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let code = v.get("error").and_then(|c| c.as_str()).unwrap_or("gone");
            let why: String = v
                .get("error_description")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            Ok(Fetched::Unavailable(format!("{code}: {why}")))
        }
        s => anyhow::bail!("cannot fetch {url}: http {s}"),
    }
}
