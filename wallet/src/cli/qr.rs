//! QR codes of offline answers: terminal text and PNG, drawn by [`credential::qr`].

pub use credential::qr::{terminal, version};

/// A grayscale PNG, 4 pixels a module, with a 4-module quiet zone.
pub fn png(text: &str) -> anyhow::Result<Vec<u8>> {
    credential::qr::png(text, 4)
        .map_err(|_| anyhow::anyhow!("the answer ({} bytes) does not fit a qr code", text.len()))
}
