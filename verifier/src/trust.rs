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
    /// Every credential the key signed expires at or before this time (Unix seconds): the
    /// issuer's published last credential expiry of a retired key. A credential expiring later
    /// (a forgery with a retired key) is refused.
    pub last_credential_expiry: Option<i64>,
    /// The issuer withdrew the key (emergency): credentials it signed are refused, all of them
    /// or those issued at or after a time.
    pub withdrawn: Option<Withdrawal>,
}

/// An emergency withdrawal of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// Every credential the key signed is refused.
    All,
    /// Credentials issued (`iat`) at or after this time (Unix seconds) are refused.
    Since(i64),
}

/// Why a trusted key does not vouch for a credential inside its signing window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLimit {
    /// The key was withdrawn for credentials issued when this one was.
    Withdrawn,
    /// The credential expires after the key's last credential expiry (or names no expiry).
    OutlivesKey {
        /// The key's last credential expiry.
        last_credential_expiry: i64,
    },
}

impl TrustedKey {
    /// A key trusted for any issuer, at any time.
    pub fn new(jwk: PublicJwk) -> TrustedKey {
        TrustedKey {
            jwk,
            issuers: Vec::new(),
            not_before: None,
            not_after: None,
            last_credential_expiry: None,
            withdrawn: None,
        }
    }

    /// What refuses a credential (its issuer JWT payload) signed by this key inside the key's
    /// window: a withdrawal covering its `iat` (a credential naming no issuance time is covered
    /// by any withdrawal), or an expiry (`exp`, or the VCDM `validUntil`) past the key's last
    /// credential expiry.
    pub fn limit(&self, payload: &Map<String, Value>) -> Option<KeyLimit> {
        match self.withdrawn {
            Some(Withdrawal::All) => return Some(KeyLimit::Withdrawn),
            Some(Withdrawal::Since(since)) if issued_at(payload).is_none_or(|t| t >= since) => {
                return Some(KeyLimit::Withdrawn)
            }
            _ => {}
        }
        let last = self.last_credential_expiry?;
        let exp = time_claim(payload, "exp", "validUntil");
        exp.is_none_or(|e| e > last)
            .then_some(KeyLimit::OutlivesKey {
                last_credential_expiry: last,
            })
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
                // The issuer's published window (`/.well-known/jwt-vc-issuer` of this stack),
                // read as the trust bundle's: the start rounded down to the day of the
                // credentials' `iat`, the last credential expiry bounding their `exp`.
                let time = |name: &str| k.get(name).and_then(Value::as_i64);
                key.not_before = time("not_before").map(|t| t - t.rem_euclid(86_400));
                key.not_after = time("not_after");
                key.last_credential_expiry = time("last_credential_expiry");
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
    /// allowed to sign for the issuer the token names (`iss`: the key is bound to it, or to no
    /// issuer at all), and valid at the token's `iat`.
    ///
    /// A status-list token carries no credential payload, so [`IssuerKeys::issuer_key`] cannot
    /// tell which issuer it speaks for; the token's `iss` says so, and the list is then used
    /// only for credentials of that issuer (`StatusStore::check`). The list's URI
    /// plays no part: a URI under an issuer's web address proves nothing about who signed it.
    ///
    /// # Errors
    /// [`VerifyError::UnknownIssuerKey`] when no trusted key matches;
    /// [`VerifyError::IssuerKeyNotValidAtIssuance`] when the key was not valid at `iat`.
    pub fn status_list_key(
        &self,
        header: &Header,
        iss: &str,
        iat: i64,
    ) -> Result<PublicJwk, VerifyError> {
        self.find(
            header,
            |k| k.issuers.is_empty() || k.issuers.iter().any(|i| i == iss),
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
        self.find_key(header, issuer_ok, issued_at)
            .map(|k| k.jwk.clone())
    }

    /// As [`TrustStore::find`], the trusted key itself.
    fn find_key(
        &self,
        header: &Header,
        issuer_ok: impl Fn(&TrustedKey) -> bool,
        issued_at: Option<i64>,
    ) -> Result<&TrustedKey, VerifyError> {
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

impl TrustStore {
    /// The trusted key a credential (its issuer JWT header and payload) names: by `kid`, bound
    /// to its `iss` (or VCDM `issuer`), with a window holding its issuance time.
    ///
    /// # Errors
    /// As [`IssuerKeys::issuer_key`].
    pub fn credential_key(
        &self,
        header: &Header,
        payload: &Map<String, Value>,
    ) -> Result<&TrustedKey, VerifyError> {
        let iss = payload
            .get("iss")
            .or_else(|| payload.get("issuer"))
            .and_then(Value::as_str);
        self.find_key(
            header,
            |k| k.issuers.is_empty() || iss.is_some_and(|i| k.issuers.iter().any(|x| x == i)),
            issued_at(payload),
        )
    }

    /// What refuses a credential signed by the key it names inside that key's window
    /// ([`TrustedKey::limit`]); `None` when nothing does or no key is found (the signature
    /// check then says why).
    pub fn key_limit(&self, header: &Header, payload: &Map<String, Value>) -> Option<KeyLimit> {
        self.credential_key(header, payload).ok()?.limit(payload)
    }
}

impl IssuerKeys for TrustStore {
    /// The key for a credential, refusing a withdrawn key or one the credential outlives
    /// ([`TrustedKey::limit`]) as [`VerifyError::IssuerKeyNotValidAtIssuance`] (the
    /// `Verifier` names those checks with their own codes first).
    fn issuer_key(
        &self,
        header: &Header,
        payload: &Map<String, Value>,
    ) -> Result<PublicJwk, VerifyError> {
        let key = self.credential_key(header, payload)?;
        if key.limit(payload).is_some() {
            return Err(VerifyError::IssuerKeyNotValidAtIssuance);
        }
        Ok(key.jwk.clone())
    }
}

/// A time claim: the JWT `name` (Unix seconds, dc+sd-jwt) or the VCDM `vc_name` (RFC 3339,
/// vc+sd-jwt).
pub(crate) fn time_claim(claims: &Map<String, Value>, name: &str, vc_name: &str) -> Option<i64> {
    if let Some(t) = claims.get(name) {
        return t.as_i64();
    }
    let text = claims.get(vc_name)?.as_str()?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
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
