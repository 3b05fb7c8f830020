//! `VP2:`, the compact form that packs an SD-JWT+KB answer close to its binary floor.
//!
//! `VP1:` deflates the answer's JSON with its base64url runs decoded; what stays large is
//! the random parts (digests, signatures, salts, key coordinates, `sd_hash`), which deflate
//! cannot shrink, and a JSON skeleton too short for deflate to find its repetitions. `VP2:`:
//!
//! ```text
//! text ──split──► literal text | base64url runs
//!        a run that is JSON (a JWT header or payload, a disclosure) ──► nested, split again
//!        a run that looks random (salt, digest, signature, key, nonce) ──► raw bytes
//!      ──► structure: the text with each raw part replaced by a marker and its length
//!      ──► raw deflate of the structure with a preset dictionary of the stack's vocabulary
//! packed = dictionary id (1 byte) | varint length | deflated structure | raw parts in order
//! "VP2:" + base45(packed)
//! ```
//!
//! Structure markers (bytes a JSON or UTF-8 text never holds unescaped):
//! `0x01 len` a raw part of `len` bytes (LEB128), shown as its base64url;
//! `0x02` … `0x03` a nested text, shown as the base64url of the text between the markers;
//! `0x04 b` the byte `b` itself (only `0x00..=0x04` are escaped).
//!
//! Lossless like `VP1:`: the decoder rebuilds the exact text, so every signature, digest and
//! `sd_hash` verifies unchanged. A run is packed only when its base64url is canonical (decoding
//! and encoding give back the same characters); anything else stays literal. Which runs count
//! as random is a size choice only (misjudging one costs bytes, never correctness).
//!
//! Decoding is bounded: the caller's limit caps the inflated structure and the rebuilt text,
//! nesting is at most [`MAX_DEPTH`] deep, and every byte of the packed form must be used.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::codec::{
    b64url_runs, base45_decode, base45_encode, exact_b64url, push_varint, read_varint,
};
use super::error::CompactError;
use crate::b64;

/// The prefix of the compact form, version 2.
pub const PREFIX: &str = "VP2:";

/// The id of [`DICTIONARY`], the first byte of the packed form. A changed dictionary gets a
/// new id; decoders keep every id they ever read.
pub const DICTIONARY_ID: u8 = 1;

/// How deep base64url texts nest: the answer (0), a JWT part or disclosure inside it (1), and
/// one level more.
pub const MAX_DEPTH: usize = 2;

const RAW: u8 = 0x01;
const OPEN: u8 = 0x02;
const CLOSE: u8 = 0x03;
const ESCAPE: u8 = 0x04;

/// The preset dictionary: the vocabulary of the stack's answers, in structure form (raw parts
/// as their markers). Deflate finds matches in it from the first byte of an answer; the most
/// frequent strings come last (the nearest distances are the cheapest).
pub const DICTIONARY: &[u8] = super::dictionary::DICTIONARY_1.as_bytes();

/// Encodes `text` (an answer: a `vp_token` JSON or an SD-JWT+KB) in the `VP2:` form.
pub fn encode(text: &str) -> String {
    let mut structure = Vec::with_capacity(text.len());
    let mut raw = Vec::new();
    split(text, 0, &mut structure, &mut raw);
    let deflated = deflate(&structure);
    let mut packed = Vec::with_capacity(deflated.len() + raw.len() + 4);
    packed.push(DICTIONARY_ID);
    push_varint(&mut packed, deflated.len() as u64);
    packed.extend_from_slice(&deflated);
    packed.extend_from_slice(&raw);
    // A base45 text never ends in a space: the last character of a group is at most
    // 65535 / 2025 = 32 ('W') or, for an odd last byte, 255 / 45 = 5 ('5').
    format!("{PREFIX}{}", base45_encode(&packed))
}

