use std::io::{ErrorKind, Read, Write};

use flate2::bufread::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{Map, Value};

use super::error::StatusListError;
use super::limits::Limits;
use super::list::StatusList;
use super::status::Bits;
use crate::b64;
use crate::json::optional_string;
use crate::size::at_most;

impl StatusList {
    /// The JSON Status List of section 4.2: `{"bits": N, "lst": "...", "aggregation_uri": "..."}`
    /// (`aggregation_uri` only when set).
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("bits".into(), Value::from(self.bits().as_u8()));
        obj.insert("lst".into(), Value::String(self.lst()));
        if let Some(uri) = self.aggregation_uri() {
            obj.insert("aggregation_uri".into(), Value::String(uri.to_owned()));
        }
        Value::Object(obj)
    }

    /// The `lst` member (section 4.1 step 4, section 4.2): the byte array compressed with
    /// DEFLATE in the ZLIB format at the highest level, then base64url-encoded.
    ///
    /// The bytes depend on the DEFLATE implementation; every conforming decoder reads them back
    /// to the same byte array.
    pub fn lst(&self) -> String {
        b64::encode(compress(self.as_bytes()))
    }

    /// The byte array compressed with ZLIB at the best level (what `lst` encodes, before
    /// base64url).
    pub fn to_zlib(&self) -> Vec<u8> {
        compress(self.as_bytes())
    }

    /// Decodes a ZLIB-compressed byte array (an `lst` after base64url decoding), inflation
    /// bounded by `limits` (the compressed length is checked first).
    ///
    /// # Errors
    /// As [`StatusList::from_lst`], without the base64url error.
    pub fn from_zlib(
        bits: Bits,
        compressed: &[u8],
        limits: &Limits,
    ) -> Result<StatusList, StatusListError> {
        at_most(compressed.len(), limits.max_compressed_bytes, |len, max| {
            StatusListError::CompressedTooLarge { len, max }
        })?;
        let bytes = inflate_bounded(compressed, limits.max_decompressed_bytes)?;
        StatusList::from_bytes(bits, bytes)
    }

    /// Decodes the JSON Status List of section 4.2. Unknown members are ignored.
    ///
    /// # Errors
    /// [`StatusListError::MalformedList`] when it is not an object, `bits` is not an integer,
    /// `lst` is not a string or `aggregation_uri` is present but not a string;
    /// [`StatusListError::UnsupportedBits`]; and the errors of [`StatusList::from_lst`].
    pub fn from_json(value: &Value, limits: &Limits) -> Result<StatusList, StatusListError> {
        let obj = value.as_object().ok_or(StatusListError::MalformedList {
            reason: "status list is not a json object",
        })?;
        let malformed = |reason| StatusListError::MalformedList { reason };
        let member = |key, missing| obj.get(key).ok_or(malformed(missing));
        let bits = member("bits", "bits is missing")?
            .as_u64()
            .ok_or(malformed("bits is not a non-negative integer"))?;
        let bits = Bits::from_u64(bits)?;
        let lst = member("lst", "lst is missing")?
            .as_str()
            .ok_or(malformed("lst is not a string"))?;
        let aggregation_uri = optional_string(
            obj,
            "aggregation_uri",
            malformed("aggregation_uri is not a string"),
        )?;
        let mut list = StatusList::from_lst(bits, lst, limits)?;
        list.set_aggregation_uri(aggregation_uri);
        Ok(list)
    }

    /// Decodes an `lst` value: base64url, then ZLIB inflation bounded by `limits`.
    ///
    /// # Errors
    /// [`StatusListError::CompressedTooLarge`] (checked from the text length, before decoding);
    /// [`StatusListError::LstNotBase64url`]; [`StatusListError::NotZlib`] for a corrupt,
    /// truncated or checksum-failing stream; [`StatusListError::MalformedList`] for bytes after
    /// the end of the stream; [`StatusListError::DecompressionLimit`];
    /// [`StatusListError::EmptyList`] when the byte array is empty.
    pub fn from_lst(bits: Bits, lst: &str, limits: &Limits) -> Result<StatusList, StatusListError> {
        // Unpadded base64url carries 3 bytes in 4 characters.
        let compressed_len = lst.len() / 4 * 3 + (lst.len() % 4).saturating_sub(1);
        if compressed_len > limits.max_compressed_bytes {
            return Err(StatusListError::CompressedTooLarge {
                len: compressed_len,
                max: limits.max_compressed_bytes,
            });
        }
        let compressed = b64::decode(lst).map_err(|_| StatusListError::LstNotBase64url)?;
        let bytes = inflate_bounded(&compressed, limits.max_decompressed_bytes)?;
        StatusList::from_bytes(bits, bytes)
    }
}

/// ZLIB (RFC 1950) around DEFLATE (RFC 1951) at the best compression level.
fn compress(bytes: &[u8]) -> Vec<u8> {
    zlib_compress(bytes, 9)
}

/// ZLIB (RFC 1950) around DEFLATE (RFC 1951) at `level` (0 to 9; larger values mean 9). For
/// callers that keep byte arrays compressed (a verifier's status store, a trust-bundle delta).
pub fn zlib_compress(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level.min(9)));
    // Writing into a Vec<u8> cannot fail: its io::Write impl is infallible.
    match encoder.write_all(bytes).and_then(|()| encoder.finish()) {
        Ok(out) => out,
        Err(_) => unreachable!("zlib into a Vec cannot fail"),
    }
}

