//! One module per subcommand: an `Args` struct and a `run`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

pub mod cache;
pub mod qr;
pub mod request;
pub mod requests;
#[cfg(feature = "serve")]
pub mod serve;
pub mod state;
pub mod status;
pub mod sync;
pub mod trust;
pub mod verify;

/// How a command ended; maps to the documented exit codes.
pub enum Outcome {
    /// 0: accepted / success.
    Accepted,
    /// 1: rejected; the line has been printed.
    Rejected,
    /// 2: could not run; the line has been printed.
    CouldNotRun,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Accepted => ExitCode::SUCCESS,
            Outcome::Rejected => ExitCode::from(1),
            Outcome::CouldNotRun => ExitCode::from(2),
        }
    }
}

/// Inputs larger than this are refused before reading further (a presentation is a few KB).
pub const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Reads a file, or standard input for `-`, up to [`MAX_INPUT`] bytes.
pub fn read_input(name: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if name == "-" {
        std::io::stdin()
            .take(MAX_INPUT + 1)
            .read_to_string(&mut text)?;
    } else {
        std::fs::File::open(Path::new(name))
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?
            .take(MAX_INPUT + 1)
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    }
    if text.len() as u64 > MAX_INPUT {
        anyhow::bail!("{name} is larger than {MAX_INPUT} bytes");
    }
    Ok(text)
}

/// Parses `--now`: RFC 3339 (`2026-11-21T10:00:00Z`) or Unix seconds.
pub fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("{text:?} is neither RFC 3339 nor Unix seconds"))
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
