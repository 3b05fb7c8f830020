//! The verifier's data directory (`--data`, default `./verifier-data`): the local trust state,
//! that is the pinned root (`root.jwk`), the last accepted full trust bundle (`bundle.jwt`), the
//! deltas applied on it since (`deltas.jwt`, one per line) and a cache of the verified result
//! (`verified-state.cache`); and the requests waiting for an answer (`requests.sqlite`,
//! `requests.rs`).
//! Files are replaced atomically: written to a temporary file in the same directory, fsynced,
//! renamed over the old one, then the directory is fsynced, so a crash at any point leaves
//! either the old or the new file, never a mix. The signed files are the truth; the cache is
//! used only when bound to exactly their bytes and the pinned root, and rebuilt otherwise.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use credential::jose::PublicJwk;
use verifier::bundle::{BundleLimits, VerifiedBundle};
use verifier::delta::{DeltaLimits, VerifiedDelta};
use verifier::withdrawal::{VerifiedWithdrawals, WithdrawalLimits};
use verifier::TrustState;

use super::cache;

/// The pinned root's file name.
pub const ROOT_FILE: &str = "root.jwk";
/// The stored bundle's file name.
pub const BUNDLE_FILE: &str = "bundle.jwt";
/// The deltas applied on the stored bundle, one compact JWS a line, oldest first.
pub const DELTAS_FILE: &str = "deltas.jwt";
/// The verified state, cached (`cache.rs`).
pub const CACHE_FILE: &str = "verified-state.cache";
/// Root-signed emergency key-withdrawal notices, one compact JWS a line: applied on top of
/// the bundle and deltas every time the state is loaded (a withdrawal is never undone).
pub const WITHDRAWALS_FILE: &str = "withdrawals.jwt";

/// A loaded trust state and where it came from.
pub struct Loaded {
    /// The state.
    pub state: TrustState,
    /// Read from the verified cache (no signature checked this time).
    pub from_cache: bool,
    /// Deltas applied on the bundle.
    pub deltas: usize,
    /// Size of the stored bundle.
    pub bundle_bytes: usize,
    /// Size of the stored delta chain.
    pub deltas_bytes: usize,
    /// The stored delta chain the state was made from (a new delta is appended to exactly
    /// this, so two concurrent syncs cannot interleave their chains).
    pub chain: String,
}

/// `--data DIR`, the same directory for every command.
#[derive(clap::Args, Debug, Clone)]
pub struct StateArg {
    /// The verifier's data directory: pinned root, synced trust bundle and deltas, verified-state
    /// cache, and the requests waiting for an answer (requests.sqlite).
    #[arg(long = "data", value_name = "DIR", default_value = DEFAULT_DATA)]
    pub dir: PathBuf,
}

