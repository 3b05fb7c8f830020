//! The `portrait` claim: a small JPEG as an RFC 2397 data URL.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::ClaimsError;

/// The `expected` of a malformed portrait.
const PORTRAIT_EXPECTED: &str = "a data url data:image/jpeg;base64,<standard base64 with padding>";

/// A JPEG portrait of at most [`Portrait::MAX_BYTES`], held both as bytes and as the data URL
/// `data:image/jpeg;base64,...` that the credential carries.
///
/// The data URL has one spelling: the exact prefix [`Portrait::DATA_URL_PREFIX`] (no parameters,
/// lowercase) and canonical padded standard base64 (RFC 4648 section 4), as the JSON Schemas'
/// pattern requires. The JPEG check is a sanity check (SOI marker `FF D8 FF` at the start, EOI
/// `FF D9` at the end), not a decode.
#[derive(Clone, PartialEq, Eq)]
pub struct Portrait {
    data_url: String,
    jpeg: Vec<u8>,
}

impl Portrait {
    /// Largest JPEG accepted: 64 KiB.
    pub const MAX_BYTES: usize = 64 * 1024;
    /// The only accepted data URL prefix.
    pub const DATA_URL_PREFIX: &'static str = "data:image/jpeg;base64,";
    /// Longest accepted data URL: the prefix plus the base64 of [`Portrait::MAX_BYTES`].
    pub const MAX_DATA_URL_LEN: usize =
        Self::DATA_URL_PREFIX.len() + Self::MAX_BYTES.div_ceil(3) * 4;

    /// Parses a data URL. The length is checked before anything is decoded.
    ///
    /// # Errors
    /// [`ClaimsError::PortraitTooLarge`] over the size limit; [`ClaimsError::InvalidClaimValue`]
    /// for another prefix or non-canonical base64; [`ClaimsError::PortraitNotJpeg`] when the
    /// bytes are not a JPEG.
    pub fn from_data_url(text: &str) -> Result<Portrait, ClaimsError> {
        if text.len() > Self::MAX_DATA_URL_LEN {
            let b64_len = text.len().saturating_sub(Self::DATA_URL_PREFIX.len());
            return Err(ClaimsError::PortraitTooLarge {
                bytes: b64_len / 4 * 3,
                max: Self::MAX_BYTES,
            });
        }
        let invalid = ClaimsError::InvalidClaimValue {
            name: "portrait",
            expected: PORTRAIT_EXPECTED,
        };
        let b64 = text
            .strip_prefix(Self::DATA_URL_PREFIX)
            .ok_or(invalid.clone())?;
        // STANDARD requires canonical padding and zero trailing bits.
        let jpeg = STANDARD.decode(b64).map_err(|_| invalid)?;
        check_jpeg(&jpeg)?;
        Ok(Portrait {
            data_url: text.to_owned(),
            jpeg,
        })
    }

    /// Wraps JPEG bytes (from a card read, say).
    ///
    /// # Errors
    /// [`ClaimsError::PortraitTooLarge`] over the size limit; [`ClaimsError::PortraitNotJpeg`]
    /// when the bytes are not a JPEG.
    pub fn from_jpeg(jpeg: &[u8]) -> Result<Portrait, ClaimsError> {
        check_jpeg(jpeg)?;
        let data_url = format!("{}{}", Self::DATA_URL_PREFIX, STANDARD.encode(jpeg));
        Ok(Portrait {
            data_url,
            jpeg: jpeg.to_vec(),
        })
    }

    /// The data URL the credential carries.
    pub fn as_data_url(&self) -> &str {
        &self.data_url
    }

    /// The JPEG bytes.
    pub fn jpeg(&self) -> &[u8] {
        &self.jpeg
    }
}

/// Shows only the size: a portrait is personal data.
impl fmt::Debug for Portrait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portrait")
            .field("bytes", &self.jpeg.len())
            .finish()
    }
}

