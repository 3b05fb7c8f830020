use serde_json::{Map, Value};

use super::alg::Alg;
use super::error::JoseError;
use super::jwk::PublicJwk;
use super::key::SigningKey;
use crate::b64;

/// A parsed JOSE header (RFC 7515 section 4). `alg` is already checked against the closed set.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The signing algorithm.
    pub alg: Alg,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// Every member, as sent.
    pub members: Map<String, Value>,
}

impl Header {
    /// Parses the decoded header bytes.
    ///
    /// # Errors
    /// [`JoseError::MalformedHeader`] when it is not a JSON object with a string `alg`, or `typ`
    /// or `kid` are not strings; [`JoseError::AlgNone`] and [`JoseError::UnsupportedAlg`] for
    /// algorithms outside the set; [`JoseError::UnsupportedCrit`] when `crit` is present.
    pub fn parse(bytes: &[u8]) -> Result<Header, JoseError> {
        let members: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|_| JoseError::MalformedHeader {
                reason: "not a json object",
            })?;
        let alg = members
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::MalformedHeader {
                reason: "alg missing or not a string",
            })?;
        let alg = Alg::parse(alg)?;
        if members.contains_key("crit") {
            return Err(JoseError::UnsupportedCrit);
        }
        let string = |name: &str| match members.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JoseError::MalformedHeader {
                reason: "typ or kid is not a string",
            }),
        };
        let typ = string("typ")?;
        let kid = string("kid")?;
        Ok(Header {
            alg,
            typ,
            kid,
            members,
        })
    }
}

/// A JWS in compact serialization (RFC 7515 section 7.1), or one signature of a JSON
/// serialization, parsed but not yet verified.
///
/// It keeps the base64url text of the protected header and payload: the signature covers
/// exactly those bytes, and they are never re-serialized.
#[derive(Debug, Clone)]
pub struct Jws {
    signing_input: String,
    header_len: usize,
    header: Header,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl Jws {
    /// Parses `header.payload.signature`.
    ///
    /// # Errors
    /// [`JoseError::MalformedJws`] when there are not exactly three base64url parts; header
    /// errors as in [`Header::parse`].
    pub fn parse(compact: &str) -> Result<Jws, JoseError> {
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::MalformedJws {
                reason: "not three dot-separated parts",
            });
        };
        Jws::from_parts(h, p, s)
    }

    /// Builds a JWS from the three base64url parts of a JSON serialization
    /// (`protected`, `payload`, `signature`).
    ///
    /// # Errors
    /// As [`Jws::parse`].
    pub fn from_parts(protected: &str, payload: &str, signature: &str) -> Result<Jws, JoseError> {
        let header_bytes = b64::decode(protected).map_err(|_| JoseError::MalformedJws {
            reason: "header is not base64url",
        })?;
        let payload_bytes = b64::decode(payload).map_err(|_| JoseError::MalformedJws {
            reason: "payload is not base64url",
        })?;
        let signature = b64::decode(signature).map_err(|_| JoseError::MalformedJws {
            reason: "signature is not base64url",
        })?;
        let header = Header::parse(&header_bytes)?;
        Ok(Jws {
            signing_input: format!("{protected}.{payload}"),
            header_len: protected.len(),
            header,
            payload: payload_bytes,
            signature,
        })
    }

    /// Takes `kid` from a JWS JSON serialization's unprotected header when the protected
    /// header has none (RFC 7515 section 7.2.1: the JOSE header is the union of both). Only key
    /// selection uses it; the signature still covers the protected header alone.
    pub fn with_unprotected_kid(mut self, kid: Option<&str>) -> Jws {
        if self.header.kid.is_none() {
            self.header.kid = kid.map(str::to_owned);
        }
        self
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header, consuming the JWS.
    pub fn into_header(self) -> Header {
        self.header
    }

    /// The decoded payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload parsed as a JSON object.
    ///
    /// # Errors
    /// [`JoseError::MalformedJws`] when the payload is not a JSON object.
    pub fn payload_object(&self) -> Result<Map<String, Value>, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|_| JoseError::MalformedJws {
            reason: "payload is not a json object",
        })
    }

    /// The exact ASCII bytes the signature covers: `BASE64URL(header) '.' BASE64URL(payload)`.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The base64url protected header, as received.
    pub fn protected_b64(&self) -> &str {
        &self.signing_input[..self.header_len]
    }

    /// The base64url payload, as received.
    pub fn payload_b64(&self) -> &str {
        &self.signing_input[self.header_len + 1..]
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The base64url signature.
    pub fn signature_b64(&self) -> String {
        b64::encode(&self.signature)
    }

    /// The compact serialization.
    pub fn to_compact(&self) -> String {
        format!("{}.{}", self.signing_input, self.signature_b64())
    }

    /// Verifies the signature with `key` under the header's `alg`.
    ///
    /// # Errors
    /// [`JoseError::AlgKeyMismatch`] or [`JoseError::BadSignature`].
    pub fn verify(&self, key: &PublicJwk) -> Result<(), JoseError> {
        key.verify(
            self.header.alg,
            self.signing_input.as_bytes(),
            &self.signature,
        )
    }
}

/// Signs a compact JWS. `alg` is set from the key; the other header members are taken from
/// `header` (pass `typ`, `kid` and so on there). Returns the compact serialization.
pub fn sign_compact(header: Map<String, Value>, payload: &[u8], key: &SigningKey) -> String {
    let signing_input = super::signer::signing_input(header, payload, key.alg());
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64::encode(signature))
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;
    use serde_json::json;

    use super::*;

    fn header(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn sign_parse_verify() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        for alg in Alg::ALL {
            let key = SigningKey::generate(alg, &mut rng);
            let jws = sign_compact(header(json!({"typ": "JWT"})), br#"{"a":1}"#, &key);
            let parsed = Jws::parse(&jws).unwrap();
            assert_eq!(parsed.header().alg, alg);
            assert_eq!(parsed.header().typ.as_deref(), Some("JWT"));
            parsed.verify(key.public_jwk()).unwrap();
            assert_eq!(parsed.to_compact(), jws);
        }
    }

    #[test]
    fn rejects_none_hmac_crit_and_shape() {
        let none = format!(
            "{}.{}.",
            b64::encode(r#"{"alg":"none"}"#),
            b64::encode("{}")
        );
        assert_eq!(Jws::parse(&none).unwrap_err(), JoseError::AlgNone);
        let hs = format!(
            "{}.{}.AA",
            b64::encode(r#"{"alg":"HS256"}"#),
            b64::encode("{}")
        );
        assert!(matches!(
            Jws::parse(&hs),
            Err(JoseError::UnsupportedAlg { .. })
        ));
        let crit = format!(
            "{}.{}.AA",
            b64::encode(r#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
            b64::encode("{}")
        );
        assert_eq!(Jws::parse(&crit).unwrap_err(), JoseError::UnsupportedCrit);
        assert!(matches!(
            Jws::parse("a.b"),
            Err(JoseError::MalformedJws { .. })
        ));
        assert!(matches!(
            Jws::parse("a.b.c.d"),
            Err(JoseError::MalformedJws { .. })
        ));
    }

    #[test]
    fn alg_key_mismatch() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let ed = SigningKey::generate(Alg::EdDsa, &mut rng);
        let es = SigningKey::generate(Alg::Es256, &mut rng);
        let jws = Jws::parse(&sign_compact(Map::new(), b"{}", &ed)).unwrap();
        assert_eq!(
            jws.verify(es.public_jwk()),
            Err(JoseError::AlgKeyMismatch { alg: Alg::EdDsa })
        );
    }
}
