use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRngCore;
use serde_json::{Map, Value};

use super::disclosure::{Disclosure, SdAlg};
use super::error::IssueError;
use super::path::{ClaimPath, PathSegment};
use crate::b64;
use crate::jose::{try_sign_compact, JwsSigner};

/// Where salts and decoy digests come from. [`RngSalts`] is the production source; tests
/// inject fixed salts to reproduce published examples.
pub trait SaltSource {
    /// A fresh salt: base64url of at least 128 random bits (RFC 9901 section 4.2.1).
    fn salt(&mut self) -> String;
    /// How many decoy digests to add to an object in `min..=max`.
    fn decoy_count(&mut self, min: usize, max: usize) -> usize;
    /// A decoy digest: the hash of a fresh random value (RFC 9901 section 4.2.5).
    fn decoy_digest(&mut self) -> String;
}

/// Salts and decoys from a CSPRNG: 128-bit salts, decoys hashing 128 random bits.
pub struct RngSalts<'a>(pub &'a mut dyn CryptoRngCore);

impl SaltSource for RngSalts<'_> {
    fn salt(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.0.fill_bytes(&mut bytes);
        b64::encode(bytes)
    }

    fn decoy_count(&mut self, min: usize, max: usize) -> usize {
        if max <= min {
            return min;
        }
        let span = (max - min + 1) as u64;
        // Rejection sampling keeps the count uniform.
        let zone = u64::MAX - (u64::MAX % span);
        loop {
            let r = self.0.next_u64();
            if r < zone {
                return min + (r % span) as usize;
            }
        }
    }

    fn decoy_digest(&mut self) -> String {
        SdAlg::Sha256.digest(&self.salt())
    }
}

/// An issued SD-JWT: the issuer-signed JWT and every disclosure.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The issuer-signed JWT (compact JWS).
    pub jwt: String,
    /// Every disclosure, in the order they were made.
    pub disclosures: Vec<Disclosure>,
}

impl Issued {
    /// The compact serialization `<jwt>~<d1>~...~<dn>~` (RFC 9901 section 4).
    pub fn to_compact(&self) -> String {
        let mut out = String::with_capacity(
            self.jwt.len()
                + self
                    .disclosures
                    .iter()
                    .map(|d| d.as_str().len() + 1)
                    .sum::<usize>()
                + 1,
        );
        out.push_str(&self.jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d.as_str());
            out.push('~');
        }
        out
    }
}

/// Builds an SD-JWT from plain claims, marking the claims at chosen paths selectively
/// disclosable (RFC 9901 section 4.2): object members become `_sd` digests, array elements
/// become `{"...": digest}`. A disclosable claim may hold disclosable claims of its own
/// (recursive disclosure, RFC 9901 section 6.3).
#[derive(Debug, Clone)]
pub struct SdJwtBuilder {
    claims: Map<String, Value>,
    header: Map<String, Value>,
    disclosable: BTreeSet<Vec<PathSegment>>,
    decoys: (usize, usize),
    pad: BTreeMap<Vec<PathSegment>, usize>,
}

impl SdJwtBuilder {
    /// Starts from the plain claims of the payload.
    pub fn new(claims: Map<String, Value>) -> SdJwtBuilder {
        SdJwtBuilder {
            claims,
            header: Map::new(),
            disclosable: BTreeSet::new(),
            decoys: (0, 0),
            pad: BTreeMap::new(),
        }
    }

    /// Pads the `_sd` array of the object at `path` (the empty path is the payload) with decoy
    /// digests up to `len` entries, so every credential of a type has the same shape. Takes
    /// precedence over [`SdJwtBuilder::decoys`] for that object.
    #[must_use]
    pub fn pad(mut self, path: &ClaimPath, len: usize) -> SdJwtBuilder {
        self.pad.insert(path.0.clone(), len);
        self
    }

    /// Sets the header `typ` (for example `dc+sd-jwt`).
    #[must_use]
    pub fn typ(self, typ: &str) -> SdJwtBuilder {
        self.header("typ", Value::String(typ.to_owned()))
    }