fn check_jpeg(jpeg: &[u8]) -> Result<(), ClaimsError> {
    if jpeg.len() > Portrait::MAX_BYTES {
        return Err(ClaimsError::PortraitTooLarge {
            bytes: jpeg.len(),
            max: Portrait::MAX_BYTES,
        });
    }
    if jpeg.len() < 5 || !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) || !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err(ClaimsError::PortraitNotJpeg);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An 8x8 grey baseline JPEG (159 bytes), the portrait of the sample claim files.
    pub(crate) const TINY_JPEG_DATA_URL: &str = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z";

    #[test]
    fn round_trips() {
        let p = Portrait::from_data_url(TINY_JPEG_DATA_URL).unwrap();
        assert_eq!(p.jpeg().len(), 159);
        assert_eq!(p.as_data_url(), TINY_JPEG_DATA_URL);
        assert_eq!(Portrait::from_jpeg(p.jpeg()).unwrap(), p);
        assert_eq!(format!("{p:?}"), "Portrait { bytes: 159 }");
    }

    #[test]
    fn limits() {
        assert_eq!(Portrait::MAX_DATA_URL_LEN, 23 + 87_384);
        // Exactly at the limit is accepted.
        let mut jpeg = vec![0u8; Portrait::MAX_BYTES];
        jpeg[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        jpeg[Portrait::MAX_BYTES - 2..].copy_from_slice(&[0xFF, 0xD9]);
        let p = Portrait::from_jpeg(&jpeg).unwrap();
        assert_eq!(p.as_data_url().len(), Portrait::MAX_DATA_URL_LEN);
        assert!(Portrait::from_data_url(p.as_data_url()).is_ok());
        // One byte more is not, from either side.
        jpeg.insert(3, 0);
        assert_eq!(
            Portrait::from_jpeg(&jpeg),
            Err(ClaimsError::PortraitTooLarge {
                bytes: Portrait::MAX_BYTES + 1,
                max: Portrait::MAX_BYTES
            })
        );
        let url = format!("{}{}", Portrait::DATA_URL_PREFIX, STANDARD.encode(&jpeg));
        assert!(matches!(
            Portrait::from_data_url(&url),
            Err(ClaimsError::PortraitTooLarge { .. })
        ));
    }

    #[test]
    fn malformed() {
        let invalid = Err(ClaimsError::InvalidClaimValue {
            name: "portrait",
            expected: PORTRAIT_EXPECTED,
        });
        let b64 = &TINY_JPEG_DATA_URL[Portrait::DATA_URL_PREFIX.len()..];
        for url in [
            format!("data:image/png;base64,{b64}"),
            format!("DATA:image/jpeg;base64,{b64}"),
            format!("data:image/jpeg;charset=utf-8;base64,{b64}"),
            format!("data:image/jpeg,{b64}"),
            b64.to_owned(),
            format!("{TINY_JPEG_DATA_URL}="),
            TINY_JPEG_DATA_URL[..TINY_JPEG_DATA_URL.len() - 1].to_owned(),
            TINY_JPEG_DATA_URL.replace('/', "_"),
            format!("{TINY_JPEG_DATA_URL}\n"),
        ] {
            assert_eq!(Portrait::from_data_url(&url), invalid, "{url}");
        }
        // Valid base64 of something that is not a JPEG.
        let png = format!(
            "{}{}",
            Portrait::DATA_URL_PREFIX,
            STANDARD.encode(b"\x89PNG\r\n\x1a\n")
        );
        assert_eq!(
            Portrait::from_data_url(&png),
            Err(ClaimsError::PortraitNotJpeg)
        );
        assert_eq!(
            Portrait::from_jpeg(&[0xFF, 0xD8, 0xFF, 0xD9]),
            Err(ClaimsError::PortraitNotJpeg)
        );
        assert_eq!(
            Portrait::from_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00]),
            Err(ClaimsError::PortraitNotJpeg)
        );
    }
}
