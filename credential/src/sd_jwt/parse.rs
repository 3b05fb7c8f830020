use serde_json::{Map, Value};

use super::disclosure::{Disclosure, SdAlg};
use super::error::VerifyError;
use super::limits::Limits;
use crate::jose::{JoseError, Jws};
use crate::json::optional_string;
use crate::size::at_most;

/// How an SD-JWT was serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Serialization {
    /// `<jwt>~<d1>~...~<dn>~[<kb-jwt>]` (RFC 9901 section 4).
    Compact,
    /// Flattened JWS JSON serialization (RFC 9901 section 8.1).
    JsonFlattened,
    /// General JWS JSON serialization, one or more signatures (RFC 9901 section 8.2).
    JsonGeneral,
}

/// A parsed SD-JWT or SD-JWT+KB, not yet verified.
///
/// It keeps the exact text that digests and `sd_hash` cover: each disclosure's base64url text
/// and the presentation up to and including the last `~`.
#[derive(Debug, Clone)]
pub struct SdJwt {
    pub(super) signatures: Vec<Jws>,
    pub(super) payload: Map<String, Value>,
    pub(super) sd_alg: SdAlg,
    pub(super) disclosures: Vec<Disclosure>,
    pub(super) kb_jwt: Option<String>,
    pub(super) sd_hash_input: String,
    pub(super) serialization: Serialization,
}

impl SdJwt {
    /// Parses a compact or JSON-serialized SD-JWT, checking size, disclosure-count and
    /// nesting limits before any decoding.
    ///
    /// # Errors
    /// [`VerifyError::TooLarge`], [`VerifyError::TooManyDisclosures`], [`VerifyError::TooDeep`],
    /// [`VerifyError::Malformed`], [`VerifyError::Jose`] (bad header or `alg`),
    /// [`VerifyError::PayloadNotObject`], [`VerifyError::UnsupportedSdAlg`] and disclosure
    /// errors.
    pub fn parse(text: &str, limits: &Limits) -> Result<SdJwt, VerifyError> {
        at_most(text.len(), limits.max_bytes, |size, limit| {
            VerifyError::TooLarge { size, limit }
        })?;
        // Tolerate the ASCII whitespace (a trailing newline) that files and pipes add; nothing else.
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.starts_with('{') {
            SdJwt::parse_json(text, limits)
        } else {
            SdJwt::parse_compact(text, limits)
        }
    }

    fn parse_compact(text: &str, limits: &Limits) -> Result<SdJwt, VerifyError> {
        let Some(last_tilde) = text.rfind('~') else {
            return Err(VerifyError::Malformed {
                reason: "no ~ separator",
            });
        };
        let (sd_hash_input, kb) = text.split_at(last_tilde + 1);
        let mut parts = sd_hash_input[..last_tilde].split('~');
        let jwt = parts.next().unwrap_or("");
        // Count while splitting (one pass), and stop at the limit before decoding anything.
        let mut encoded: Vec<&str> = Vec::new();
        for part in parts {
            if encoded.len() == limits.max_disclosures {
                return Err(VerifyError::TooManyDisclosures {
                    count: sd_hash_input.bytes().filter(|b| *b == b'~').count() - 1,
                    limit: limits.max_disclosures,
                });
            }
            encoded.push(part);
        }
        let jws = Jws::parse(jwt).map_err(VerifyError::Jose)?;
        let kb_jwt = (!kb.is_empty()).then(|| kb.to_owned());
        SdJwt::assemble(
            vec![jws],
            &encoded,
            kb_jwt,
            sd_hash_input.to_owned(),
            Serialization::Compact,
            limits,
        )
    }

