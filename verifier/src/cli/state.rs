//! The verifier's local trust state: a directory holding the pinned root (`root.jwk`) and the
//! last accepted trust bundle (`bundle.jwt`). Files are replaced atomically: written to a
//! temporary file in the same directory, fsynced, renamed over the old one, then the directory
//! is fsynced, so a crash at any point leaves either the old or the new file, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use credential::jose::PublicJwk;
use verifier::bundle::{BundleLimits, VerifiedBundle};

/// The pinned root's file name.
pub const ROOT_FILE: &str = "root.jwk";
/// The stored bundle's file name.
pub const BUNDLE_FILE: &str = "bundle.jwt";

/// `--state DIR`.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArg {
    /// Local trust state directory (pinned root, last synced trust bundle).
    #[arg(long = "state", value_name = "DIR", default_value = "./verifier-state")]
    pub dir: PathBuf,
}

/// The local trust state.
pub struct State {
    dir: PathBuf,
}

impl State {
    /// The state in `dir` (not created until something is stored).
    pub fn new(dir: &Path) -> State {
        State {
            dir: dir.to_path_buf(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pinned root.
    ///
    /// # Errors
    /// When nothing is pinned or the file is not a public JWK.
    pub fn root(&self) -> anyhow::Result<PublicJwk> {
        let path = self.dir.join(ROOT_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "no root pinned in {}; run `verifier trust pin ROOT_JWK_FILE` first",
                self.dir.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        PublicJwk::from_json(text.trim())
            .map_err(|e| anyhow::anyhow!("{}: not a public jwk: {e}", path.display()))
    }

    /// Pins `root` (replacing any earlier pin).
    ///
    /// # Errors
    /// I/O errors.
    pub fn pin(&self, root: &PublicJwk) -> anyhow::Result<()> {
        let text = format!("{}\n", root.to_bare_value());
        self.store(ROOT_FILE, text.as_bytes())
    }

    /// The stored bundle, verified again against the pinned root (the file may have been
    /// tampered with since), or `None` when none was synced.
    ///
    /// # Errors
    /// When the pinned root is missing or the stored bundle no longer verifies.
    pub fn bundle(&self, root: &PublicJwk) -> anyhow::Result<Option<VerifiedBundle>> {
        let path = self.dir.join(BUNDLE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        // Checked as of its own issue time: it was checked against the clock when synced;
        // freshness now is the policy's business at verification.
        let issued_at = issued_at_hint(&text).unwrap_or(i64::MAX);
        let bundle = VerifiedBundle::verify(&text, root, issued_at, &BundleLimits::default())
            .map_err(|e| {
                anyhow::anyhow!(
                    "stored bundle {} does not verify ({}: {e}); sync again",
                    path.display(),
                    e.code()
                )
            })?;
        Ok(Some(bundle))
    }

    /// Stores `bundle` as the current one, atomically.
    ///
    /// # Errors
    /// I/O errors; the previous bundle is then still in place.
    pub fn store_bundle(&self, bundle: &VerifiedBundle) -> anyhow::Result<()> {
        self.store(BUNDLE_FILE, format!("{}\n", bundle.as_str()).as_bytes())
    }

    /// Writes `name` atomically: temporary file, fsync, rename, fsync of the directory.
    fn store(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let tmp = self.dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, self.dir.join(name))?;
            File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.with_context(|| format!("cannot store {name} in {}", self.dir.display()))
    }
}

/// Reads `issued_at` from a bundle's payload without verifying (to choose the time the
/// stored bundle is re-verified at; the signature is still checked).
fn issued_at_hint(text: &str) -> Option<i64> {
    let payload = text.trim().split('.').nth(1)?;
    let bytes = credential::b64::decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("issued_at")?.as_i64()
}

/// Reads a file up to `max` bytes.
///
/// # Errors
/// I/O errors or a larger file.
pub fn read_limited(path: &Path, max: usize) -> anyhow::Result<String> {
    let mut text = String::new();
    File::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(max as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() > max {
        anyhow::bail!("{} is larger than {max} bytes", path.display());
    }
    Ok(text)
}
