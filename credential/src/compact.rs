//! A compact text form for answers shown as QR codes (offline presentations).
//!
//! A `vp_token` is JSON around SD-JWT+KB strings, which are mostly base64url. Shown as is, a
//! QR code carries it in byte mode (8 bits a character). The compact form:
//!
//! ```text
//! text ──split──► literal runs | base64url runs (decoded to their bytes, when that is exact)
//!      ──records──► zlib (deflate, level 9) ──► base45 (RFC 9285) ──► "VP1:" + base45
//! ```
//!
//! Base45 uses only the 45 characters of the QR alphanumeric mode (5.5 bits a character), and
//! the decoded base64url segments (JWT header, payload, KB-JWT) are JSON that deflate
//! compresses, unlike their base64url text. The prefix versions the form (in the manner of the
//! EU digital COVID certificate's `HC1:`); its characters are alphanumeric-mode too.
//!
//! The transformation is lossless: [`decode`] returns the exact text [`encode`] was given, so
//! signatures and `sd_hash` over it still verify. A base64url run is stored decoded only when
//! encoding the bytes gives back the same characters; otherwise it stays literal.
//!
//! Records: a tag byte (`0` literal, `1` base64url), the length as a LEB128 varint, the bytes.

use std::io::{Read as _, Write as _};

use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::b64;

/// The prefix of the compact form, version 1.
pub const PREFIX: &str = "VP1:";

/// Base64url runs shorter than this stay literal (a record costs 2–3 bytes).
const MIN_RUN: usize = 8;

/// The RFC 9285 alphabet.
const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Why a compact text does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The text does not start with [`PREFIX`].
    #[error("not a compact answer (no VP1: prefix)")]
    Prefix,
    /// A character outside the base45 alphabet, a bad length, or a value out of range.
    #[error("invalid base45")]
    Base45,
    /// The deflate stream is corrupt or its checksum fails.
    #[error("invalid compressed data")]
    Inflate,
    /// The decompressed text would exceed the caller's limit.
    #[error("decompressed answer larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The records are malformed, or the result is not UTF-8.
    #[error("invalid records")]
    Records,
}

/// Whether `text` (leading whitespace ignored) is in the compact form.
pub fn is_compact(text: &str) -> bool {
    text.trim_start().starts_with(PREFIX)
}

/// Encodes `text` in the compact form. Never ends in a space (which a copy-and-paste or a
/// `trim` would lose).
pub fn encode(text: &str) -> String {
    let mut records = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64url(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64url(bytes[i]) {
            i += 1;
        }
        let run = &text[start..i];
        let decoded = (run.len() >= MIN_RUN)
            .then(|| b64::decode(run).ok())
            .flatten()
            .filter(|raw| b64::encode(raw) == run);
        if let Some(raw) = decoded {
            push_record(&mut records, 0, &bytes[literal_start..start]);
            push_record(&mut records, 1, &raw);
            literal_start = i;
        }
    }
    push_record(&mut records, 0, &bytes[literal_start..]);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(&records);
    let mut packed = z.finish().unwrap_or_default();
    // Bytes after the zlib stream are ignored by the decoder: pad until the last character is
    // not a space (one or two bytes always suffice: an odd length ends in a two-character
    // group whose last character is the high part of the last byte, '0' for 0x00).
    let mut out = base45_encode(&packed);
    while out.ends_with(' ') {
        packed.push(0);
        out = base45_encode(&packed);
    }
    format!("{PREFIX}{out}")
}

