//! The byte codings both compact forms share: LEB128 varints, base45 (RFC 9285) and the
//! base64url alphabet test.

use super::error::CompactError;
use crate::b64;

/// The RFC 9285 alphabet.
pub(super) const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

pub(super) fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The maximal runs of base64url characters in `text`, each with its byte offset, in order.
/// Both forms look for encoded values in these runs; the bytes between them are plain text.
pub(super) fn b64url_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !is_b64url(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && is_b64url(bytes[i]) {
            i += 1;
        }
        // The characters are ASCII, so the run's ends are character boundaries.
        (i > start).then(|| (start, &text[start..i]))
    })
}

/// Appends `n` as an unsigned LEB128 varint: seven bits a byte, low bits first, the high bit set
/// on every byte but the last. The compact form's record lengths use it, and so do the gaps of a
/// trust-bundle delta's change sets (`docs/scale.md`).
pub fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        // The low seven bits, with the continuation bit when more follow.
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
}

pub(super) fn read_varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut n: usize = 0;
    for (i, &b) in bytes.iter().enumerate().take(4) {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, &bytes[i + 1..]));
        }
    }
    None
}

/// RFC 9285 section 4: two bytes become three characters, a last odd byte two.
pub(super) fn base45_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |v: usize| out.push(char::from(ALPHABET[v % 45]));
    for chunk in bytes.chunks(2) {
        match *chunk {
            [a, b] => {
                let n = usize::from(a) * 256 + usize::from(b);
                push(n);
                push(n / 45);
                push(n / 2025);
            }
            [a] => {
                let n = usize::from(a);
                push(n);
                push(n / 45);
            }
            _ => {}
        }
    }
    out
}

pub(super) fn base45_decode(text: &str) -> Result<Vec<u8>, CompactError> {
    let values: Vec<usize> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c))
        .collect::<Option<_>>()
        .ok_or(CompactError::Base45)?;
    if values.len() % 3 == 1 {
        return Err(CompactError::Base45);
    }
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for chunk in values.chunks(3) {
        match *chunk {
            [c, d, e] => {
                let n = c + d * 45 + e * 2025;
                let hi = u8::try_from(n / 256).map_err(|_| CompactError::Base45)?;
                out.push(hi);
                out.push((n % 256) as u8);
            }
            [c, d] => {
                let n = c + d * 45;
                out.push(u8::try_from(n).map_err(|_| CompactError::Base45)?);
            }
            _ => return Err(CompactError::Base45),
        }
    }
    Ok(out)
}

/// Base64url runs shorter than this stay literal (a record or a raw part costs 2–3 bytes).
const MIN_RUN: usize = 8;

/// The bytes of a base64url run, when storing them decoded is worth it (at least [`MIN_RUN`]
/// characters) and lossless (encoding them gives back the same characters).
pub(super) fn exact_b64url(run: &str) -> Option<Vec<u8>> {
    if run.len() < MIN_RUN {
        return None;
    }
    b64::decode(run).ok().filter(|raw| b64::encode(raw) == run)
}
