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
//!
//! [`v2`] is the denser `VP2:` form for SD-JWT+KB answers; [`decode`] reads both versions.

use std::io::{Read as _, Write as _};

use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::b64;

mod codec;
mod dictionary;
mod error;
pub mod v2;

use codec::{b64url_runs, base45_decode, base45_encode, exact_b64url, read_varint};

pub use codec::push_varint;
pub use error::CompactError;

pub use v2::encode as encode_v2;

/// The prefix of the compact form, version 1.
pub const PREFIX: &str = "VP1:";

/// Whether `text` (leading whitespace ignored) starts with a compact form's `VP<n>:` prefix,
/// of any version ([`decode`] names an unknown one).
pub fn is_compact(text: &str) -> bool {
    split_prefix(text.trim_start()).is_some()
}

/// The version and the body of `VP<n>:<body>` (`n` one to three digits).
fn split_prefix(text: &str) -> Option<(u16, &str)> {
    let rest = text.strip_prefix("VP")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    // One to three digits, no leading zero: one version has one spelling.
    if !(1..=3).contains(&digits) || (digits > 1 && rest.starts_with('0')) {
        return None;
    }
    let body = rest[digits..].strip_prefix(':')?;
    Some((rest[..digits].parse().ok()?, body))
}

/// Encodes `text` in the compact form. Never ends in a space (which a copy-and-paste or a
/// `trim` would lose).
pub fn encode(text: &str) -> String {
    let mut records = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut literal_start = 0;
    for (start, run) in b64url_runs(text) {
        if let Some(raw) = exact_b64url(run) {
            push_record(&mut records, 0, &bytes[literal_start..start]);
            push_record(&mut records, 1, &raw);
            literal_start = start + run.len();
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

/// Decodes the compact form (`VP1:` or `VP2:`) back to the exact text, refusing more than
/// `limit` bytes of output (the compressed form is small; its expansion is bounded before it is
/// allocated).
///
/// # Errors
/// [`CompactError`] naming the first problem.
pub fn decode(text: &str, limit: usize) -> Result<String, CompactError> {
    let (version, body) = split_prefix(text.trim_start()).ok_or(CompactError::Prefix)?;
    // Only line ends are dropped: a space is a base45 character.
    let body = body.trim_end_matches(['\r', '\n']);
    match version {
        1 => decode_v1(body, limit),
        2 => v2::decode(body, limit),
        version => Err(CompactError::UnknownVersion { version }),
    }
}

fn decode_v1(body: &str, limit: usize) -> Result<String, CompactError> {
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

fn push_record(out: &mut Vec<u8>, tag: u8, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.push(tag);
    // usize is at most 64 bits on every supported target, so the cast is lossless.
    push_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::codec::ALPHABET;
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
