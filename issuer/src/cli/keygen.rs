//! `issuer keygen`: a fresh signing key for offline signing (`issuer sign`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use credential::jose::SigningKey;

use super::args::AlgArg;

/// Generate a signing key: the private JWK goes to --out (mode 0600), the public JWK to
/// --public-out or stdout. Both files are checked before anything is written.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  issuer keygen --alg eddsa --out issuer.jwk --public-out issuer.pub.jwk\n\n\
Neither file may exist yet; when one does, nothing is written. Prefer --public-out to\n\
`> issuer.pub.jwk`: the shell empties a redirected file before keygen can refuse."
)]
pub struct KeygenArgs {
    /// Where to write the private JWK (refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Where to write the public JWK (refuses to overwrite) [default: standard output].
    #[arg(long, value_name = "FILE")]
    public_out: Option<PathBuf>,
    /// Algorithm: es256 or eddsa, any case.
    #[arg(long, value_enum, ignore_case = true, default_value = "es256")]
    alg: AlgArg,
}

pub async fn run(args: KeygenArgs) -> anyhow::Result<()> {
    // Everything is checked before the first byte is written.
    refuse_existing(&args.out)?;
    if let Some(public) = &args.public_out {
        refuse_existing(public)?;
        if public == &args.out {
            anyhow::bail!("--out and --public-out name the same file");
        }
    }
    let key = SigningKey::generate(args.alg.alg(), &mut rand_core::OsRng);
    write_private(&args.out, &key)?;
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
pub fn refuse_existing(path: &Path) -> anyhow::Result<()> {
    if path.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} exists already; keygen never overwrites a key",
            path.display()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot create {}: no directory {}",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// Writes a private JWK to a new file readable only by the owner.
pub fn write_private(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let mut text = key.to_private_jwk();
    text.push('\n');
    write_new(path, text.as_bytes(), 0o600)
}

/// Writes `bytes` to a new file (never an existing one) with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
