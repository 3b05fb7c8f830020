//! Base64url without padding (RFC 7515 section 2), the only encoding JOSE and SD-JWT use.
//!
//! Decoding is strict: padding, characters outside the URL-safe alphabet and non-canonical
//! trailing bits are all rejected, so one value has exactly one encoding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
///
/// # Errors
/// [`DecodeError`] when the text is not canonical unpadded base64url.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| DecodeError)
}

/// The text was not canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not canonical base64url")]
pub struct DecodeError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(decode("-_8="), Err(DecodeError));
        assert_eq!(decode("+/8"), Err(DecodeError));
        // "-_9" has non-zero trailing bits: the same bytes with another spelling.
        assert_eq!(decode("-_9"), Err(DecodeError));
    }
}
