//! `wallet keygen`: a holder key for the stateless flow (`wallet present --holder-key`).

use std::io::Write as _;
use std::process::ExitCode;

use credential::jose::{Alg, SigningKey};

/// Generate a holder key: the private JWK goes to --out (mode 0600), the public JWK to stdout
/// (give it to the issuer as --holder-jwk).
#[derive(clap::Args)]
#[command(after_help = "Example:\n  wallet keygen --out holder.jwk > holder.pub.jwk")]
pub struct Args {
    /// Where to write the private JWK (refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
    /// Use Ed25519 (EdDSA) instead of P-256 (ES256).
    #[arg(long)]
    eddsa: bool,
}

pub fn run(args: Args) -> ExitCode {
    let alg = if args.eddsa { Alg::EdDsa } else { Alg::Es256 };
    let key = SigningKey::generate(alg, &mut rand_core::OsRng);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&args.out).and_then(|mut f| {
        f.write_all(key.to_private_jwk().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    if let Err(e) = written {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    println!("{}", key.public_jwk().to_value());
    ExitCode::SUCCESS
}
