//! QR codes of offline answers: terminal text and PNG.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

fn code(text: &str) -> anyhow::Result<QrCode> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
        .map_err(|_| anyhow::anyhow!("the answer ({} bytes) does not fit a qr code", text.len()))
}

/// The QR version (1..=40) a text needs.
pub fn version(text: &str) -> anyhow::Result<i16> {
    match code(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// Text for a terminal, two modules per character.
pub fn terminal(text: &str) -> anyhow::Result<String> {
    Ok(code(text)?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

/// A grayscale PNG, 4 pixels a module, with a 4-module quiet zone.
pub fn png(text: &str) -> anyhow::Result<Vec<u8>> {
    let code = code(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let scale = 4;
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let mut image = vec![0xffu8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules, i / modules);
        for y in 0..scale {
            let row = (my + quiet) * scale + y;
            let x0 = (mx + quiet) * scale;
            image[row * side + x0..row * side + x0 + scale].fill(0);
        }
    }
    let side = u32::try_from(side)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&image)?;
    writer.finish()?;
    Ok(out)
}
