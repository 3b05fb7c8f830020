//! QR codes of credential offer URIs: SVG, PNG (grayscale, 8 pixels a module) and text for a
//! terminal.

use qrcode::render::{svg, unicode};
use qrcode::{EcLevel, QrCode};

/// The text does not fit a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("text does not fit a qr code")]
pub struct QrError;

fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).map_err(|_| QrError)
}

/// An SVG image.
///
/// # Errors
/// [`QrError`] when the text is too long.
pub fn svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build())
}

/// A PNG image.
///
/// # Errors
/// [`QrError`] when the text is too long or encoding fails.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    const SCALE: usize = 8;
    const QUIET: usize = 4;
    let code = code(text)?;
    let n = code.width();
    let side = (n + 2 * QUIET) * SCALE;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..n {
        for x in 0..n {
            if colors[y * n + x] == qrcode::Color::Dark {
                for dy in 0..SCALE {
                    let row = (y + QUIET) * SCALE + dy;
                    let start = row * side + (x + QUIET) * SCALE;
                    pixels[start..start + SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let side32 = u32::try_from(side).map_err(|_| QrError)?;
    let mut enc = png::Encoder::new(&mut out, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|_| QrError)?;
    writer.write_image_data(&pixels).map_err(|_| QrError)?;
    writer.finish().map_err(|_| QrError)?;
    Ok(out)
}

/// Text for a terminal (two modules per character cell).
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

#[cfg(test)]
mod tests {
    #[test]
    fn renders() {
        let text =
            "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa.cn%2Foffers%2Fx";
        assert!(super::svg(text).unwrap().starts_with("<?xml"));
        assert_eq!(&super::png(text).unwrap()[1..4], b"PNG");
        assert!(!super::terminal(text).unwrap().is_empty());
    }
}
