//! The credential offer (section 4.1.1): which configurations, and the grants to redeem them.

use serde::{Deserialize, Serialize};

use super::Secret;

/// A credential offer object (section 4.1.1), passed by value in
/// `openid-credential-offer://?credential_offer=` or fetched from a `credential_offer_uri`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The credential issuer's URL: where its metadata is.
    pub credential_issuer: String,
    /// Keys of the issuer metadata's `credential_configurations_supported`.
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use; absent means the wallet finds them in the metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Grants>,
}

impl CredentialOffer {
    /// The pre-authorized code grant, if offered.
    pub fn pre_authorized(&self) -> Option<&PreAuthorizedCodeGrant> {
        self.grants.as_ref()?.pre_authorized_code.as_ref()
    }
}

/// `grants` of an offer (section 4.1.1): one member per grant type.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Grants {
    /// `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code` ([`super::PRE_AUTH_GRANT`]).
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
}

/// The authorization code grant's parameters (section 4.1.1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// Binds the authorization request to this offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// Which of the metadata's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// The pre-authorized code grant's parameters (section 4.1.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code the wallet redeems at the token endpoint. Secret.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: Secret,
    /// Present when the token request must carry a transaction code sent by another channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCodeSpec>,
    /// Which of the metadata's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// What the transaction code looks like, so the wallet can ask for it (section 4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCodeSpec {
    /// Its length in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// `numeric` (the default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// Where to find it, for the user (at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
