//! The relying party's trust store: the issuer keys it accepts, each with an optional issuer
//! identifier and validity window.

use credential::jose::{Header, PublicJwk};
use credential::sd_jwt::{IssuerKeys, VerifyError};
use serde_json::{Map, Value};

/// A key the relying party trusts to sign credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedKey {
    /// The key (its `kid`, when set, is matched besides the thumbprint).
    pub jwk: PublicJwk,
    /// Issuer identifiers this key may sign for (`iss` values); empty means any.
    pub issuers: Vec<String>,
    /// The key may have signed credentials issued at or after this time (Unix seconds).
    pub not_before: Option<i64>,
    /// ... and at or before this time.
    pub not_after: Option<i64>,
}

impl TrustedKey {
    /// A key trusted for any issuer, at any time.
    pub fn new(jwk: PublicJwk) -> TrustedKey {
        TrustedKey {
            jwk,
            issuers: Vec::new(),
            not_before: None,
            not_after: None,
        }
    }

    fn matches_kid(&self, kid: &str) -> bool {
        self.jwk.kid() == Some(kid)
            || self.jwk.thumbprint() == kid
            // A DID URL `did:web:host#fragment` names the key by its fragment.
            || kid
                .rsplit_once('#')
                .is_some_and(|(_, frag)| self.jwk.kid() == Some(frag) || self.jwk.thumbprint() == frag)
    }
}

/// Why a trust file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Not JSON.
    #[error("trust file is not json")]
    NotJson,
    /// JSON, but not a JWK, a JWKS or a DID document with `publicKeyJwk` methods.
    #[error("trust file is not a jwk, jwks or did document")]
    UnknownFormat,
    /// A key inside it is invalid.
    #[error("trust file key {index}: {reason}")]
    InvalidKey {
        /// Position of the key.
        index: usize,
        /// Why.
        reason: String,
    },
    /// It holds no key.
    #[error("trust file holds no key")]
    Empty,
}

/// The trusted issuer keys.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: Vec<TrustedKey>,
}

impl TrustStore {
    /// An empty store.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Adds a key.
    pub fn add(&mut self, key: TrustedKey) {
        self.keys.push(key);
    }

    /// The keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Loads a JWK, a JWKS (`{"keys": [...]}`, also inside a JWT VC issuer metadata document
    /// `{"issuer", "jwks"}`) or a DID document (`verificationMethod[].publicKeyJwk`).
    ///
    /// # Errors
    /// [`TrustError`] when the text is none of these or a key is invalid.
    pub fn from_json(text: &str) -> Result<TrustStore, TrustError> {
        let value: Value = serde_json::from_str(text).map_err(|_| TrustError::NotJson)?;
        let mut store = TrustStore::new();
        store.extend_from_value(&value)?;
        if store.keys.is_empty() {
            return Err(TrustError::Empty);
        }
        Ok(store)
    }

    /// Adds the keys of a JWK, JWKS, JWT VC issuer metadata or DID document.
    ///
    /// # Errors
    /// As [`TrustStore::from_json`].
    pub fn extend_from_value(&mut self, value: &Value) -> Result<(), TrustError> {
        let obj = value.as_object().ok_or(TrustError::UnknownFormat)?;
        let parse = |index: usize, v: &Value| {
            PublicJwk::from_value(v).map_err(|e| TrustError::InvalidKey {
                index,
                reason: e.to_string(),
            })
        };
        if obj.contains_key("kty") {
            self.add(TrustedKey::new(parse(0, value)?));
        } else if let Some(keys) = obj
            .get("keys")
            .or_else(|| obj.get("jwks").and_then(|j| j.get("keys")))
        {
            let issuers: Vec<String> = obj
                .get("issuer")
                .and_then(Value::as_str)
                .map(|s| vec![s.to_owned()])
                .unwrap_or_default();
            let keys = keys.as_array().ok_or(TrustError::UnknownFormat)?;
            for (i, k) in keys.iter().enumerate() {
                let mut key = TrustedKey::new(parse(i, k)?);
                key.issuers.clone_from(&issuers);
                self.add(key);
            }
        } else if let Some(methods) = obj.get("verificationMethod") {
            let did = obj.get("id").and_then(Value::as_str).unwrap_or_default();
            let methods = methods.as_array().ok_or(TrustError::UnknownFormat)?;
            for (i, m) in methods.iter().enumerate() {
                let Some(jwk) = m.get("publicKeyJwk") else {
                    continue;
                };
                let mut jwk = parse(i, jwk)?;
                if jwk.kid().is_none() {
                    if let Some((_, frag)) = m
                        .get("id")
                        .and_then(Value::as_str)
                        .and_then(|id| id.rsplit_once('#'))
                    {
                        jwk = jwk.with_kid(frag);
                    }
                }
                let mut key = TrustedKey::new(jwk);
                if !did.is_empty() {
                    key.issuers.push(did.to_owned());
                    if let Some(url) = did_web_to_url(did) {
                        key.issuers.push(url);
                    }
                }
                self.add(key);
            }
        } else {
            return Err(TrustError::UnknownFormat);
        }
        Ok(())
    }
}

/// `did:web:example.com:path` → `https://example.com/path` (did:web method, section 3.2);
/// percent-encoded ports (`%3A`) are decoded.
pub fn did_web_to_url(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let mut parts = rest.split(':');
    let host = parts.next()?.replace("%3A", ":").replace("%3a", ":");
    let path: Vec<&str> = parts.collect();
    Some(if path.is_empty() {
        format!("https://{host}")
    } else {
        format!("https://{host}/{}", path.join("/"))
    })
}

