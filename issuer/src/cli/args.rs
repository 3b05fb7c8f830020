//! The arguments several subcommands share: the data directory, the key algorithm, and the
//! audit actor of a command run from the shell.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use issuer::config::{self, Overrides};
use issuer::Issuer;

/// `--alg es256|eddsa` (any case: ES256 and EdDSA are accepted too), the one spelling of the
/// algorithm flag in every command and binary.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgArg {
    /// P-256 ECDSA (ES256).
    Es256,
    /// Ed25519 (EdDSA).
    Eddsa,
}

impl AlgArg {
    /// The JOSE algorithm.
    pub fn alg(self) -> credential::jose::Alg {
        match self {
            AlgArg::Es256 => credential::jose::Alg::Es256,
            AlgArg::Eddsa => credential::jose::Alg::EdDsa,
        }
    }
}

/// `--data DIR`, shared by the commands that open the data directory.
#[derive(Debug, Clone, Args)]
pub struct DataArg {
    /// Data directory of an existing bureau (database, keys, issuer.toml); refused if missing.
    /// Default: $ISSUER_DATA or ./issuer-data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

impl DataArg {
    /// Opens the issuer on the data directory with the file and environment configuration
    /// (SQLite there, or the PostgreSQL `database_url` it names). A directory that does not
    /// exist is refused ([`config::ConfigError::NoDataDir`]): only `serve` creates a bureau.
    pub(crate) async fn open(&self) -> anyhow::Result<Arc<Issuer>> {
        let dir = config::data_dir(self.data.clone());
        config::require_data_dir(&dir)?;
        let cfg = config::load(&dir, &Overrides::default())?;
        Ok(Issuer::connect(cfg).await?)
    }
}

/// The audit actor for commands run by hand.
pub(crate) fn cli_actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}