/// Inflates a ZLIB stream, refusing to produce more than `max` bytes. Output grows in chunks,
/// each size check made before the memory is reserved, and capacity never exceeds `max`.
///
/// # Errors
/// [`StatusListError::NotZlib`] for a corrupt, truncated or checksum-failing stream;
/// [`StatusListError::DecompressionLimit`]; [`StatusListError::MalformedList`] for bytes
/// after the end of the stream.
pub fn inflate_bounded(compressed: &[u8], max: usize) -> Result<Vec<u8>, StatusListError> {
    let mut decoder = ZlibDecoder::new(compressed);
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match decoder.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Err(StatusListError::NotZlib),
        };
        if n > max - out.len() {
            return Err(StatusListError::DecompressionLimit { max });
        }
        if out.capacity() - out.len() < n {
            // Double, but never past the limit; out.len() + n <= max was checked above.
            let target = out.capacity().saturating_mul(2).max(out.len() + n).min(max);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
    // The decoder stops at the end of the ZLIB stream; anything after it is not part of a
    // well-formed `lst`.
    if !decoder.into_inner().is_empty() {
        return Err(StatusListError::MalformedList {
            reason: "bytes after the end of the zlib stream",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn section_4_2_examples_decode() {
        let one = StatusList::from_json(
            &json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}),
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(one.as_bytes(), [0xb9, 0xa3]);
        let two = StatusList::from_json(
            &json!({"bits": 2, "lst": "eNo76fITAAPfAgc"}),
            &Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(two.as_bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(two.len(), 12);
    }

    #[test]
    fn json_round_trip_keeps_aggregation_uri() {
        let mut list = StatusList::new(Bits::Two, 100).unwrap();
        list.set(7, 2).unwrap();
        list.set_aggregation_uri(Some("https://example.com/statuslists".into()));
        let json = list.to_json();
        assert_eq!(json["bits"], 2);
        assert_eq!(json["aggregation_uri"], "https://example.com/statuslists");
        let back = StatusList::from_json(&json, &Limits::DEFAULT).unwrap();
        assert_eq!(back.as_bytes(), list.as_bytes());
        assert_eq!(back.aggregation_uri(), list.aggregation_uri());
        let plain = StatusList::new(Bits::One, 8).unwrap().to_json();
        assert!(plain.get("aggregation_uri").is_none());
    }

    #[test]
    fn rejects_malformed_json() {
        let l = &Limits::DEFAULT;
        let malformed = |v: Value| match StatusList::from_json(&v, l) {
            Err(StatusListError::MalformedList { .. }) => {}
            other => panic!("{v}: {other:?}"),
        };
        malformed(json!([]));
        malformed(json!({"lst": "eNrbuRgAAhcBXQ"}));
        malformed(json!({"bits": "1", "lst": "eNrbuRgAAhcBXQ"}));
        malformed(json!({"bits": -1, "lst": "eNrbuRgAAhcBXQ"}));
        malformed(json!({"bits": 1}));
        malformed(json!({"bits": 1, "lst": 5}));
        malformed(json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": 1}));
        assert_eq!(
            StatusList::from_json(&json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}), l),
            Err(StatusListError::UnsupportedBits { bits: 3 })
        );
    }

    #[test]
    fn rejects_bad_streams() {
        let l = &Limits::DEFAULT;
        assert_eq!(
            StatusList::from_lst(Bits::One, "eNrbuRgAAhcBXQ==", l),
            Err(StatusListError::LstNotBase64url)
        );
        // Raw DEFLATE without the ZLIB wrapper.
        let raw = b64::encode([0xdb, 0xb9, 0x18, 0x00]);
        assert_eq!(
            StatusList::from_lst(Bits::One, &raw, l),
            Err(StatusListError::NotZlib)
        );
        // Truncated stream, and a corrupted Adler-32 checksum.
        let good = compress(&[0xb9, 0xa3]);
        let truncated = b64::encode(&good[..good.len() - 3]);
        assert_eq!(
            StatusList::from_lst(Bits::One, &truncated, l),
            Err(StatusListError::NotZlib)
        );
        let mut bad_sum = good.clone();
        let last = bad_sum.len() - 1;
        bad_sum[last] ^= 1;
        assert_eq!(
            StatusList::from_lst(Bits::One, &b64::encode(&bad_sum), l),
            Err(StatusListError::NotZlib)
        );
        let mut trailing = good;
        trailing.push(0);
        assert!(matches!(
            StatusList::from_lst(Bits::One, &b64::encode(&trailing), l),
            Err(StatusListError::MalformedList { .. })
        ));
        assert_eq!(
            StatusList::from_lst(Bits::One, &b64::encode(compress(&[])), l),
            Err(StatusListError::EmptyList)
        );
    }

    #[test]
    fn bounded_inflation() {
        let zeros = compress(&[0u8; 100_000]);
        assert_eq!(inflate_bounded(&zeros, 100_000).unwrap().len(), 100_000);
        assert_eq!(
            inflate_bounded(&zeros, 99_999),
            Err(StatusListError::DecompressionLimit { max: 99_999 })
        );
        let out = inflate_bounded(&zeros, 1 << 20).unwrap();
        assert!(out.capacity() <= 1 << 20);
    }

    #[test]
    fn compressed_size_checked_before_decoding() {
        let limits = Limits {
            max_compressed_bytes: 8,
            ..Limits::DEFAULT
        };
        // 10 compressed bytes: rejected from the length alone, garbage or not.
        assert_eq!(
            StatusList::from_lst(Bits::One, "!!!!!!!!!!!!!!", &limits),
            Err(StatusListError::CompressedTooLarge { len: 10, max: 8 })
        );
        // The estimate is exact for canonical text.
        for n in 0..20 {
            let text = b64::encode(vec![0u8; n]);
            assert_eq!(text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1), n);
        }
    }
}
