//! QR codes of credential offer URIs: SVG, PNG (grayscale, 8 pixels a module) and text for a
//! terminal, drawn by [`credential::qr`].

pub use credential::qr::{svg, terminal, QrError};

/// A PNG image, 8 pixels a module.
///
/// # Errors
/// [`QrError`] when the text is too long or encoding fails.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    credential::qr::png(text, 8)
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