/// The default `--data`.
pub const DEFAULT_DATA: &str = "./verifier-data";

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

    /// The stored bundle alone, verified again against the pinned root (the file may have
    /// been tampered with since), or `None` when none was synced.
    ///
    /// # Errors
    /// When the stored bundle no longer verifies.
    pub fn bundle(&self, root: &PublicJwk) -> anyhow::Result<Option<VerifiedBundle>> {
        let Some(text) = self.read_optional(BUNDLE_FILE)? else {
            return Ok(None);
        };
        verify_stored_bundle(&text, root, &self.dir.join(BUNDLE_FILE)).map(Some)
    }

    /// The trust state: the stored bundle with the stored deltas applied, from the verified
    /// cache when it was made from exactly these files and this root, else verified again
    /// (bundle and every delta against the pinned root) and cached. `None` when no bundle was
    /// synced.
    ///
    /// # Errors
    /// When the stored bundle or a stored delta no longer verifies or applies.
    /// Every stored key-withdrawal notice is applied on top ([`State::apply_withdrawals`]).
    pub fn load(&self, root: &PublicJwk) -> anyhow::Result<Option<Loaded>> {
        let Some(mut loaded) = self.load_signed(root)? else {
            return Ok(None);
        };
        self.apply_withdrawals(root, &mut loaded.state)?;
        Ok(Some(loaded))
    }

    /// The stored key-withdrawal notices, each verified against the pinned root.
    ///
    /// # Errors
    /// When a stored notice no longer verifies.
    pub fn withdrawals(&self, root: &PublicJwk) -> anyhow::Result<Vec<VerifiedWithdrawals>> {
        let text = self.read_optional(WITHDRAWALS_FILE)?.unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let at = issued_at_hint(line).unwrap_or(i64::MAX);
                VerifiedWithdrawals::verify(line, root, at, &WithdrawalLimits::default()).map_err(
                    |e| {
                        anyhow::anyhow!(
                            "stored key-withdrawal notice in {} does not verify ({}: {e})",
                            self.dir.join(WITHDRAWALS_FILE).display(),
                            e.code()
                        )
                    },
                )
            })
            .collect()
    }

    /// Applies every stored key-withdrawal notice to `state`; returns how many keys changed.
    ///
    /// # Errors
    /// When a stored notice no longer verifies or is for another issuer.
    pub fn apply_withdrawals(
        &self,
        root: &PublicJwk,
        state: &mut TrustState,
    ) -> anyhow::Result<usize> {
        let mut changed = 0;
        for notice in self.withdrawals(root)? {
            changed += state.apply_withdrawals(&notice).map_err(|e| {
                anyhow::anyhow!(
                    "stored key-withdrawal notice in {} ({}: {e})",
                    self.dir.join(WITHDRAWALS_FILE).display(),
                    e.code()
                )
            })?;
        }
        Ok(changed)
    }

    /// Adds a verified notice to the stored ones, atomically (the whole file is replaced). A
    /// stored notice the new one covers is dropped, and a notice that adds nothing is not
    /// stored, so the file stays one line however often the verifier syncs. Nothing a stored
    /// notice withdraws is ever lost.
    ///
    /// # Errors
    /// I/O errors; the previous notices are then still in place.
    pub fn store_withdrawals(
        &self,
        root: &PublicJwk,
        notice: &VerifiedWithdrawals,
    ) -> anyhow::Result<()> {
        let stored = self.withdrawals(root)?;
        if stored.iter().any(|old| old.covers(notice)) {
            return Ok(());
        }
        let mut text = String::new();
        for old in stored.iter().filter(|old| !notice.covers(old)) {
            text.push_str(old.as_str());
            text.push('\n');
        }
        text.push_str(notice.as_str());
        text.push('\n');
        self.store(WITHDRAWALS_FILE, text.as_bytes())
    }

    fn load_signed(&self, root: &PublicJwk) -> anyhow::Result<Option<Loaded>> {
        let bundle_path = self.dir.join(BUNDLE_FILE);
        // The bundle is hashed as a stream; it is read into memory only on a cache miss.
        let Some((bundle_sha256, bundle_len)) = cache::file_sha256(&bundle_path)
            .with_context(|| format!("cannot read {}", bundle_path.display()))?
        else {
            return Ok(None);
        };
        let deltas_text = self.read_optional(DELTAS_FILE)?.unwrap_or_default();
        let binding = cache::binding(root, &bundle_sha256, &cache::sha256(deltas_text.as_bytes()));
        let bundle_bytes = usize::try_from(bundle_len).unwrap_or(usize::MAX);
        if let Some(state) = cache::read(&self.dir.join(CACHE_FILE), &binding) {
            return Ok(Some(Loaded {
                deltas: deltas_text.lines().filter(|l| !l.trim().is_empty()).count(),
                state,
                from_cache: true,
                bundle_bytes,
                deltas_bytes: deltas_text.len(),
                chain: deltas_text,
            }));
        }
        let Some(bundle_text) = self.read_optional(BUNDLE_FILE)? else {
            return Ok(None);
        };
        // Bound to what was read now (the file may have been replaced since it was hashed).
        let binding = cache::binding(
            root,
            &cache::sha256(bundle_text.as_bytes()),
            &cache::sha256(deltas_text.as_bytes()),
        );
        let bundle = verify_stored_bundle(&bundle_text, root, &self.dir.join(BUNDLE_FILE))?;
        let bundle_bytes = bundle_text.len();
        // At national size the text is ~561 MB: not kept while the deltas are applied.
        drop(bundle_text);
        let mut state = TrustState::from_bundle(bundle);
        let mut chain = Vec::new();
        for (i, line) in deltas_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            let issued_at = issued_at_hint(line).unwrap_or(i64::MAX);
            let delta = VerifiedDelta::verify(line, root, issued_at, &DeltaLimits::default())
                .map_err(|e| {
                    anyhow::anyhow!(
                        "stored delta {} in {} does not verify ({}: {e}); sync again",
                        i + 1,
                        self.dir.join(DELTAS_FILE).display(),
                        e.code()
                    )
                })?;
            chain.push(delta);
        }
        let deltas = chain.len();
        state.apply_chain(&chain).map_err(|e| {
            anyhow::anyhow!(
                "stored deltas in {} do not apply ({}: {e}); sync again",
                self.dir.join(DELTAS_FILE).display(),
                e.code()
            )
        })?;
        drop(chain);
        self.write_cache(&binding, &state);
        Ok(Some(Loaded {
            state,
            from_cache: false,
            deltas,
            bundle_bytes,
            deltas_bytes: deltas_text.len(),
            chain: deltas_text,
        }))
    }

    /// Stores a verified full bundle's text as the new base, atomically, dropping the stored
    /// deltas first (a crash in between leaves the old bundle alone: older, still consistent),
    /// then caches `state` (made from it).
    ///
    /// # Errors
    /// I/O errors; the previous bundle is then still in place.
    pub fn store_bundle_text(&self, bundle: &str, state: &TrustState) -> anyhow::Result<()> {
        self.remove(DELTAS_FILE)?;
        let bundle_text = format!("{bundle}\n");
        self.store(BUNDLE_FILE, bundle_text.as_bytes())?;
        let root = self.root()?;
        let binding = cache::binding(
            &root,
            &cache::sha256(bundle_text.as_bytes()),
            &cache::sha256(b""),
        );
        self.write_cache(&binding, state);
        Ok(())
    }

    /// Appends an applied delta to `chain` (the stored chain the state was loaded from) and
    /// stores the result atomically (the whole chain file is replaced), then caches `state`
    /// (the state after it).
    ///
    /// # Errors
    /// I/O errors; the previous chain is then still in place.
    pub fn store_delta(
        &self,
        chain: &str,
        delta: &VerifiedDelta,
        state: &TrustState,
    ) -> anyhow::Result<()> {
        let mut chain = chain.to_owned();
        chain.push_str(delta.as_str());
        chain.push('\n');
        self.store(DELTAS_FILE, chain.as_bytes())?;
        let root = self.root()?;
        let bundle = cache::file_sha256(&self.dir.join(BUNDLE_FILE))?
            .map(|(d, _)| d)
            .unwrap_or_else(|| cache::sha256(b""));
        self.write_cache(
            &cache::binding(&root, &bundle, &cache::sha256(chain.as_bytes())),
            state,
        );
        Ok(())
    }

    /// Writes the verified-state cache; a failure only costs a re-verification next time.
    fn write_cache(&self, binding: &[u8; 32], state: &TrustState) {
        let bytes = cache::encode(binding, state);
        if let Err(e) = self.store(CACHE_FILE, &bytes) {
            eprintln!("warning: cannot cache the verified state: {e:#}");
        }
    }

    fn read_optional(&self, name: &str) -> anyhow::Result<Option<String>> {
        let path = self.dir.join(name);
        match fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Removes `name` if present, then fsyncs the directory.
    pub fn remove(&self, name: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync {}", self.dir.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
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

/// Verifies a stored bundle at its own issue time: it was checked against the clock when
/// synced; freshness now is the policy's business at verification.
fn verify_stored_bundle(
    text: &str,
    root: &PublicJwk,
    path: &Path,
) -> anyhow::Result<VerifiedBundle> {
    let issued_at = issued_at_hint(text).unwrap_or(i64::MAX);
    VerifiedBundle::verify(text, root, issued_at, &BundleLimits::default()).map_err(|e| {
        anyhow::anyhow!(
            "stored bundle {} does not verify ({}: {e}); sync again",
            path.display(),
            e.code()
        )
    })
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
