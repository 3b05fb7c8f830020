use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::process::process;
use super::{ClaimPath, Limits, SdAlg, SdJwt, VerifyError};
use crate::jose::{Alg, Header, JoseError, Jws, PublicJwk};
use crate::sha256::Sha256;

/// Which `typ` values of the issuer-signed JWT are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypPolicy {
    /// Exactly one of these (compared case-insensitively, `application/` prefix ignored).
    OneOf(Vec<String>),
    /// Any `typ`, or none, except those of other JWT kinds: `kb+jwt`, `statuslist+jwt`,
    /// `openid4vci-proof+jwt`, `at+jwt` (a plain RFC 9901 verifier).
    AnyCredential,
}

/// `typ` values that name other kinds of JWT and are never a credential.
pub const OTHER_JWT_KINDS: [&str; 5] = [
    "kb+jwt",
    "statuslist+jwt",
    "openid4vci-proof+jwt",
    "at+jwt",
    "oauth-authz-req+jwt",
];

fn normalize_typ(typ: &str) -> String {
    let typ = typ.to_ascii_lowercase();
    typ.strip_prefix("application/")
        .map(str::to_owned)
        .unwrap_or(typ)
}

impl TypPolicy {
    fn check(&self, typ: Option<&str>) -> Result<(), VerifyError> {
        let normalized = typ.map(normalize_typ);
        let ok = match (self, &normalized) {
            (TypPolicy::OneOf(allowed), Some(t)) => allowed.iter().any(|a| &normalize_typ(a) == t),
            (TypPolicy::OneOf(_), None) => false,
            (TypPolicy::AnyCredential, Some(t)) => !OTHER_JWT_KINDS.contains(&t.as_str()),
            (TypPolicy::AnyCredential, None) => true,
        };
        if ok {
            Ok(())
        } else {
            Err(VerifyError::WrongTyp {
                found: typ.map(|t| t.chars().take(64).collect()),
            })
        }
    }
}

/// What the verifier expects of key binding (RFC 9901 section 7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyBinding {
    /// A KB-JWT must be present, signed by the `cnf` key, with this `nonce` and `aud`, an `iat`
    /// no older than `max_age` seconds, and the right `sd_hash`.
    Required {
        /// The nonce the verifier issued.
        nonce: String,
        /// The verifier's audience value (its client id).
        aud: String,
        /// How old the KB-JWT's `iat` may be, in seconds.
        max_age: i64,
    },
    /// Policy accepts SD-JWTs without a KB-JWT. A KB-JWT that is present is still verified
    /// for signature and `sd_hash`; its nonce and audience are reported, not judged.
    NotRequired,
}

/// Trusted issuer keys: given the issuer-signed JWT's header and payload, the key to verify it.
pub trait IssuerKeys {
    /// The key for this header (`kid`) and payload (`iss`, `iat`).
    ///
    /// # Errors
    /// [`VerifyError::UnknownIssuerKey`] when no trusted key matches;
    /// [`VerifyError::IssuerKeyNotValidAtIssuance`] when the key was not valid at `iat`.
    fn issuer_key(
        &self,
        header: &Header,
        payload: &Map<String, Value>,
    ) -> Result<PublicJwk, VerifyError>;
}

/// A single trusted key (any `kid`).
impl IssuerKeys for PublicJwk {
    fn issuer_key(&self, _: &Header, _: &Map<String, Value>) -> Result<PublicJwk, VerifyError> {
        Ok(self.clone())
    }
}

/// A set of trusted keys, matched by `kid` (the key's own `kid` or its thumbprint); without a
/// `kid` in the header, the only key of the set.
impl IssuerKeys for [PublicJwk] {
    fn issuer_key(
        &self,
        header: &Header,
        _: &Map<String, Value>,
    ) -> Result<PublicJwk, VerifyError> {
        match &header.kid {
            Some(kid) => self
                .iter()
                .find(|k| k.kid() == Some(kid) || k.thumbprint() == kid)
                .cloned()
                .ok_or(VerifyError::UnknownIssuerKey),
            None if self.len() == 1 => Ok(self[0].clone()),
            None => Err(VerifyError::UnknownIssuerKey),
        }
    }
}