    /// Sets a header member (`alg` and `kid` are set from the signing key).
    #[must_use]
    pub fn header(mut self, name: &str, value: Value) -> SdJwtBuilder {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Marks the claim at `path` selectively disclosable. Array elements are addressed with
    /// [`PathSegment::Index`].
    #[must_use]
    pub fn disclosable(mut self, path: &ClaimPath) -> SdJwtBuilder {
        self.disclosable.insert(path.0.clone());
        self
    }

    /// Adds between `min` and `max` decoy digests to every object that has disclosable
    /// members, so a verifier cannot count the undisclosed claims.
    #[must_use]
    pub fn decoys(mut self, min: usize, max: usize) -> SdJwtBuilder {
        self.decoys = (min, max.max(min));
        self
    }

    /// Conceals the marked claims and signs the payload.
    ///
    /// # Errors
    /// [`IssueError::PathNotFound`] when a marked path is not in the claims;
    /// [`IssueError::ReservedName`] when the claims use `_sd`, `_sd_alg` or `...`;
    /// [`IssueError::Signer`] when the key (held in an HSM) does not sign.
    pub fn issue(
        self,
        key: &(impl JwsSigner + ?Sized),
        salts: &mut dyn SaltSource,
    ) -> Result<Issued, IssueError> {
        let mut state = Conceal {
            disclosable: &self.disclosable,
            found: BTreeSet::new(),
            disclosures: Vec::new(),
            salts,
            decoys: self.decoys,
            pad: &self.pad,
        };
        let mut path = Vec::new();
        let mut payload = state.object(self.claims, &mut path)?;
        if let Some(missing) = self.disclosable.iter().find(|p| !state.found.contains(*p)) {
            return Err(IssueError::PathNotFound {
                path: ClaimPath(missing.clone()).to_string(),
            });
        }
        payload.insert(
            "_sd_alg".into(),
            Value::String(SdAlg::Sha256.as_str().into()),
        );
        let mut header = self.header;
        header.insert("kid".into(), Value::String(key.kid().to_owned()));
        let jwt = try_sign_compact(header, Value::Object(payload).to_string().as_bytes(), key)
            .map_err(IssueError::Signer)?;
        Ok(Issued {
            jwt,
            disclosures: state.disclosures,
        })
    }
}

struct Conceal<'a> {
    disclosable: &'a BTreeSet<Vec<PathSegment>>,
    found: BTreeSet<Vec<PathSegment>>,
    disclosures: Vec<Disclosure>,
    salts: &'a mut dyn SaltSource,
    decoys: (usize, usize),
    pad: &'a BTreeMap<Vec<PathSegment>, usize>,
}

impl Conceal<'_> {
    fn value(&mut self, value: Value, path: &mut Vec<PathSegment>) -> Result<Value, IssueError> {
        match value {
            Value::Object(map) => self.object(map, path).map(Value::Object),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(PathSegment::Index(i));
                    let item = self.value(item, path)?;
                    if self.disclosable.contains(path.as_slice()) {
                        self.found.insert(path.clone());
                        let d = Disclosure::element(self.salts.salt(), item);
                        let mut reference = Map::new();
                        reference.insert("...".into(), Value::String(d.digest().to_owned()));
                        self.disclosures.push(d);
                        out.push(Value::Object(reference));
                    } else {
                        out.push(item);
                    }
                    path.pop();
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }

    fn object(
        &mut self,
        map: Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Map<String, Value>, IssueError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (name, value) in map {
            if name == "_sd" || name == "..." || (path.is_empty() && name == "_sd_alg") {
                return Err(IssueError::ReservedName { name });
            }
            path.push(PathSegment::Key(name.clone()));
            let value = self.value(value, path)?;
            if self.disclosable.contains(path.as_slice()) {
                self.found.insert(path.clone());
                let d = Disclosure::property(self.salts.salt(), &name, value);
                digests.push(d.digest().to_owned());
                self.disclosures.push(d);
            } else {
                out.insert(name, value);
            }
            path.pop();
        }
        if !digests.is_empty() {
            let decoys = match self.pad.get(path.as_slice()) {
                Some(len) => len.saturating_sub(digests.len()),
                None => self.salts.decoy_count(self.decoys.0, self.decoys.1),
            };
            for _ in 0..decoys {
                digests.push(self.salts.decoy_digest());
            }
            // Sorted digests reveal nothing of the original claim order (RFC 9901 4.2.4.1).
            digests.sort();
            out.insert(
                "_sd".into(),
                Value::Array(digests.into_iter().map(Value::String).collect()),
            );
        }
        Ok(out)
    }
}
