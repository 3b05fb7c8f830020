//! The OpenID4VCI 1.0 messages of the pre-authorized code flow, as serde types shared by the
//! issuer (which serializes them) and the wallet (which reads them).
//!
//! ```text
//!  wallet                                           issuer
//!  openid-credential-offer://?credential_offer= ◄── CredentialOffer                  (section 4.1.1)
//!  GET /.well-known/openid-credential-issuer    ◄── CredentialIssuerMetadata         (section 12.2.4)
//!  GET /.well-known/oauth-authorization-server  ◄── AuthorizationServerMetadata      (RFC 8414; 12.3)
//!  POST /token       TokenRequest (form)        ──► TokenResponse                    (section 6)
//!  POST /nonce                                  ──► NonceResponse                    (section 7)
//!  POST /credential  CredentialRequest          ──► CredentialResponse               (section 8)
//!  any refusal                                  ◄── ErrorResponse                    (RFC 6749 5.2; 8.3.1)
//! ```
//!
//! Reading: every type ignores members it does not know (the specification lets issuers and
//! wallets add extensions), except [`Proofs`], which holds exactly one proof type (section
//! 8.2). Writing: optional members that are `None` are left out, so the JSON on the wire holds
//! only what was set. Members are written in the order of the struct's fields.
//!
//! Secrets (the pre-authorized code, `tx_code`, access and refresh tokens) are [`Secret`]s:
//! zeroized on drop, `Debug` redacted. Size limits belong to whoever reads the bytes (the
//! issuer and the wallet cap bodies before parsing); these types do no I/O.

mod issuance;
mod metadata;
mod offer;
mod token;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

pub use issuance::{
    CredentialRequest, CredentialResponse, ErrorResponse, IssuedCredential, NonceResponse, Proofs,
};
pub use metadata::{
    AuthorizationServerMetadata, BatchIssuance, ClaimDescription, ClaimPathElement,
    ConfigurationMap, CredentialConfiguration, CredentialDefinition, CredentialIssuerMetadata,
    CredentialMetadata, ProofTypeMetadata, SigningAlg,
};
pub use offer::{
    AuthorizationCodeGrant, CredentialOffer, Grants, PreAuthorizedCodeGrant, TxCodeSpec,
};
pub use token::{Grant, TokenRequest, TokenRequestError, TokenResponse};

/// `grant_type` of the pre-authorized code grant (section 3.5; OAuth URN registered in
/// section 14.7).
pub const PRE_AUTH_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// `grant_type` of the refresh grant (RFC 6749 section 6).
pub const REFRESH_GRANT: &str = "refresh_token";

/// The proof JWT's `typ` (appendix F.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Where the credential issuer metadata is published, below the issuer URL (section 12.2.2).
pub const ISSUER_METADATA_PATH: &str = "/.well-known/openid-credential-issuer";

/// Where the authorization-server metadata is published, below its URL (RFC 8414 section 3).
pub const AS_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// A secret string of a message (pre-authorized code, `tx_code`, access or refresh token):
/// zeroized when dropped, shown as `Secret(..)` by `Debug`, written to JSON or a form as the
/// plain string. It has no `PartialEq`: whoever checks one compares digests in constant time.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<Zeroizing<String>> for Secret {
    fn from(value: Zeroizing<String>) -> Secret {
        Secret(value)
    }
}

impl From<Secret> for Zeroizing<String> {
    fn from(value: Secret) -> Zeroizing<String> {
        value.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(|s| Secret(Zeroizing::new(s)))
    }
}

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