/// The checks' parameters.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The current time (or the audit time), seconds since the Unix epoch.
    pub now: i64,
    /// Tolerated clock difference, seconds.
    pub clock_skew: i64,
    /// Algorithms accepted for the issuer JWT and the KB-JWT.
    pub allowed_algs: Vec<Alg>,
    /// Accepted issuer-JWT `typ` values.
    pub typ: TypPolicy,
    /// Key binding expectations.
    pub key_binding: KeyBinding,
    /// Top-level claims that must never arrive in a disclosure (for SD-JWT VC: `iss`, `nbf`,
    /// `exp`, `cnf`, `vct`, `vct#integrity`, `status`).
    pub reserved_claims: Vec<String>,
    /// Size limits.
    pub limits: Limits,
}

/// SD-JWT VC claims that must not be selectively disclosable (SD-JWT VC section 3.2.2).
pub const SD_JWT_VC_RESERVED: [&str; 7] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];

impl VerifyOptions {
    /// Defaults for a plain RFC 9901 verifier at time `now`: both algorithms, 60 s skew, any
    /// credential `typ`, key binding required with these values and a 5-minute `iat` window.
    pub fn new(now: i64, key_binding: KeyBinding) -> VerifyOptions {
        VerifyOptions {
            now,
            clock_skew: 60,
            allowed_algs: Alg::ALL.to_vec(),
            typ: TypPolicy::AnyCredential,
            key_binding,
            reserved_claims: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Key binding as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbClaims {
    /// `nonce`.
    pub nonce: String,
    /// `aud`.
    pub aud: String,
    /// `iat`.
    pub iat: i64,
}

/// A verified SD-JWT: the only type that exposes the disclosed claims.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwt {
    /// The issuer-signed JWT's header.
    pub header: Header,
    /// The processed payload (RFC 9901 section 7.1): disclosed claims in place, `_sd`,
    /// `_sd_alg` and `...` removed; undisclosed claims absent.
    pub claims: Map<String, Value>,
    /// The path of every disclosed claim, in disclosure order.
    pub disclosed: Vec<ClaimPath>,
    /// The issuer key that verified the signature.
    pub issuer_key: PublicJwk,
    /// `cnf.jwk`, when present.
    pub holder_key: Option<PublicJwk>,
    /// The KB-JWT's claims, when one was present and verified.
    pub key_binding: Option<KbClaims>,
}

impl SdJwt {
    /// Verifies the SD-JWT (and its KB-JWT) per RFC 9901 sections 7.1 and 7.3.
    ///
    /// Order: `alg` allow-list, `typ`, issuer key, signature, disclosures and digests, time
    /// claims, holder key, key binding.
    ///
    /// # Errors
    /// The [`VerifyError`] naming the first failed check.
    pub fn verify(
        &self,
        keys: &(impl IssuerKeys + ?Sized),
        options: &VerifyOptions,
    ) -> Result<VerifiedSdJwt, VerifyError> {
        let (index, issuer_key, prefix) = self.verify_signature(keys, options)?;
        let header = self.signatures[index].header().clone();
        let (payload, disclosures) = (self.payload.clone(), self.disclosures.clone());
        self.finish(header, issuer_key, prefix, payload, disclosures, options)
    }

    /// [`SdJwt::verify`], consuming the SD-JWT: the disclosed values move into the processed
    /// payload instead of being copied. What a verifier that parses, verifies and drops the
    /// presentation should call.
    ///
    /// # Errors
    /// As [`SdJwt::verify`].
    pub fn into_verified(
        mut self,
        keys: &(impl IssuerKeys + ?Sized),
        options: &VerifyOptions,
    ) -> Result<VerifiedSdJwt, VerifyError> {
        let (index, issuer_key, prefix) = self.verify_signature(keys, options)?;
        // `verify_signature` returned the index of a signature it verified.
        let header = std::mem::take(&mut self.signatures)
            .swap_remove(index)
            .into_header();
        let payload = std::mem::take(&mut self.payload);
        let disclosures = std::mem::take(&mut self.disclosures);
        self.finish(header, issuer_key, prefix, payload, disclosures, options)
    }

    /// The checks after the signature: disclosures and digests, time claims, holder key, key
    /// binding.
    fn finish(
        &self,
        header: Header,
        issuer_key: PublicJwk,
        prefix: Option<SdHashPrefix>,
        payload: Map<String, Value>,
        disclosures: Vec<super::Disclosure>,
        options: &VerifyOptions,
    ) -> Result<VerifiedSdJwt, VerifyError> {
        let reserved: Vec<&str> = options.reserved_claims.iter().map(String::as_str).collect();
        let processed = process(payload, disclosures, &reserved, options.limits.max_depth)?;
        check_times(&processed.claims, options.now, options.clock_skew)?;
        let holder_key = match processed.claims.get("cnf") {
            Some(cnf) => Some(
                cnf.get("jwk")
                    .ok_or(VerifyError::MissingHolderKey)
                    .and_then(|jwk| {
                        PublicJwk::from_value(jwk).map_err(|_| VerifyError::MissingHolderKey)
                    })?,
            ),
            None => None,
        };
        let key_binding = match (&options.key_binding, &self.kb_jwt) {
            (KeyBinding::Required { .. }, None) => return Err(VerifyError::KeyBindingMissing),
            (_, Some(kb)) => {
                let holder = holder_key.as_ref().ok_or(VerifyError::MissingHolderKey)?;
                Some(self.verify_kb(kb, holder, prefix, options)?)
            }
            (KeyBinding::NotRequired, None) => None,
        };
        Ok(VerifiedSdJwt {
            header,
            claims: processed.claims,
            disclosed: processed.paths,
            issuer_key,
            holder_key,
            key_binding,
        })
    }

    /// Checks `alg` and `typ` of the issuer-signed JWT, finds its key and verifies the
    /// signature (for the general JSON serialization: the first signature whose key is
    /// trusted). Returns that signature's index.
    fn verify_signature(
        &self,
        keys: &(impl IssuerKeys + ?Sized),
        options: &VerifyOptions,
    ) -> Result<(usize, PublicJwk, Option<SdHashPrefix>), VerifyError> {
        let mut last_error = VerifyError::UnknownIssuerKey;
        // `sd_hash` is only computed over a KB-JWT's presentation.
        let sd_hash_input = self
            .kb_jwt
            .as_ref()
            .filter(|_| self.sd_alg == SdAlg::Sha256)
            .map(|_| self.sd_hash_input.as_str());
        for (index, jws) in self.signatures.iter().enumerate() {
            match verify_one(jws, keys, options, &self.payload, sd_hash_input) {
                Ok((key, prefix)) => return Ok((index, key, prefix)),
                Err(e @ (VerifyError::UnknownIssuerKey | VerifyError::IssuerSignature))
                    if self.signatures.len() > 1 =>
                {
                    last_error = e;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }

    fn verify_kb(
        &self,
        kb: &str,
        holder: &PublicJwk,
        prefix: Option<SdHashPrefix>,
        options: &VerifyOptions,
    ) -> Result<KbClaims, VerifyError> {
        let jws = Jws::parse(kb).map_err(VerifyError::KbJose)?;
        // A KB-JWT `alg` off the allow-list is a KB-JWT error, as `KbJose` documents;
        // `AlgNotAllowed` would blame the issuer-signed JWT (found by the rejection suite).
        if !options.allowed_algs.contains(&jws.header().alg) {
            return Err(VerifyError::KbJose(JoseError::UnsupportedAlg {
                alg: jws.header().alg.as_str().to_owned(),
            }));
        }
        if jws.header().typ.as_deref().map(normalize_typ).as_deref() != Some("kb+jwt") {
            return Err(VerifyError::KbWrongTyp);
        }
        jws.verify(holder).map_err(|_| VerifyError::KbSignature)?;
        let claims = jws.payload_object().map_err(VerifyError::KbJose)?;
        let string = |name: &'static str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .ok_or(VerifyError::KbClaim { name })
        };
        let nonce = string("nonce")?;
        let aud = string("aud")?;
        let sd_hash = string("sd_hash")?;
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or(VerifyError::KbClaim { name: "iat" })?;
        let expected_hash = match prefix {
            // The issuer JWT's signing input, hashed once for its signature, is the start of
            // the `sd_hash` input: hash only the rest (the same SHA-256 of the same bytes).
            Some(SdHashPrefix { mut state, len }) => {
                let rest = self.sd_hash_input.as_bytes().get(len..).unwrap_or_default();
                state.update(rest);
                crate::b64::encode(state.finish().as_bytes())
            }
            None => self.sd_alg.digest(&self.sd_hash_input),
        };
        if !bool::from(expected_hash.as_bytes().ct_eq(sd_hash.as_bytes())) {
            return Err(VerifyError::SdHashMismatch);
        }
        if let KeyBinding::Required {
            nonce: expected_nonce,
            aud: expected_aud,
            max_age,
        } = &options.key_binding
        {
            if !bool::from(expected_nonce.as_bytes().ct_eq(nonce.as_bytes())) {
                return Err(VerifyError::NonceMismatch);
            }
            if aud != expected_aud {
                return Err(VerifyError::AudienceMismatch);
            }
            if iat > options.now.saturating_add(options.clock_skew) {
                return Err(VerifyError::KbIssuedInFuture);
            }
            if iat
                < options
                    .now
                    .saturating_sub(max_age.saturating_add(options.clock_skew))
            {
                return Err(VerifyError::KbStale);
            }
        }
        Ok(KbClaims {
            nonce: nonce.to_owned(),
            aud: aud.to_owned(),
            iat,
        })
    }
}

/// SHA-256 of the first `len` bytes of the `sd_hash` input (the issuer JWT's signing input),
/// left unfinished so that `sd_hash` continues from it.
struct SdHashPrefix {
    state: Sha256,
    len: usize,
}

/// Checks one signature of the issuer-signed JWT. With an ES256 signature whose signing input
/// begins `sd_hash_input` (always, for the signature the presentation was built from), the
/// signing input is hashed once: the hash verifies the signature, and its unfinished state is
/// returned for `sd_hash`.
fn verify_one(
    jws: &Jws,
    keys: &(impl IssuerKeys + ?Sized),
    options: &VerifyOptions,
    payload: &Map<String, Value>,
    sd_hash_input: Option<&str>,
) -> Result<(PublicJwk, Option<SdHashPrefix>), VerifyError> {
    let header = jws.header();
    if !options.allowed_algs.contains(&header.alg) {
        return Err(VerifyError::AlgNotAllowed { alg: header.alg });
    }
    options.typ.check(header.typ.as_deref())?;
    let key = keys.issuer_key(header, payload)?;
    let signing_input = jws.signing_input().as_bytes();
    let shares_prefix =
        sd_hash_input.is_some_and(|input| input.as_bytes().starts_with(signing_input));
    if header.alg == Alg::Es256 && shares_prefix {
        let mut state = Sha256::new();
        state.update(signing_input);
        key.verify_es256_prehashed(&state.clone().finish(), jws.signature())
            .map_err(|_| VerifyError::IssuerSignature)?;
        let len = signing_input.len();
        return Ok((key, Some(SdHashPrefix { state, len })));
    }
    jws.verify(&key).map_err(|_| VerifyError::IssuerSignature)?;
    Ok((key, None))
}

fn check_times(claims: &Map<String, Value>, now: i64, skew: i64) -> Result<(), VerifyError> {
    let time = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(VerifyError::InvalidTimeClaim { name }),
    };
    // The end and the start of validity, each with the skew.
    let ends = |end: Option<i64>| match end {
        Some(end) if now > end.saturating_add(skew) => Err(VerifyError::Expired),
        _ => Ok(()),
    };
    let starts = |start: Option<i64>| match start {
        Some(start) if now.saturating_add(skew) < start => Err(VerifyError::NotYetValid),
        _ => Ok(()),
    };
    ends(time("exp")?)?;
    starts(time("nbf")?)?;
    if let Some(iat) = time("iat")? {
        if iat > now.saturating_add(skew) {
            return Err(VerifyError::IssuedInFuture);
        }
    }
    // W3C VCDM 2.0 payloads (vc+sd-jwt) carry their validity as RFC 3339 date-times.
    let datetime = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(|t| Some(t.unix_timestamp()))
                .map_err(|_| VerifyError::InvalidTimeClaim { name })
        }
        Some(_) => Err(VerifyError::InvalidTimeClaim { name }),
    };
    ends(datetime("validUntil")?)?;
    starts(datetime("validFrom")?)
}
