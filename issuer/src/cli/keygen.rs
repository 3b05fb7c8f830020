//! `issuer keygen`: a fresh signing key for offline signing (`issuer sign`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use credential::jose::{Alg, SigningKey};

/// Generate a signing key: the private JWK goes to --out (mode 0600), the public JWK to stdout.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  issuer keygen --out issuer.jwk > issuer.pub.jwk")]
pub struct KeygenArgs {
    /// Where to write the private JWK (refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Algorithm.
    #[arg(long, value_enum, default_value = "es256")]
    alg: AlgArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AlgArg {
    Es256,
    Eddsa,
}

pub async fn run(args: KeygenArgs) -> anyhow::Result<()> {
    let alg = match args.alg {
        AlgArg::Es256 => Alg::Es256,
        AlgArg::Eddsa => Alg::EdDsa,
    };
    let key = SigningKey::generate(alg, &mut rand_core::OsRng);
    write_private(&args.out, &key)?;
    println!("{}", key.public_jwk().to_value());
    Ok(())
}

/// Writes a private JWK to a new file readable only by the owner.
pub fn write_private(path: &PathBuf, key: &SigningKey) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(key.to_private_jwk().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
