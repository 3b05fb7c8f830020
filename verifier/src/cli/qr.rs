//! QR codes for the relying party's desk: the request as terminal text and PNG, and the
//! wallet's answer decoded from a PNG (a photo or screenshot of the phone's QR code).

/// The text does not fit: its size, not its text.
fn too_long(text: &str) -> anyhow::Error {
    anyhow::anyhow!("text of {} bytes does not fit a qr code", text.len())
}

/// Text for a terminal, two modules per character cell ([`credential::qr::terminal`]).
pub fn terminal(text: &str) -> anyhow::Result<String> {
    credential::qr::terminal(text).map_err(|_| too_long(text))
}

/// A grayscale PNG, `scale` pixels a module, with the 4-module quiet zone
/// ([`credential::qr::png`]).
pub fn png(text: &str, scale: usize) -> anyhow::Result<Vec<u8>> {
    credential::qr::png(text, scale).map_err(|_| too_long(text))
}

/// Whether `bytes` start with the PNG signature.
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

/// Images larger than this many pixels are refused before decoding.
const MAX_PIXELS: u64 = 40_000_000;

/// Decodes the first QR code found in a PNG image and returns its text.
pub fn decode_png(bytes: &[u8]) -> anyhow::Result<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // 8-bit samples, palettes expanded, so every pixel is gray, gray+alpha, RGB or RGBA.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let (w, h) = {
        let info = reader.info();
        (info.width, info.height)
    };
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        anyhow::bail!("image of {w}x{h} pixels is too large");
    }
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut buf)?;
    let channels = frame.color_type.samples();
    let stride = frame.line_size;
    let gray = |x: usize, y: usize| -> u8 {
        let p = y * stride + x * channels;
        match channels {
            1 | 2 => buf[p],
            _ => {
                let (r, g, b) = (
                    u32::from(buf[p]),
                    u32::from(buf[p + 1]),
                    u32::from(buf[p + 2]),
                );
                // ITU-R BT.601 luma; the result is at most 255.
                u8::try_from((299 * r + 587 * g + 114 * b) / 1000).unwrap_or(u8::MAX)
            }
        }
    };
    let (wu, hu) = (usize::try_from(w)?, usize::try_from(h)?);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(wu, hu, gray);
    let grids = img.detect_grids();
    let grid = grids
        .first()
        .ok_or_else(|| anyhow::anyhow!("no qr code found in the image"))?;
    let (_, text) = grid
        .decode()
        .map_err(|e| anyhow::anyhow!("qr code does not decode: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn png_round_trip() {
        let text = "openid4vp://?client_id=https%3A%2F%2Fhotel.example&nonce=abc".repeat(8);
        let png = super::png(&text, 4).unwrap();
        assert!(super::is_png(&png));
        assert_eq!(super::decode_png(&png).unwrap(), text);
    }

    #[test]
    fn compact_answer_survives_a_png_in_alphanumeric_mode() {
        // A realistic size: ~2 KB of base64url-heavy text, compact form ~1.3 KB of base45.
        let body: String = (0..40u32)
            .map(|i| format!("eyJ{}{i:04}", "QWxhZGRpbjpvcGVuIHNlc2FtZQ".repeat(2)))
            .collect::<Vec<_>>()
            .join("~");
        let text = credential::compact::encode(&format!("{{\"citizen_id\":[\"{body}~\"]}}"));
        let png = super::png(&text, 2).unwrap();
        let back = super::decode_png(&png).unwrap();
        assert_eq!(back, text);
        assert_eq!(
            credential::compact::decode(&back, 1 << 20).unwrap(),
            format!("{{\"citizen_id\":[\"{body}~\"]}}")
        );
    }

    #[test]
    fn no_code_is_an_error() {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 64, 64);
        enc.set_color(png::ColorType::Grayscale);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[255u8; 64 * 64]).unwrap();
        w.finish().unwrap();
        assert!(super::decode_png(&out).is_err());
    }
}
