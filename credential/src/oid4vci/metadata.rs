//! Published metadata: the credential issuer's (section 12.2.4) and its authorization
//! server's (RFC 8414 section 2; OpenID4VCI section 12.3).

use std::collections::BTreeMap;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Display;

/// Credential issuer metadata (section 12.2.4), at
/// [`ISSUER_METADATA_PATH`](super::ISSUER_METADATA_PATH).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialIssuerMetadata {
    /// The issuer's URL; equals the offer's `credential_issuer`.
    pub credential_issuer: String,
    /// The authorization servers; absent means the issuer is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    /// The credential endpoint.
    pub credential_endpoint: String,
    /// The nonce endpoint (section 7), when proofs need a `c_nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    /// The deferred credential endpoint (section 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    /// The notification endpoint (section 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    /// Batch issuance: how many proofs one credential request may carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchIssuance>,
    /// The issuer's name per language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
    /// Every configuration this issuer issues, by id, in the issuer's order.
    pub credential_configurations_supported: ConfigurationMap,
}

/// `batch_credential_issuance` (section 12.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchIssuance {
    /// The most proofs (so credentials) in one request; at least 2.
    pub batch_size: u64,
}

/// `credential_configurations_supported`: configurations by id, kept in the order written
/// (a map in JSON). An id that appears twice is refused when reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigurationMap(pub Vec<(String, CredentialConfiguration)>);

impl ConfigurationMap {
    /// The configuration with this id.
    pub fn get(&self, id: &str) -> Option<&CredentialConfiguration> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, c)| c)
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, CredentialConfiguration)> for ConfigurationMap {
    fn from_iter<I: IntoIterator<Item = (String, CredentialConfiguration)>>(
        iter: I,
    ) -> ConfigurationMap {
        ConfigurationMap(iter.into_iter().collect())
    }
}

impl Serialize for ConfigurationMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, config) in &self.0 {
            map.serialize_entry(id, config)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ConfigurationMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ConfigurationMap, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = ConfigurationMap;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of credential configurations")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<ConfigurationMap, A::Error> {
                let mut entries: Vec<(String, CredentialConfiguration)> = Vec::new();
                while let Some((id, config)) =
                    access.next_entry::<String, CredentialConfiguration>()?
                {
                    if entries.iter().any(|(k, _)| *k == id) {
                        return Err(serde::de::Error::custom(
                            "duplicate credential configuration id",
                        ));
                    }
                    entries.push((id, config));
                }
                Ok(ConfigurationMap(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// One entry of `credential_configurations_supported` (section 12.2.4 and appendix A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    /// `dc+sd-jwt`, `vc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`, ...
    pub format: String,
    /// OAuth scope that requests this configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How a credential is bound to its holder (`jwk`, `did:...`, `cose_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptographic_binding_methods_supported: Option<Vec<String>>,
    /// The algorithms the issuer signs this credential with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_signing_alg_values_supported: Option<Vec<SigningAlg>>,
    /// Key proof types, by name (`jwt`, `di_vp`, `attestation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_types_supported: Option<BTreeMap<String, ProofTypeMetadata>>,
    /// Display and claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<CredentialMetadata>,
    /// The SD-JWT VC type (`dc+sd-jwt`, appendix A.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// The W3C credential's types (`jwt_vc_json`, `ldp_vc`, `vc+sd-jwt`; appendix A.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_definition: Option<CredentialDefinition>,
    /// The mdoc document type (`mso_mdoc`, appendix A.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
}

/// A signing algorithm identifier: a JOSE name, or a COSE number (mdoc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SigningAlg {
    /// JOSE `alg` name (`ES256`, `EdDSA`).
    Name(String),
    /// COSE algorithm number (`-7`).
    Cose(i64),
}

/// One proof type's metadata (section 12.2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofTypeMetadata {
    /// Algorithms the issuer accepts for proofs of this type.
    pub proof_signing_alg_values_supported: Vec<SigningAlg>,
    /// Key attestations the issuer requires (appendix D), kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<serde_json::Value>,
}

/// `credential_metadata` of a configuration (section 12.2.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialMetadata {
    /// The credential's name per language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
    /// Its claims (appendix B.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimDescription>>,
}

/// A claim of a configuration (appendix B.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimDescription {
    /// Where the claim is (appendix C, claims path pointer).
    pub path: Vec<ClaimPathElement>,
    /// Whether every credential includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    /// Its name per language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
}

impl ClaimDescription {
    /// A top-level claim with its names.
    pub fn top_level(name: impl Into<String>, display: Vec<Display>) -> ClaimDescription {
        ClaimDescription {
            path: vec![ClaimPathElement::Name(name.into())],
            mandatory: None,
            display: Some(display),
        }
    }
}

/// One step of a claims path pointer (appendix C): a member name, an array index, or `null`
/// for every element of an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimPathElement {
    /// A member of an object.
    Name(String),
    /// An element of an array.
    Index(u64),
    /// Every element of an array (`null`).
    All(()),
}

/// `credential_definition` of a W3C configuration (appendix A.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialDefinition {
    /// `@context` (`ldp_vc`, `jwt_vc_json-ld`).
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<String>>,
    /// The credential's `type` values.
    #[serde(rename = "type")]
    pub types: Vec<String>,
}

/// Authorization-server metadata (RFC 8414 section 2, the members this stack uses;
/// OpenID4VCI section 12.3), at [`AS_METADATA_PATH`](super::AS_METADATA_PATH).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The server's issuer identifier (a URL).
    pub issuer: String,
    /// The authorization endpoint (authorization code flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The server's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Supported grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Whether the token endpoint takes a pre-authorized code without client authentication
    /// (section 12.3).
    #[serde(
        rename = "pre-authorized_grant_anonymous_access_supported",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_grant_anonymous_access_supported: Option<bool>,
    /// Supported `response_type` values (empty: no authorization endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}
