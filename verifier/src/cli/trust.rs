//! `verifier trust pin|show`: the pinned root and what the last synced bundle holds.

use std::path::PathBuf;

use credential::jose::PublicJwk;
use serde_json::{json, Value};

use verifier::bundle::KeyState;

use super::state::{read_limited, State, StateArg};
use super::{now, Outcome};

/// Pin the bureau's root key, or show the local trust state.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Pin the bureau's root public JWK; prints its RFC 7638 fingerprint to compare with the
    /// one the bureau publishes.
    #[command(
        after_help = "Example:\n  verifier trust pin root.jwk --data ./verifier-data\n\nExit codes: 0 pinned, 2 could not run."
    )]
    Pin {
        #[command(flatten)]
        state: StateArg,
        /// The root's public JWK.
        root_jwk_file: PathBuf,
        /// Replace an existing, different pin (drops the stored bundle).
        #[arg(long)]
        force: bool,
    },
    /// Show the pinned root, issuer keys with validity windows, status shards with their age,
    /// and the next update.
    #[command(
        after_help = "Example:\n  verifier trust show --data ./verifier-data --json\n\nExit codes: 0 shown, 2 could not run."
    )]
    Show {
        #[command(flatten)]
        state: StateArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args) -> Outcome {
    let r = match args.command {
        Command::Pin {
            state,
            root_jwk_file,
            force,
        } => pin(&State::new(&state.dir), &root_jwk_file, force),
        Command::Show { state, json } => show(&State::new(&state.dir), json),
    };
    match r {
        Ok(()) => Outcome::Accepted,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::CouldNotRun
        }
    }
}

fn pin(state: &State, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let text = read_limited(file, 64 * 1024)?;
    let root = PublicJwk::from_json(text.trim())
        .map_err(|e| anyhow::anyhow!("{}: not a public jwk: {e}", file.display()))?;
    if let Ok(existing) = state.root() {
        if existing.thumbprint() != root.thumbprint() {
            if !force {
                anyhow::bail!(
                    "another root ({}) is pinned; use --force to replace it",
                    existing.thumbprint()
                );
            }
            // The new root vouches for none of the stored files.
            for name in [
                super::state::CACHE_FILE,
                super::state::DELTAS_FILE,
                super::state::BUNDLE_FILE,
                super::state::WITHDRAWALS_FILE,
            ] {
                state.remove(name)?;
            }
        }
    }
    state.pin(&root)?;
    println!(
        "pinned root key fingerprint (RFC 7638): {}",
        root.thumbprint()
    );
    println!("compare it with the fingerprint the bureau publishes before trusting this verifier");
    Ok(())
}

/// Unix seconds as RFC 3339.
pub fn format_time(t: i64) -> String {
    credential::timestamp::rfc3339(t).unwrap_or_else(|| t.to_string())
}

fn age(secs: i64) -> String {
    match secs {
        s if s < 0 => "in the future".into(),
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn show(state: &State, as_json: bool) -> anyhow::Result<()> {
    let mut out = String::new();
    render(state, as_json, &mut out)?;
    write_stdout(&out)
}

/// Writes `text` to stdout. A reader that went away (`verifier trust show | head`) is not an
/// error: the rest of the listing is simply not wanted.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

fn render(state: &State, as_json: bool, out: &mut String) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let root = state.root()?;
    let loaded = state.load(&root)?;
    let now = now();
    let Some(loaded) = loaded else {
        if as_json {
            writeln!(
                out,
                "{}",
                json!({"root": root.thumbprint(), "bundle": Value::Null})
            )?;
        } else {
            writeln!(out, "root: {} (pinned)", root.thumbprint())?;
            writeln!(
                out,
                "no trust bundle synced; run `verifier sync ISSUER_URL`"
            )?;
        }
        return Ok(());
    };
    let b = &loaded.state;
    let keys: Vec<Value> = b
        .keys
        .iter()
        .map(|k| {
            json!({"kid": k.kid, "alg": k.jwk.alg().as_str(),
                   "state": k.state.as_str(),
                   "not_before": k.not_before, "not_after": k.not_after,
                   "last_credential_expiry": k.last_credential_expiry,
                   "withdrawn_since": k.withdrawn_since})
        })
        .collect();
    let lists: Vec<Value> = b
        .lists
        .iter()
        .map(|(uri, l)| {
            json!({"shard": l.shard, "uri": uri, "issued_at": l.known.issued_at,
                   "age_seconds": now - l.known.issued_at, "exp": l.known.expires_at,
                   "entries": l.known.list.len(),
                   "compressed_bytes": l.known.list.as_zlib().len()})
        })
        .collect();
    if as_json {
        writeln!(
            out,
            "{}",
            json!({"root": root.thumbprint(), "issuer": b.iss, "issued_at": b.issued_at,
                   "age_seconds": now - b.issued_at, "next_update": b.next_update,
                   "overdue": now > b.next_update, "bundle_bytes": loaded.bundle_bytes,
                   "status_seq": b.status_seq, "deltas": loaded.deltas,
                   "deltas_bytes": loaded.deltas_bytes,
                   "loaded_from": if loaded.from_cache { "cache" } else { "verified" },
                   "keys": keys, "status_lists": lists})
        )?;
        return Ok(());
    }
    writeln!(out, "root:        {} (pinned)", root.thumbprint())?;
    writeln!(out, "issuer:      {}", b.iss)?;
    writeln!(
        out,
        "state:       issued {} ({} ago); bundle {} bytes + {} deltas ({} bytes); status_seq {}",
        format_time(b.issued_at),
        age(now - b.issued_at),
        loaded.bundle_bytes,
        loaded.deltas,
        loaded.deltas_bytes,
        b.status_seq
            .map(|s| s.to_string())
            .unwrap_or_else(|| "none (full syncs only)".into()),
    )?;
    let overdue = if now > b.next_update {
        " (overdue: sync the verifier)"
    } else {
        ""
    };
    writeln!(out, "next update: {}{overdue}", format_time(b.next_update))?;
    writeln!(out, "issuer keys:")?;
    for k in &b.keys {
        let until = k.not_after.map(format_time).unwrap_or_else(|| "now".into());
        let until = match (k.state, k.withdrawn_since) {
            (KeyState::Withdrawn, Some(t)) => format!("{until}, withdrawn from {}", format_time(t)),
            (KeyState::Withdrawn, None) => format!("{until}, withdrawn entirely"),
            _ => until,
        };
        writeln!(
            out,
            "  {} {} {:<7} signs credentials issued {} .. {}",
            k.kid,
            k.jwk.alg().as_str(),
            k.state.as_str(),
            format_time(k.not_before),
            until
        )?;
    }
    writeln!(out, "status shards:")?;
    for (uri, l) in &b.lists {
        writeln!(
            out,
            "  {} ({} entries, {} bytes compressed) fresh as of {} ago{}",
            uri,
            l.known.list.len(),
            l.known.list.as_zlib().len(),
            age(now - l.known.issued_at),
            l.known
                .expires_at
                .filter(|e| *e < now)
                .map(|_| ", expired")
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