/// Decodes the compact form back to the exact text, refusing more than `limit` bytes of output
/// (the compressed form is small; its expansion is bounded before it is allocated).
///
/// # Errors
/// [`CompactError`] naming the first problem.
pub fn decode(text: &str, limit: usize) -> Result<String, CompactError> {
    let body = text
        .trim_start()
        .strip_prefix(PREFIX)
        .ok_or(CompactError::Prefix)?;
    // Only line ends are dropped: a space is a base45 character.
    let body = body.trim_end_matches(['\r', '\n']);
    let packed = base45_decode(body)?;
    let mut records = Vec::new();
    // One byte past the limit shows that it was exceeded; `usize::MAX` (no limit) saturates
    // instead of wrapping to a limit of nothing.
    let mut inflater = flate2::read::ZlibDecoder::new(&packed[..])
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1));
    inflater
        .read_to_end(&mut records)
        .map_err(|_| CompactError::Inflate)?;
    if records.len() > limit {
        return Err(CompactError::TooLarge { limit });
    }
    let mut out = String::with_capacity(records.len() * 4 / 3);
    let mut rest = &records[..];
    while let Some((&tag, tail)) = rest.split_first() {
        let (len, tail) = read_varint(tail).ok_or(CompactError::Records)?;
        if len > tail.len() {
            return Err(CompactError::Records);
        }
        let (data, tail) = tail.split_at(len);
        match tag {
            0 => out.push_str(std::str::from_utf8(data).map_err(|_| CompactError::Records)?),
            1 => out.push_str(&b64::encode(data)),
            _ => return Err(CompactError::Records),
        }
        if out.len() > limit {
            return Err(CompactError::TooLarge { limit });
        }
        rest = tail;
    }
    Ok(out)
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn push_record(out: &mut Vec<u8>, tag: u8, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.push(tag);
    // usize is at most 64 bits on every supported target, so the cast is lossless.
    push_varint(out, data.len() as u64);
    out.extend_from_slice(data);
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

fn read_varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
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
fn base45_encode(bytes: &[u8]) -> String {
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

fn base45_decode(text: &str) -> Result<Vec<u8>, CompactError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc9285_examples() {
        for (plain, encoded) in [
            ("AB", "BB8"),
            ("Hello!!", "%69 VD92EX0"),
            ("base-45", "UJCLQE7W581"),
            ("ietf!", "QED8WEX0"),
        ] {
            assert_eq!(base45_encode(plain.as_bytes()), encoded);
            assert_eq!(base45_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(
            base45_decode("GGW"),
            Err(CompactError::Base45),
            "65535 < value"
        );
        assert_eq!(base45_decode("ab"), Err(CompactError::Base45), "lower case");
        assert_eq!(
            base45_decode("BB8B"),
            Err(CompactError::Base45),
            "length 3n+1"
        );
    }

    #[test]
    fn round_trips_exactly_and_uses_only_alphanumeric_mode_characters() {
        let samples = [
            String::new(),
            "x".into(),
            r#"{"citizen_id":["eyJ0eXAiOiJkYytzZC1qd3QifQ.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUuY24ifQ.c2lnbmF0dXJl~WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIuWwj-aYjiJd~"]}"#.into(),
            // A run of 4n+1 characters is not base64url: it stays literal.
            "abcdefghijklmnoq~abcdefghijklmnopr".into(),
            "中文 and spaces  ".into(),
        ];
        for s in samples {
            let c = encode(&s);
            assert!(c.starts_with(PREFIX));
            assert!(!c.ends_with(' '));
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)), "{c}");
            assert_eq!(decode(&c, 1 << 20).unwrap(), s);
            assert_eq!(decode(&format!("{c}\r\n"), 1 << 20).unwrap(), s);
        }
    }

    #[test]
    fn never_ends_in_a_space() {
        // Many inputs, so that some raw encodings would end in a space.
        for n in 0..400u32 {
            let s = format!("{n:x}-{}", "q".repeat((n % 37) as usize));
            let c = encode(&s);
            assert!(!c.ends_with(' '), "{n}");
            assert_eq!(decode(&c, 4096).unwrap(), s);
        }
    }

    #[test]
    fn rejections_are_named() {
        assert_eq!(decode("HC1:AB", 100), Err(CompactError::Prefix));
        assert_eq!(decode("VP1:ab", 100), Err(CompactError::Base45));
        assert_eq!(decode("VP1:BB8", 100), Err(CompactError::Inflate));
        // A deflate bomb: a megabyte of one letter, refused at the limit.
        let big = encode(&"a".repeat(1 << 20));
        assert!(big.len() < 4096);
        assert_eq!(
            decode(&big, 64 * 1024),
            Err(CompactError::TooLarge { limit: 64 * 1024 })
        );
        // Valid zlib around malformed records.
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&[7, 1, b'x']).unwrap();
        let bad = format!("{PREFIX}{}", base45_encode(&z.finish().unwrap()));
        assert_eq!(decode(&bad, 100), Err(CompactError::Records));
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&[0, 5, b'x']).unwrap();
        let short = format!("{PREFIX}{}", base45_encode(&z.finish().unwrap()));
        assert_eq!(decode(&short, 100), Err(CompactError::Records));
    }
}
