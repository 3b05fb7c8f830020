//! Display entries of the issuer, a configuration or a claim (section 12.2.4, appendix B.2).

use serde::{Deserialize, Serialize};

/// A display entry: a name in one language, with optional logo and colours (section 12.2.4
/// `display` of the issuer and of a configuration; `display` of a claim uses name and locale).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Display {
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Image>,
    /// Description (configurations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Background colour, CSS colour value (configurations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Background image (configurations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_image: Option<Image>,
    /// Text colour, CSS colour value (configurations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<String>,
}

impl Display {
    /// A name in one language: `{"name", "locale"}`.
    pub fn named(name: impl Into<String>, locale: impl Into<String>) -> Display {
        Display {
            name: Some(name.into()),
            locale: Some(locale.into()),
            ..Display::default()
        }
    }
}

/// A logo or background image: where it is and its alternative text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// URI of the image.
    pub uri: String,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}
