//! The nonce endpoint (section 7), the credential endpoint (section 8) and the error body of
//! every endpoint (RFC 6749 section 5.2; OpenID4VCI sections 6.3 and 8.3.1).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The nonce endpoint's answer (section 7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// The nonce a key proof must carry.
    pub c_nonce: String,
}

/// A credential request (section 8.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialRequest {
    /// Which configuration of the offer (when no `authorization_details` named credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// A credential dataset named by the token response's `authorization_details`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifier: Option<String>,
    /// Key proofs, one credential per proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Proofs>,
    /// The single-proof form of earlier drafts (not in 1.0); kept so a reader can refuse it
    /// with a clear message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
    /// Asks for an encrypted response (section 10), kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<Value>,
}

impl CredentialRequest {
    /// A request for `configuration`, one credential per proof JWT.
    pub fn with_jwt_proofs(
        configuration: impl Into<String>,
        jwt: Vec<String>,
    ) -> CredentialRequest {
        CredentialRequest {
            credential_configuration_id: Some(configuration.into()),
            proofs: Some(Proofs { jwt }),
            ..CredentialRequest::default()
        }
    }
}

/// `proofs` of a credential request (section 8.2): exactly one proof type; this stack uses
/// `jwt` (appendix F.1). Any other member is refused when reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// Proof JWTs (`typ` [`PROOF_TYP`](super::PROOF_TYP)).
    pub jwt: Vec<String>,
}

/// The credential endpoint's answer (section 8.3): the credentials now, or a transaction id
/// to fetch them later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// The issued credentials, one per proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Vec<IssuedCredential>>,
    /// Deferred issuance: what to present at the deferred credential endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Deferred issuance: seconds to wait before asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// What to quote at the notification endpoint (section 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
}

impl CredentialResponse {
    /// Credentials issued now, each a string (`{"credentials": [{"credential": ...}]}`).
    pub fn issued(credentials: impl IntoIterator<Item = String>) -> CredentialResponse {
        CredentialResponse {
            credentials: Some(
                credentials
                    .into_iter()
                    .map(|c| IssuedCredential {
                        credential: Value::String(c),
                    })
                    .collect(),
            ),
            ..CredentialResponse::default()
        }
    }
}

/// One entry of `credentials` (section 8.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// The credential: a string (SD-JWT, JWT, base64url mdoc) or a JSON object (`ldp_vc`).
    pub credential: Value,
}

impl IssuedCredential {
    /// The credential when it is a string (every format this stack issues).
    pub fn as_str(&self) -> Option<&str> {
        self.credential.as_str()
    }
}

/// An error answer (RFC 6749 section 5.2, RFC 6750 section 3.1, OpenID4VCI sections 6.3 and
/// 8.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error code (`invalid_request`, `invalid_proof`, ...).
    pub error: String,
    /// Human-readable text, for the developer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

impl ErrorResponse {
    /// `{"error": code, "error_description": description}`.
    pub fn new(error: impl Into<String>, description: impl Into<String>) -> ErrorResponse {
        ErrorResponse {
            error: error.into(),
            error_description: Some(description.into()),
            error_uri: None,
        }
    }
}