    fn parse_json(text: &str, limits: &Limits) -> Result<SdJwt, VerifyError> {
        check_depth(text.as_bytes(), limits.max_depth)?;
        let obj: Map<String, Value> =
            serde_json::from_str(text).map_err(|_| VerifyError::Malformed {
                reason: "json serialization is not a json object",
            })?;
        let str_member = |o: &Map<String, Value>, name: &str| {
            o.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(VerifyError::Malformed {
                    reason: "json serialization member missing or not a string",
                })
        };
        let payload = str_member(&obj, "payload")?;
        // (protected, signature, unprotected header) of each signature.
        let (entries, serialization) = if let Some(sigs) = obj.get("signatures") {
            let sigs = sigs
                .as_array()
                .filter(|s| !s.is_empty())
                .ok_or(VerifyError::Malformed {
                    reason: "signatures is not a non-empty array",
                })?;
            let mut entries = Vec::with_capacity(sigs.len());
            for sig in sigs {
                let sig = sig.as_object().ok_or(VerifyError::Malformed {
                    reason: "signature entry is not an object",
                })?;
                entries.push((
                    str_member(sig, "protected")?,
                    str_member(sig, "signature")?,
                    sig.get("header").cloned(),
                ));
            }
            (entries, Serialization::JsonGeneral)
        } else {
            (
                vec![(
                    str_member(&obj, "protected")?,
                    str_member(&obj, "signature")?,
                    obj.get("header").cloned(),
                )],
                Serialization::JsonFlattened,
            )
        };
        // Disclosures and the KB-JWT live in the unprotected header of the first signature
        // only (RFC 9901 section 8.2).
        let header = match &entries[0].2 {
            Some(Value::Object(h)) => h.clone(),
            None => Map::new(),
            Some(_) => {
                return Err(VerifyError::Malformed {
                    reason: "unprotected header is not an object",
                })
            }
        };
        for (_, _, other) in entries.iter().skip(1) {
            if let Some(Value::Object(h)) = other {
                if h.contains_key("disclosures") || h.contains_key("kb_jwt") {
                    return Err(VerifyError::Malformed {
                        reason: "disclosures or kb_jwt outside the first signature",
                    });
                }
            }
        }
        let disclosures: Vec<String> = match header.get("disclosures") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|d| d.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or(VerifyError::Malformed {
                    reason: "disclosures is not an array of strings",
                })?,
            Some(_) => {
                return Err(VerifyError::Malformed {
                    reason: "disclosures is not an array of strings",
                })
            }
        };
        at_most(disclosures.len(), limits.max_disclosures, |count, limit| {
            VerifyError::TooManyDisclosures { count, limit }
        })?;
        let kb_jwt = optional_string(
            &header,
            "kb_jwt",
            VerifyError::Malformed {
                reason: "kb_jwt is not a string",
            },
        )?;
        let signatures = entries
            .iter()
            .map(|(protected, signature, unprotected)| {
                let kid = unprotected
                    .as_ref()
                    .and_then(|h| h.get("kid"))
                    .and_then(Value::as_str);
                Jws::from_parts(protected, &payload, signature).map(|j| j.with_unprotected_kid(kid))
            })
            .collect::<Result<Vec<_>, JoseError>>()
            .map_err(VerifyError::Jose)?;
        // sd_hash covers the compact form built from the first signature (RFC 9901 8.1).
        let mut sd_hash_input = format!("{}.{}.{}~", entries[0].0, payload, entries[0].1);
        for d in &disclosures {
            sd_hash_input.push_str(d);
            sd_hash_input.push('~');
        }
        let encoded: Vec<&str> = disclosures.iter().map(String::as_str).collect();
        SdJwt::assemble(
            signatures,
            &encoded,
            kb_jwt,
            sd_hash_input,
            serialization,
            limits,
        )
    }

    fn assemble(
        signatures: Vec<Jws>,
        encoded: &[&str],
        kb_jwt: Option<String>,
        sd_hash_input: String,
        serialization: Serialization,
        limits: &Limits,
    ) -> Result<SdJwt, VerifyError> {
        let first = signatures.first().ok_or(VerifyError::Malformed {
            reason: "no signature",
        })?;
        check_depth(first.payload(), limits.max_depth)?;
        let payload: Map<String, Value> =
            serde_json::from_slice(first.payload()).map_err(|_| VerifyError::PayloadNotObject)?;
        let sd_alg = match payload.get("_sd_alg") {
            None => SdAlg::Sha256,
            Some(Value::String(alg)) => SdAlg::parse(alg)?,
            Some(_) => return Err(VerifyError::UnsupportedSdAlg),
        };
        let mut disclosures = Vec::with_capacity(encoded.len());
        for e in encoded {
            if e.is_empty() {
                return Err(VerifyError::Malformed {
                    reason: "empty disclosure",
                });
            }
            at_most(e.len(), limits.max_bytes, |size, limit| {
                VerifyError::TooLarge { size, limit }
            })?;
            let d = Disclosure::parse(e, sd_alg)?;
            if json_depth(d.value()) > limits.max_depth {
                return Err(VerifyError::TooDeep {
                    limit: limits.max_depth,
                });
            }
            disclosures.push(d);
        }
        Ok(SdJwt {
            signatures,
            payload,
            sd_alg,
            disclosures,
            kb_jwt,
            sd_hash_input,
            serialization,
        })
    }

    /// The issuer-signed JWT (the first signature for the general JSON serialization).
    pub fn jws(&self) -> &Jws {
        // `assemble` never builds an SdJwt without a signature.
        &self.signatures[0]
    }

    /// Every signature of the issuer-signed JWT (one unless general JSON serialization).
    pub fn signatures(&self) -> &[Jws] {
        &self.signatures
    }

    /// The issuer-signed payload, with digests in place (nothing disclosed yet).
    pub fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// The disclosures sent.
    pub fn disclosures(&self) -> &[Disclosure] {
        &self.disclosures
    }

    /// The KB-JWT text, if one was sent.
    pub fn kb_jwt(&self) -> Option<&str> {
        self.kb_jwt.as_deref()
    }

    /// The serialization it arrived in.
    pub fn serialization(&self) -> Serialization {
        self.serialization
    }

    /// The `_sd_alg` in force.
    pub fn sd_alg(&self) -> SdAlg {
        self.sd_alg
    }

    /// The exact text `sd_hash` covers: the issuer-signed JWT and the disclosures, each
    /// followed by `~` (RFC 9901 section 4.3.1).
    pub fn sd_hash_input(&self) -> &str {
        &self.sd_hash_input
    }
}

