//! `wallet keygen`: a holder key for the stateless flow (`wallet present --holder-key`).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use credential::jose::{Alg, SigningKey};

/// Generate a holder key: the private JWK goes to --out (mode 0600), the public JWK to
/// --public-out or stdout (give it to the issuer as --holder-jwk). Both files are checked
/// before anything is written.
#[derive(clap::Args)]
#[command(
    after_help = "Example:\n  wallet keygen --alg es256 --out holder.jwk --public-out holder.pub.jwk\n\n\
Neither file may exist yet; when one does, nothing is written. Prefer --public-out to\n\
`> holder.pub.jwk`: the shell empties a redirected file before keygen can refuse."
)]
pub struct Args {
    /// Where to write the private JWK (refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
    /// Where to write the public JWK (refuses to overwrite) [default: standard output].
    #[arg(long, value_name = "FILE")]
    public_out: Option<std::path::PathBuf>,
    /// Algorithm: es256 (P-256) or eddsa (Ed25519), any case.
    #[arg(long, value_enum, ignore_case = true, default_value = "es256")]
    alg: AlgArg,
}

/// `--alg es256|eddsa`, the spelling every binary uses.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AlgArg {
    /// P-256 ECDSA (ES256).
    Es256,
    /// Ed25519 (EdDSA).
    Eddsa,
}

pub fn run(args: Args) -> ExitCode {
    match keygen(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn keygen(args: &Args) -> Result<(), String> {
    // Everything is checked before the first byte is written.
    refuse_existing(&args.out)?;
    if let Some(public) = &args.public_out {
        refuse_existing(public)?;
        if public == &args.out {
            return Err("--out and --public-out name the same file".into());
        }
    }
    let alg = match args.alg {
        AlgArg::Es256 => Alg::Es256,
        AlgArg::Eddsa => Alg::EdDsa,
    };
    let key = SigningKey::generate(alg, &mut rand_core::OsRng);
    let mut private = key.to_private_jwk();
    private.push('\n');
    write_new(&args.out, private.as_bytes(), 0o600)?;
    let public = format!("{}\n", key.public_jwk().to_value());
    match &args.public_out {
        Some(path) => {
            if let Err(e) = write_new(path, public.as_bytes(), 0o644) {
                // Not half a key pair: the private key this run created goes too.
                let _ = std::fs::remove_file(&args.out);
                return Err(e);
            }
        }
        None => print!("{public}"),
    }
    Ok(())
}

/// Refuses a path that exists already (or whose directory does not exist).
fn refuse_existing(path: &Path) -> Result<(), String> {
    if path.symlink_metadata().is_ok() {
        return Err(format!(
            "{} exists already; keygen never overwrites a key",
            path.display()
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "cannot create {}: no directory {}",
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// Writes `bytes` to a new file (never an existing one) with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}
