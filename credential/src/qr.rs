//! QR codes of the texts the parties hand over (credential offers, presentation requests,
//! offline answers), drawn once for the issuer, the wallet and the verifier (feature `qr`):
//! terminal text, a grayscale PNG and an SVG, at error-correction level L. Text in, bytes or
//! text out; writing them anywhere is the caller's.

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// The quiet zone around the code, in modules (ISO/IEC 18004).
const QUIET: usize = 4;

/// The text does not fit a QR code (or, for a PNG, the image does not encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("text does not fit a qr code")]
pub struct QrError;

fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).map_err(|_| QrError)
}

/// The QR version (1 to 40) the text needs.
///
/// # Errors
/// [`QrError`] when the text is too long.
pub fn version(text: &str) -> Result<i16, QrError> {
    match code(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// Text for a terminal, two modules per character cell.
///
/// # Errors
/// [`QrError`] when the text is too long.
pub fn terminal(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build())
}

/// An SVG image, at least 256 pixels a side.
///
/// # Errors
/// [`QrError`] when the text is too long.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// A grayscale PNG, `scale` pixels a module, with the 4-module quiet zone.
///
/// # Errors
/// [`QrError`] when the text is too long or the image does not encode.
pub fn png(text: &str, scale: usize) -> Result<Vec<u8>, QrError> {
    let code = code(text)?;
    let n = code.width();
    let side = (n + 2 * QUIET) * scale;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n, i / n);
            for dy in 0..scale {
                let start = ((y + QUIET) * scale + dy) * side + (x + QUIET) * scale;
                pixels[start..start + scale].fill(0);
            }
        }
    }
    let side32 = u32::try_from(side).map_err(|_| QrError)?;
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|_| QrError)?;
    writer.write_image_data(&pixels).map_err(|_| QrError)?;
    writer.finish().map_err(|_| QrError)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_form() {
        let text =
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa.cn%2Foffers%2Fx";
        assert!(svg(text).unwrap().starts_with("<?xml"));
        assert_eq!(&png(text, 4).unwrap()[1..4], b"PNG");
        assert!(terminal(text).unwrap().lines().count() > 10);
        assert!((1..=40).contains(&version(text).unwrap()));
    }

    #[test]
    fn a_text_too_long_for_any_version_is_refused() {
        let text = "x".repeat(8_000);
        assert_eq!(version(&text), Err(QrError));
        assert_eq!(png(&text, 4), Err(QrError));
        assert_eq!(terminal(&text), Err(QrError));
        assert_eq!(svg(&text), Err(QrError));
    }
}