/// Nesting depth of a JSON text, scanned without parsing (strings skipped).
fn check_depth(bytes: &[u8], limit: usize) -> Result<(), VerifyError> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'"' => loop {
                // Skip the string: to the first `"` not escaped by a `\\`. An unterminated
                // string runs to the end, where no bracket counts.
                let Some(offset) = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|c| *c == b'"' || *c == b'\\'))
                else {
                    return Ok(());
                };
                i += offset + 1;
                if bytes.get(i - 1) == Some(&b'"') {
                    break;
                }
                i += 1; // the escaped byte
            },
            _ => step_depth(&mut depth, b, limit)?,
        }
    }
    Ok(())
}

/// One byte outside strings: `{` or `[` goes a level deeper (refused past `limit`), `}` or `]`
/// a level up, anything else leaves the depth.
fn step_depth(depth: &mut usize, b: u8, limit: usize) -> Result<(), VerifyError> {
    match b {
        b'{' | b'[' => {
            *depth += 1;
            if *depth > limit {
                return Err(VerifyError::TooDeep { limit });
            }
        }
        b'}' | b']' => *depth = depth.saturating_sub(1),
        _ => {}
    }
    Ok(())
}

fn json_depth(value: &Value) -> usize {
    match value {
        Value::Object(m) => 1 + m.values().map(json_depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The byte-at-a-time scan `check_depth` replaced (the string skipping differs; the
    /// bracket counting is the same `step_depth`).
    fn check_depth_reference(bytes: &[u8], limit: usize) -> Result<(), VerifyError> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for &b in bytes {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                _ => step_depth(&mut depth, b, limit)?,
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn check_depth_matches_the_byte_scan(
            text in proptest::collection::vec(
                proptest::sample::select(b"\"\\{}[]a:,".to_vec()), 0..64),
            limit in 0usize..6,
        ) {
            prop_assert_eq!(check_depth(&text, limit), check_depth_reference(&text, limit));
        }
    }
}
