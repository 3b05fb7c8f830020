use std::fmt;

use serde_json::Value;

use super::error::VerifyError;
use crate::b64;

/// The hash function of `_sd_alg` (RFC 9901 section 4.1.1). Only SHA-256 is supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SdAlg {
    /// `sha-256`, the default when `_sd_alg` is absent.
    #[default]
    Sha256,
}

impl SdAlg {
    /// The `_sd_alg` value.
    pub fn as_str(self) -> &'static str {
        "sha-256"
    }

    /// Parses an `_sd_alg` value (IANA hash algorithm name).
    ///
    /// # Errors
    /// [`VerifyError::UnsupportedSdAlg`] for anything but `sha-256`.
    pub fn parse(value: &str) -> Result<SdAlg, VerifyError> {
        match value {
            "sha-256" => Ok(SdAlg::Sha256),
            _ => Err(VerifyError::UnsupportedSdAlg),
        }
    }

    /// base64url(hash(ascii bytes)): the digest of a disclosure, or `sd_hash` of a presentation.
    pub fn digest(self, ascii: &str) -> String {
        b64::encode(crate::sha256::digest(ascii.as_bytes()).as_bytes())
    }
}

/// What a disclosure discloses.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DisclosureKind {
    /// `[salt, name, value]`: an object property (RFC 9901 section 4.2.1).
    Property {
        /// The claim name.
        name: String,
        /// The claim value.
        value: Value,
    },
    /// `[salt, value]`: an array element (RFC 9901 section 4.2.2).
    Element {
        /// The element value.
        value: Value,
    },
}

/// A disclosure: the base64url text exactly as issued, its digest, and its decoded content.
///
/// The digest is always computed over the text as received (RFC 9901 section 4.2.3), never
/// over a re-serialization.
#[derive(Clone, PartialEq)]
pub struct Disclosure {
    encoded: String,
    digest: String,
    salt: String,
    kind: DisclosureKind,
}

impl Disclosure {
    /// Creates an object-property disclosure.
    pub fn property(salt: String, name: &str, value: Value) -> Disclosure {
        let array = Value::Array(vec![
            Value::String(salt.clone()),
            Value::String(name.to_owned()),
            value.clone(),
        ]);
        Disclosure::from_array(
            salt,
            &array,
            DisclosureKind::Property {
                name: name.to_owned(),
                value,
            },
        )
    }

    /// Creates an array-element disclosure.
    pub fn element(salt: String, value: Value) -> Disclosure {
        let array = Value::Array(vec![Value::String(salt.clone()), value.clone()]);
        Disclosure::from_array(salt, &array, DisclosureKind::Element { value })
    }

    fn from_array(salt: String, array: &Value, kind: DisclosureKind) -> Disclosure {
        let encoded = b64::encode(array.to_string());
        Disclosure {
            digest: SdAlg::Sha256.digest(&encoded),
            encoded,
            salt,
            kind,
        }
    }

    /// Parses a disclosure from its base64url text and computes its digest with `sd_alg`.
    ///
    /// # Errors
    /// [`VerifyError::MalformedDisclosure`] when it is not base64url of a JSON array of two or
    /// three elements with string salt (and name); [`VerifyError::ReservedClaimDisclosed`] when
    /// the name is `_sd` or `...`.
    pub fn parse(encoded: &str, sd_alg: SdAlg) -> Result<Disclosure, VerifyError> {
        let bytes = b64::decode(encoded).map_err(|_| VerifyError::MalformedDisclosure {
            reason: "not base64url",
        })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| VerifyError::MalformedDisclosure { reason: "not json" })?;
        let Value::Array(mut items) = value else {
            return Err(VerifyError::MalformedDisclosure {
                reason: "not a json array",
            });
        };
        let kind = match items.len() {
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let name = match items.pop() {
                    Some(Value::String(name)) => name,
                    _ => {
                        return Err(VerifyError::MalformedDisclosure {
                            reason: "claim name is not a string",
                        })
                    }
                };
                if name == "_sd" || name == "..." {
                    return Err(VerifyError::ReservedClaimDisclosed { name });
                }
                DisclosureKind::Property { name, value }
            }
            2 => DisclosureKind::Element {
                value: items.pop().unwrap_or(Value::Null),
            },
            _ => {
                return Err(VerifyError::MalformedDisclosure {
                    reason: "not two or three elements",
                })
            }
        };
        let salt = match items.pop() {
            Some(Value::String(salt)) => salt,
            _ => {
                return Err(VerifyError::MalformedDisclosure {
                    reason: "salt is not a string",
                })
            }
        };
        Ok(Disclosure {
            digest: sd_alg.digest(encoded),
            encoded: encoded.to_owned(),
            salt,
            kind,
        })
    }

    /// The digest and the content, consuming the disclosure (processing moves the values).
    pub(super) fn into_parts(self) -> (String, DisclosureKind) {
        (self.digest, self.kind)
    }

    /// The base64url text, exactly as issued.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The base64url digest of the text.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// What it discloses.
    pub fn kind(&self) -> &DisclosureKind {
        &self.kind
    }

    /// The claim name, for an object-property disclosure.
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            DisclosureKind::Property { name, .. } => Some(name),
            DisclosureKind::Element { .. } => None,
        }
    }

    /// The disclosed value.
    pub fn value(&self) -> &Value {
        match &self.kind {
            DisclosureKind::Property { value, .. } | DisclosureKind::Element { value } => value,
        }
    }
}

impl fmt::Debug for Disclosure {
    /// Shows the claim name and digest, never the salt or the value (personal data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Disclosure")
            .field("name", &self.name())
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9901_section_4_2_1_example() {
        // RFC 9901 section 4.2.1: ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
        let d = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
            SdAlg::Sha256,
        )
        .unwrap();
        assert_eq!(d.name(), Some("family_name"));
        assert_eq!(d.value(), &Value::String("Möbius".into()));
        assert_eq!(d.salt(), "_26bc4LT-ac6q2KI6cBW5es");
    }

    #[test]
    fn rejects_reserved_names_and_shapes() {
        let enc = |v: Value| b64::encode(v.to_string());
        for name in ["_sd", "..."] {
            assert_eq!(
                Disclosure::parse(&enc(serde_json::json!(["s", name, 1])), SdAlg::Sha256),
                Err(VerifyError::ReservedClaimDisclosed { name: name.into() })
            );
        }
        for bad in [
            serde_json::json!(["s"]),
            serde_json::json!(["s", "a", 1, 2]),
            serde_json::json!([1, "a", 1]),
            serde_json::json!(["s", 1, 1]),
            serde_json::json!({"s": 1}),
        ] {
            assert!(matches!(
                Disclosure::parse(&enc(bad), SdAlg::Sha256),
                Err(VerifyError::MalformedDisclosure { .. })
            ));
        }
    }
}
