//! QR codes small enough for a terminal: four modules per character cell (Unicode quadrant
//! blocks), so a 2 KB answer (version 34, 151 modules) fits in under 80 columns. Light modules
//! are drawn, dark ones left as the (dark) terminal background, as `issuer::qr::terminal` does.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of quiet zone around the code.
const QUIET: isize = 2;

/// Quadrant glyphs indexed by the filled quadrants: top-left 8, top-right 4, bottom-left 2,
/// bottom-right 1.
const GLYPHS: [char; 16] = [
    ' ', '▗', '▖', '▄', '▝', '▐', '▞', '▟', '▘', '▚', '▌', '▙', '▀', '▜', '▛', '█',
];

/// The text as a QR code (error correction L) drawn with quadrant blocks, and its version;
/// `None` when the text does not fit a QR code.
pub fn small(text: &str) -> Option<(String, i16)> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let version = match code.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    };
    let n = isize::try_from(code.width()).ok()?;
    let colors = code.to_colors();
    // Outside the code (the quiet zone) counts as light.
    let light = |x: isize, y: isize| {
        if x < 0 || y < 0 || x >= n || y >= n {
            return true;
        }
        usize::try_from(y * n + x)
            .ok()
            .and_then(|i| colors.get(i))
            .is_none_or(|c| *c == Color::Light)
    };
    let mut out = String::new();
    let mut y = -QUIET;
    while y < n + QUIET {
        let mut x = -QUIET;
        while x < n + QUIET {
            let idx = usize::from(light(x, y)) << 3
                | usize::from(light(x + 1, y)) << 2
                | usize::from(light(x, y + 1)) << 1
                | usize::from(light(x + 1, y + 1));
            out.push(GLYPHS[idx]);
            x += 2;
        }
        out.push('\n');
        y += 2;
    }
    Some((out, version))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_2_kb_answer_fits_80_columns() {
        let text = "e".repeat(2169);
        let (art, version) = super::small(&text).unwrap();
        assert_eq!(version, 34);
        let widths: Vec<usize> = art.lines().map(|l| l.chars().count()).collect();
        assert!(
            widths.iter().all(|w| *w == widths[0] && *w < 80),
            "{widths:?}"
        );
        assert_eq!(widths.len(), widths[0]);
    }
}
