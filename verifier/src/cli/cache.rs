//! The verified-state cache (`verified-state.cache`): the trust state as it was after the
//! bundle and the deltas verified, so `verify` on the synced state does not check every signature and
//! inflate every list again on each run (about 18 s at national scale).
//!
//! ```text
//! "CIDSTATE1\n" | binding (32) | sha256 of the rest (32) | header length (u64 LE) | header JSON | lists
//! ```
//!
//! The binding is SHA-256 over the pinned root's thumbprint and the SHA-256 of the stored
//! bundle and delta-chain files: if either file or the pin changes, the cache no longer
//! matches and the state is verified again from the signed files. The checksum over the rest
//! catches a damaged cache, which is then ignored the same way. The cache is as trusted as the
//! data directory (which also holds the pinned root); it is never a source of trust on its own.

use std::io::Read as _;
use std::path::Path;

use credential::jose::PublicJwk;
use credential::status_list::Bits;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use verifier::bundle::BundleKey;
use verifier::status::{CompressedList, KnownList};
use verifier::trust_state::{StateList, TrustState};

const MAGIC: &[u8] = b"CIDSTATE1\n";

/// The largest cache read (the lists of a national state are ~300 MB).
const MAX_CACHE_BYTES: u64 = 2 << 30;

/// SHA-256 binding the cache to the root and the exact bytes of the signed files (given as
/// their SHA-256 digests).
pub fn binding(root: &PublicJwk, bundle_sha256: &[u8; 32], deltas_sha256: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"citizen-id verified state v1\0");
    h.update(root.thumbprint().as_bytes());
    h.update([0]);
    h.update(bundle_sha256);
    h.update(deltas_sha256);
    h.finalize().into()
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 and length of a file, read in 1 MiB steps (a national bundle is ~535 MB: it is not
/// held in memory just to check the cache); `None` when it does not exist.
///
/// # Errors
/// I/O errors other than a missing file.
pub fn file_sha256(path: &Path) -> std::io::Result<Option<([u8; 32], u64)>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok(Some((h.finalize().into(), len)))
}

/// Serialises `state` bound to `binding`.
pub fn encode(binding: &[u8; 32], state: &TrustState) -> Vec<u8> {
    let lists: Vec<Value> = state
        .lists
        .iter()
        .map(|(uri, l)| {
            json!({"uri": uri, "shard": l.shard, "bits": l.known.list.bits().as_u8(),
                   "len": l.known.list.len(), "issued_at": l.known.issued_at,
                   "expires_at": l.known.expires_at, "ttl": l.known.ttl,
                   "n": l.known.list.as_zlib().len()})
        })
        .collect();
    let header = json!({
        "iss": state.iss, "issued_at": state.issued_at, "next_update": state.next_update,
        "status_seq": state.status_seq,
        "keys": state.keys.iter().map(BundleKey::to_json).collect::<Vec<_>>(),
        "lists": lists,
    })
    .to_string();
    let mut rest = Vec::with_capacity(8 + header.len() + state.compressed_bytes());
    rest.extend_from_slice(&(header.len() as u64).to_le_bytes());
    rest.extend_from_slice(header.as_bytes());
    for l in state.lists.values() {
        rest.extend_from_slice(l.known.list.as_zlib());
    }
    let mut out = Vec::with_capacity(MAGIC.len() + 64 + rest.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(binding);
    out.extend_from_slice(&Sha256::digest(&rest));
    out.extend_from_slice(&rest);
    out
}

/// The cached state, if the cache exists, is intact and is bound to `binding`; `None`
/// otherwise (the caller verifies the signed files again).
pub fn read(path: &Path, binding: &[u8; 32]) -> Option<TrustState> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_CACHE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    decode(&bytes, binding)
}

fn decode(bytes: &[u8], binding: &[u8; 32]) -> Option<TrustState> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (bound, rest) = rest.split_at_checked(32)?;
    if bound != binding {
        return None;
    }
    let (sum, rest) = rest.split_at_checked(32)?;
    if Sha256::digest(rest)[..] != *sum {
        return None;
    }
    let (len, rest) = rest.split_at_checked(8)?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
    let (header, mut data) = rest.split_at_checked(len)?;
    let header: Value = serde_json::from_slice(header).ok()?;
    let keys = header
        .get("keys")?
        .as_array()?
        .iter()
        .enumerate()
        .map(|(i, k)| BundleKey::from_json(i, k).ok())
        .collect::<Option<Vec<_>>>()?;
    let mut lists = std::collections::BTreeMap::new();
    for l in header.get("lists")?.as_array()? {
        let n = usize::try_from(l.get("n")?.as_u64()?).ok()?;
        let (zlib, tail) = data.split_at_checked(n)?;
        data = tail;
        let bits = Bits::from_u64(l.get("bits")?.as_u64()?).ok()?;
        let list = CompressedList::from_zlib(bits, l.get("len")?.as_u64()?, zlib.to_vec());
        lists.insert(
            l.get("uri")?.as_str()?.to_owned(),
            StateList {
                shard: l.get("shard").and_then(Value::as_i64),
                known: KnownList {
                    list,
                    issued_at: l.get("issued_at")?.as_i64()?,
                    expires_at: l.get("expires_at").and_then(Value::as_i64),
                    ttl: l.get("ttl").and_then(Value::as_i64),
                },
            },
        );
    }
    if !data.is_empty() {
        return None;
    }
    Some(TrustState {
        iss: header.get("iss")?.as_str()?.to_owned(),
        issued_at: header.get("issued_at")?.as_i64()?,
        next_update: header.get("next_update")?.as_i64()?,
        status_seq: header.get("status_seq").and_then(Value::as_i64),
        keys,
        lists,
    })
}