impl TrustStore {
    /// The trusted key that signed a `statuslist+jwt` token: matched by the header's `kid`,
    /// bound to the token's issuer (its `iss`, or else an issuer whose URL the list's `sub` lies
    /// under), and valid at the token's `iat`.
    ///
    /// A status-list token carries no credential payload, so [`IssuerKeys::issuer_key`] cannot
    /// tell which issuer it speaks for; this method reads that from the token itself.
    ///
    /// # Errors
    /// [`VerifyError::UnknownIssuerKey`] when no trusted key matches;
    /// [`VerifyError::IssuerKeyNotValidAtIssuance`] when the key was not valid at `iat`.
    pub fn status_list_key(
        &self,
        header: &Header,
        iss: Option<&str>,
        sub: &str,
        iat: i64,
    ) -> Result<PublicJwk, VerifyError> {
        self.find(
            header,
            |k| {
                k.issuers.is_empty()
                    || k.issuers
                        .iter()
                        .any(|i| iss == Some(i.as_str()) || publishes(i, sub))
            },
            Some(iat),
        )
    }

    /// The first key that `header.kid` names (or the only key, without a `kid`), that may sign
    /// for the issuer (`issuer_ok`) and whose window holds `issued_at`.
    fn find(
        &self,
        header: &Header,
        issuer_ok: impl Fn(&TrustedKey) -> bool,
        issued_at: Option<i64>,
    ) -> Result<PublicJwk, VerifyError> {
        let kid = header.kid.as_deref();
        // Without a `kid`, only a store of one key can answer.
        let only = kid.is_none() && self.keys.len() == 1;
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| kid.map_or(only, |kid| k.matches_kid(kid)) && issuer_ok(k))
            .peekable();
        if candidates.peek().is_none() {
            return Err(VerifyError::UnknownIssuerKey);
        }
        candidates
            .find(|k| k.valid_at(issued_at))
            .map(|k| k.jwk.clone())
            .ok_or(VerifyError::IssuerKeyNotValidAtIssuance)
    }
}

impl TrustedKey {
    /// Whether the key's window holds `issued_at`; a key with a window needs a time.
    fn valid_at(&self, issued_at: Option<i64>) -> bool {
        if self.not_before.is_none() && self.not_after.is_none() {
            return true;
        }
        issued_at.is_some_and(|t| {
            self.not_before.is_none_or(|nb| t >= nb) && self.not_after.is_none_or(|na| t <= na)
        })
    }
}

/// Whether the URI `uri` is published by `issuer` (an HTTPS issuer identifier): the same URL
/// or a path below it.
fn publishes(issuer: &str, uri: &str) -> bool {
    let base = issuer.trim_end_matches('/');
    !base.is_empty()
        && uri
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// When the credential was issued: `iat` (dc+sd-jwt), or the W3C `validFrom` (vc+sd-jwt),
/// which this stack's issuer sets to the issuance day.
fn issued_at(payload: &Map<String, Value>) -> Option<i64> {
    if let Some(iat) = payload.get("iat") {
        return iat.as_i64();
    }
    let from = payload.get("validFrom")?.as_str()?;
    time::OffsetDateTime::parse(from, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

impl IssuerKeys for TrustStore {
    fn issuer_key(
        &self,
        header: &Header,
        payload: &Map<String, Value>,
    ) -> Result<PublicJwk, VerifyError> {
        let iss = payload
            .get("iss")
            .or_else(|| payload.get("issuer"))
            .and_then(Value::as_str);
        self.find(
            header,
            |k| k.issuers.is_empty() || iss.is_some_and(|i| k.issuers.iter().any(|x| x == i)),
            issued_at(payload),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_urls() {
        assert_eq!(
            did_web_to_url("did:web:example.com").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            did_web_to_url("did:web:localhost%3A8080:issuer").as_deref(),
            Some("https://localhost:8080/issuer")
        );
        assert_eq!(did_web_to_url("did:key:z6Mk"), None);
    }

    #[test]
    fn publishes_only_below_the_issuer_url() {
        assert!(publishes("https://a.example", "https://a.example/status/1"));
        assert!(publishes(
            "https://a.example/",
            "https://a.example/status/1"
        ));
        assert!(publishes("https://a.example", "https://a.example"));
        assert!(!publishes(
            "https://a.example",
            "https://a.example.evil/status/1"
        ));
        assert!(!publishes("https://a.example/x", "https://a.example/xy"));
        assert!(!publishes("", "https://a.example"));
    }

    #[test]
    fn issuance_time_from_iat_or_valid_from() {
        let payload = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            issued_at(&payload(serde_json::json!({"iat": 1_767_225_600}))),
            Some(1_767_225_600)
        );
        assert_eq!(
            issued_at(&payload(
                serde_json::json!({"validFrom": "2026-01-01T00:00:00Z"})
            )),
            Some(1_767_225_600)
        );
        assert_eq!(
            issued_at(&payload(serde_json::json!({"validFrom": "soon"}))),
            None
        );
        assert_eq!(issued_at(&payload(serde_json::json!({"iat": "x"}))), None);
    }

    #[test]
    fn rejects_junk() {
        assert_eq!(
            TrustStore::from_json("nope").unwrap_err(),
            TrustError::NotJson
        );
        assert_eq!(
            TrustStore::from_json("[]").unwrap_err(),
            TrustError::UnknownFormat
        );
        assert_eq!(
            TrustStore::from_json(r#"{"keys": []}"#).unwrap_err(),
            TrustError::Empty
        );
        assert!(matches!(
            TrustStore::from_json(r#"{"kty": "RSA"}"#).unwrap_err(),
            TrustError::InvalidKey { .. }
        ));
    }
}