/// Decodes the base45 body (after the prefix) to the exact text, refusing more than `limit`
/// bytes of structure or text.
pub(super) fn decode(body: &str, limit: usize) -> Result<String, CompactError> {
    let packed = base45_decode(body)?;
    let (&id, rest) = packed.split_first().ok_or(CompactError::Truncated)?;
    if id != DICTIONARY_ID {
        return Err(CompactError::Dictionary { id });
    }
    let (len, rest) = read_varint(rest).ok_or(CompactError::Truncated)?;
    if len > rest.len() {
        return Err(CompactError::Truncated);
    }
    let (deflated, mut raw) = rest.split_at(len);
    let structure = inflate(deflated, limit)?;
    let text = rebuild(&structure, &mut raw, limit)?;
    if !raw.is_empty() {
        return Err(CompactError::TrailingBytes);
    }
    Ok(text)
}

/// Appends the structure of `text` at nesting `depth`, the raw parts to `raw`.
fn split(text: &str, depth: usize, structure: &mut Vec<u8>, raw: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut plain_start = 0;
    for (start, run) in b64url_runs(text) {
        escape_into(structure, &bytes[plain_start..start]);
        plain_start = start + run.len();
        let Some(decoded) = exact_b64url(run) else {
            structure.extend_from_slice(run.as_bytes());
            continue;
        };
        match String::from_utf8(decoded) {
            Ok(inner) if depth < MAX_DEPTH && inner.starts_with(['{', '[']) => {
                structure.push(OPEN);
                split(&inner, depth + 1, structure, raw);
                structure.push(CLOSE);
            }
            result => {
                let decoded = result.map_or_else(|e| e.into_bytes(), String::into_bytes);
                if looks_random(run) {
                    structure.push(RAW);
                    push_varint(structure, decoded.len() as u64);
                    raw.extend_from_slice(&decoded);
                } else {
                    structure.extend_from_slice(run.as_bytes());
                }
            }
        }
    }
    escape_into(structure, &bytes[plain_start..]);
}

/// Appends plain text bytes to the structure, each byte that could be read as a marker
/// (`ESCAPE` or below) after an `ESCAPE`.
fn escape_into(structure: &mut Vec<u8>, plain: &[u8]) {
    for &b in plain {
        if b <= ESCAPE {
            structure.push(ESCAPE);
        }
        structure.push(b);
    }
}

/// Whether a base64url run is better packed as bytes: long and mixed like random data, not a
/// claim name (`age_equal_or_over`) or a number (`110105199205179985`), which deflate and the
/// dictionary code better as text.
fn looks_random(run: &str) -> bool {
    let has = |f: fn(&u8) -> bool| run.as_bytes().iter().any(f);
    run.len() >= 40
        || (run.len() >= 16
            && has(u8::is_ascii_uppercase)
            && has(u8::is_ascii_lowercase)
            && has(|b| b.is_ascii_digit() || *b == b'-' || *b == b'_'))
}

fn deflate(structure: &[u8]) -> Vec<u8> {
    let mut z = Compress::new(Compression::best(), false);
    // Setting a dictionary on a fresh raw stream cannot fail, and if it did the stream would
    // not decode: the round trip tests show it does.
    let _ = z.set_dictionary(DICTIONARY);
    let mut out = Vec::with_capacity(structure.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = structure.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        match z.compress_vec(input, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

/// Inflates at most `limit` bytes; the stream must end exactly at the end of `deflated`.
fn inflate(deflated: &[u8], limit: usize) -> Result<Vec<u8>, CompactError> {
    let mut z = Decompress::new(false);
    z.set_dictionary(DICTIONARY)
        .map_err(|_| CompactError::Inflate)?;
    let cap = limit.saturating_add(1);
    let mut out = Vec::with_capacity(cap.min(4096));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(CompactError::TooLarge { limit });
            }
            let more = out.capacity().max(4096).min(cap - out.len());
            out.reserve_exact(more);
        }
        let consumed = usize::try_from(z.total_in()).map_err(|_| CompactError::Inflate)?;
        let input = deflated.get(consumed..).ok_or(CompactError::Inflate)?;
        let produced = out.len();
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|_| CompactError::Inflate)?;
        if status == Status::StreamEnd {
            break;
        }
        let progress = z.total_in() != consumed as u64 || out.len() != produced;
        if !progress {
            // Room was left for output, so the stream wants input that is not there.
            return Err(if input.is_empty() {
                CompactError::Truncated
            } else {
                CompactError::Inflate
            });
        }
    }
    if out.len() > limit {
        return Err(CompactError::TooLarge { limit });
    }
    if z.total_in() != deflated.len() as u64 {
        return Err(CompactError::TrailingBytes);
    }
    Ok(out)
}

