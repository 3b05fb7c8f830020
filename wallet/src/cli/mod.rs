//! One module per subcommand, plus what they share: the wallet directory, the passphrase and
//! the Argon2id key derivation.

pub mod delete;
pub mod import;
pub mod init;
pub mod keygen;
pub mod list;
pub mod present;
pub mod qr;
pub mod receive;
pub mod refresh;
pub mod show;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::Value;
use wallet::kdf::{KdfParams, KDF_FILE};
use wallet::Store;
use zeroize::Zeroizing;

/// Exit code: the operation was refused (declined, cannot satisfy, did not verify).
pub const REFUSED: u8 = 1;
/// Exit code: could not run.
pub const COULD_NOT_RUN: u8 = 2;

/// The wallet directory option every stateful command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct DataDir {
    /// The wallet directory.
    #[arg(long = "data", value_name = "DIR", default_value = "./wallet-data")]
    pub dir: PathBuf,
}

/// A command's failure: refused (exit 1) or could not run (exit 2).
pub enum Failure {
    Refused(String),
    CouldNotRun(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::CouldNotRun(e)
    }
}

impl From<wallet::StoreError> for Failure {
    fn from(e: wallet::StoreError) -> Failure {
        match e {
            wallet::StoreError::WrongKey => Failure::Refused(e.to_string()),
            other => Failure::CouldNotRun(other.into()),
        }
    }
}

/// Turns a command result into the exit code, with one line on stderr for errors.
pub fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(why)) => {
            eprintln!("refused: {why}");
            ExitCode::from(REFUSED)
        }
        Err(Failure::CouldNotRun(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(COULD_NOT_RUN)
        }
    }
}

/// Reads the passphrase from `WALLET_PASSPHRASE`, else from the terminal (twice when `confirm`).
pub fn passphrase(confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("WALLET_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no passphrase: set WALLET_PASSPHRASE or run in a terminal");
    }
    let first = Zeroizing::new(rpassword::prompt_password("wallet passphrase: ")?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *first != *again {
            anyhow::bail!("the passphrases differ");
        }
    }
    if first.is_empty() {
        anyhow::bail!("empty passphrase");
    }
    Ok(first)
}

/// Creates a wallet: salt file and store.
pub fn create(dir: &Path, passphrase: &str) -> anyhow::Result<Store> {
    let kdf_path = dir.join(KDF_FILE);
    if kdf_path.exists() || dir.join(wallet::store::DB_FILE).exists() {
        anyhow::bail!("{} already holds a wallet", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut salt = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    let kdf = KdfParams::recommended(&salt)?;
    let key = kdf.derive(passphrase.as_bytes())?;
    std::fs::write(&kdf_path, kdf.to_json())
        .with_context(|| format!("cannot write {}", kdf_path.display()))?;
    Ok(Store::open(dir, &key)?)
}

/// Opens an existing wallet, asking for the passphrase. `kdf.json` is read with a size limit
/// and its Argon2id parameters checked against the bounds (docs/wallet.md) before any
/// derivation, so an edited file is refused, never an abort.
pub fn open(data: &DataDir) -> Result<Store, Failure> {
    use std::io::Read as _;
    let kdf_path = data.dir.join(KDF_FILE);
    let mut text = Vec::new();
    std::fs::File::open(&kdf_path)
        .and_then(|f| {
            f.take(wallet::kdf::MAX_KDF_FILE as u64 + 1)
                .read_to_end(&mut text)
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "no wallet in {} (run `wallet init --data {}`)",
                data.dir.display(),
                data.dir.display()
            )
        })?;
    let kdf = KdfParams::from_json(&text).map_err(anyhow::Error::from)?;
    let pass = passphrase(false)?;
    let key = kdf.derive(pass.as_bytes()).map_err(anyhow::Error::from)?;
    Ok(Store::open(&data.dir, &key)?)
}

/// Runs a command on the opened wallet in `data` and turns its result into the exit code
/// ([`open`], then [`finish`]).
pub fn with_store(data: &DataDir, f: impl FnOnce(Store) -> Result<(), Failure>) -> ExitCode {
    finish(open(data).and_then(f))
}

/// A tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The wallet's HTTP client: no redirects followed, a 30 s timeout ([`wallet::http_client`]).
pub fn http() -> anyhow::Result<reqwest::Client> {
    Ok(wallet::http_client()?)
}

/// Reads a file, or standard input for `-`, refusing more than 16 MiB.
pub fn read_input(name: &str) -> anyhow::Result<String> {
    use std::io::Read;
    const MAX: u64 = 16 * 1024 * 1024;
    let mut text = String::new();
    if name == "-" {
        std::io::stdin().take(MAX + 1).read_to_string(&mut text)?;
    } else {
        std::fs::File::open(name)
            .and_then(|f| f.take(MAX + 1).read_to_string(&mut text))
            .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    }
    if text.len() as u64 > MAX {
        anyhow::bail!("{name} is larger than {MAX} bytes");
    }
    Ok(text)
}

/// The current Unix time.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn date(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Prints one short line for a claim value (long strings such as a portrait are cut).
pub fn short_value(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let head: String = text.chars().take(40).collect();
        format!("{head}… ({} bytes)", text.len())
    } else {
        text
    }
}