/// Rebuilds the text from its structure, taking raw parts from the front of `raw`.
fn rebuild(structure: &[u8], raw: &mut &[u8], limit: usize) -> Result<String, CompactError> {
    // One buffer per open nesting level; the first is the answer itself.
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    let mut rest = structure;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        let top = stack.last_mut().ok_or(CompactError::Records)?;
        match b {
            RAW => {
                let (len, tail) = read_varint(rest).ok_or(CompactError::Records)?;
                rest = tail;
                if len > raw.len() {
                    return Err(CompactError::Truncated);
                }
                let (part, tail) = raw.split_at(len);
                top.extend_from_slice(b64::encode(part).as_bytes());
                *raw = tail;
            }
            OPEN => {
                if stack.len() > MAX_DEPTH {
                    return Err(CompactError::Records);
                }
                stack.push(Vec::new());
            }
            CLOSE => {
                if stack.len() < 2 {
                    return Err(CompactError::Records);
                }
                let inner = stack.pop().ok_or(CompactError::Records)?;
                let top = stack.last_mut().ok_or(CompactError::Records)?;
                top.extend_from_slice(b64::encode(inner).as_bytes());
            }
            ESCAPE => {
                let (&c, tail) = rest.split_first().ok_or(CompactError::Records)?;
                if c > ESCAPE {
                    return Err(CompactError::Records);
                }
                rest = tail;
                top.push(c);
            }
            // An unescaped marker byte is not canonical.
            0 => return Err(CompactError::Records),
            _ => top.push(b),
        }
        if stack.iter().map(Vec::len).sum::<usize>() > limit {
            return Err(CompactError::TooLarge { limit });
        }
    }
    if stack.len() != 1 {
        return Err(CompactError::Records);
    }
    let text = stack.pop().ok_or(CompactError::Records)?;
    String::from_utf8(text).map_err(|_| CompactError::Records)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::decode as decode_any;
    use super::*;

    /// An answer-shaped text: a JWT-like header and payload, a disclosure, random parts.
    const SAMPLE: &str = concat!(
        r#"{"citizen_id":["eyJ0eXAiOiJkYytzZC1qd3QiLCJhbGciOiJFUzI1NiJ9."#,
        r#"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY24iLCJfc2QiOlsiUTJ4bFlXNGdiV0Z1SUdGdVpDQnphWGgifV19."#,
        r#"c2lnbmF0dXJlIG9mIHRoZSBpc3N1ZXIgb3ZlciB0aGUgaGVhZGVyIGFuZCBwYXlsb2Fk~"#,
        r#"WyJxNkp2M25FMFl4MXNSOGJUMm1Ma3l3IiwiZmFtaWx5X25hbWUiLCLmnY4iXQ~"]}"#
    );

    fn packed(text: &str) -> Vec<u8> {
        base45_decode(encode(text).strip_prefix(PREFIX).unwrap()).unwrap()
    }

    fn text(packed: &[u8]) -> String {
        format!("{PREFIX}{}", base45_encode(packed))
    }

    #[test]
    fn round_trips_exactly_with_nested_raw_and_escaped_parts() {
        for s in [
            SAMPLE.to_owned(),
            String::new(),
            "\u{0}\u{1}\u{2}\u{3}\u{4}\u{5} control bytes".into(),
            "中文 and spaces  ".into(),
            // Not canonical base64url (trailing bits): stays literal.
            "abcdefghijklmnoq~abcdefghijklmnopr".into(),
        ] {
            let c = encode(&s);
            assert!(c.starts_with(PREFIX));
            assert!(!c.ends_with(' '), "{c}");
            assert_eq!(decode_any(&c, 1 << 20).unwrap(), s);
        }
        // The sample's JWT parts are nested and its signature packed raw.
        let p = packed(SAMPLE);
        assert!(p.len() * 3 / 2 < SAMPLE.len());
    }

    #[test]
    fn refuses_an_unknown_dictionary() {
        let mut p = packed(SAMPLE);
        p[0] = 9;
        assert_eq!(
            decode_any(&text(&p), 1 << 20),
            Err(CompactError::Dictionary { id: 9 })
        );
    }

    #[test]
    fn refuses_trailing_bytes_after_the_raw_parts() {
        let mut p = packed(SAMPLE);
        p.push(0);
        assert_eq!(
            decode_any(&text(&p), 1 << 20),
            Err(CompactError::TrailingBytes)
        );
    }

    #[test]
    fn refuses_trailing_bytes_after_the_deflate_stream() {
        // The structure length claims one byte more than the stream: a byte is left over.
        let p = packed("{}");
        let (len, rest) = read_varint(&p[1..]).unwrap();
        let mut bad = vec![DICTIONARY_ID];
        push_varint(&mut bad, (len + 1) as u64);
        bad.extend_from_slice(&rest[..len]);
        bad.push(0);
        assert_eq!(
            decode_any(&text(&bad), 1 << 20),
            Err(CompactError::TrailingBytes)
        );
    }

    #[test]
    fn refuses_truncated_raw_parts_and_structure() {
        let p = packed(SAMPLE);
        assert_eq!(
            decode_any(&text(&p[..p.len() - 1]), 1 << 20),
            Err(CompactError::Truncated)
        );
        // The structure length says more than is there.
        assert_eq!(
            decode_any(&text(&p[..4]), 1 << 20),
            Err(CompactError::Truncated)
        );
        assert_eq!(
            decode_any(&text(&[]), 1 << 20),
            Err(CompactError::Truncated)
        );
        // A deflate stream cut short, with its length adjusted to match.
        let (len, rest) = read_varint(&p[1..]).unwrap();
        let mut cut = vec![DICTIONARY_ID];
        push_varint(&mut cut, (len / 2) as u64);
        cut.extend_from_slice(&rest[..len / 2]);
        assert_eq!(
            decode_any(&text(&cut), 1 << 20),
            Err(CompactError::Truncated)
        );
    }

    fn with_structure(structure: &[u8], raw: &[u8]) -> String {
        let mut z = Compress::new(Compression::best(), false);
        z.set_dictionary(DICTIONARY).unwrap();
        let mut deflated = Vec::with_capacity(structure.len() + 64);
        z.compress_vec(structure, &mut deflated, FlushCompress::Finish)
            .unwrap();
        let mut p = vec![DICTIONARY_ID];
        push_varint(&mut p, deflated.len() as u64);
        p.extend_from_slice(&deflated);
        p.extend_from_slice(raw);
        text(&p)
    }

    #[test]
    fn refuses_malformed_structure() {
        for bad in [
            &b"\x02\x02\x02{}\x03\x03\x03"[..], // nested deeper than MAX_DEPTH
            b"\x03",                            // a close without an open
            b"\x02{}",                          // an open never closed
            b"\x04a",                           // an escape of a byte that needs none
            b"\x00",                            // an unescaped marker byte
            b"\xff",                            // not UTF-8
        ] {
            assert_eq!(
                decode_any(&with_structure(bad, &[]), 1 << 20),
                Err(CompactError::Records),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_any(&with_structure(b"\x01\x05", &[1, 2]), 1 << 20),
            Err(CompactError::Truncated)
        );
        assert_eq!(
            decode_any(&with_structure(b"\x01\x02", &[0xfb, 0xff]), 1 << 20).unwrap(),
            "-_8"
        );
    }

    #[test]
    fn refuses_a_corrupt_deflate_stream() {
        let mut p = vec![DICTIONARY_ID, 3];
        p.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert_eq!(decode_any(&text(&p), 1 << 20), Err(CompactError::Inflate));
    }
}
