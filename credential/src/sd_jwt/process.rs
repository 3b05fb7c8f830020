//! Replacing digests with disclosed claims (RFC 9901 section 7.1, step 3).
//!
//! Processing consumes the payload and the disclosures: every claim value is moved into the
//! processed payload, none is copied. Callers that keep their `SdJwt` pass clones.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::disclosure::{Disclosure, DisclosureKind};
use super::error::VerifyError;
use super::path::{ClaimPath, PathSegment};

/// The result of processing: the payload with disclosed claims in place and every `_sd`,
/// `_sd_alg` and `...` removed, plus the path at which each disclosure landed.
pub(super) struct Processed {
    pub claims: Map<String, Value>,
    /// For each disclosure (by index into the SD-JWT's list), its claim path.
    pub paths: Vec<ClaimPath>,
}

pub(super) fn process(
    payload: Map<String, Value>,
    disclosures: Vec<Disclosure>,
    reserved_top_level: &[&str],
    max_depth: usize,
) -> Result<Processed, VerifyError> {
    let count = disclosures.len();
    // One table for "which disclosure has this digest" and "was this digest met already", so
    // each digest is hashed once. Sized for the disclosures plus a typical payload's digests.
    let mut digests: HashMap<String, Slot> = HashMap::with_capacity(count + 32);
    let mut kinds = Vec::with_capacity(count);
    for (index, d) in disclosures.into_iter().enumerate() {
        let (digest, kind) = d.into_parts();
        if digests
            .insert(digest, Slot::Disclosure { index, met: false })
            .is_some()
        {
            return Err(VerifyError::DisclosureReused);
        }
        kinds.push(Some(kind));
    }
    let mut state = State {
        kinds,
        digests,
        paths: vec![None; count],
        reserved_top_level,
        max_depth,
    };
    let mut claims = state.object(payload, &mut Vec::new())?;
    claims.shift_remove("_sd_alg");
    let paths = state
        .paths
        .into_iter()
        .map(|p| p.ok_or(VerifyError::DigestNotFound))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Processed {
        claims,
        paths: paths.into_iter().map(ClaimPath).collect(),
    })
}

/// What a digest is known as.
enum Slot {
    /// The digest of disclosure `index`; `met` once the payload or a disclosed value has
    /// referenced it.
    Disclosure { index: usize, met: bool },
    /// A digest that names no disclosure sent (a decoy or an undisclosed claim), met once.
    Met,
}

struct State<'a> {
    /// Each disclosure's content, taken when its digest is found.
    kinds: Vec<Option<DisclosureKind>>,
    /// Every disclosure's digest, and every digest met so far in the payload and the disclosed
    /// values.
    digests: HashMap<String, Slot>,
    paths: Vec<Option<Vec<PathSegment>>>,
    reserved_top_level: &'a [&'a str],
    max_depth: usize,
}

impl State<'_> {
    /// Records a digest met in the payload or a disclosed value; the disclosure it names, if
    /// one was sent. A digest met twice is an error.
    fn see(&mut self, digest: String) -> Result<Option<usize>, VerifyError> {
        match self.digests.entry(digest) {
            Entry::Vacant(slot) => {
                slot.insert(Slot::Met);
                Ok(None)
            }
            Entry::Occupied(mut slot) => match slot.get_mut() {
                Slot::Disclosure { index, met } if !*met => {
                    *met = true;
                    Ok(Some(*index))
                }
                _ => Err(VerifyError::DuplicateDigest),
            },
        }
    }

    /// The content of disclosure `index`, taken once.
    fn take(&mut self, index: usize) -> Result<DisclosureKind, VerifyError> {
        // `see` rejects a digest met twice, so each disclosure is taken at most once; a second
        // take would mean the same digest twice.
        self.kinds
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(VerifyError::DuplicateDigest)
    }

    fn value(&mut self, value: Value, path: &mut Vec<PathSegment>) -> Result<Value, VerifyError> {
        if path.len() > self.max_depth {
            return Err(VerifyError::TooDeep {
                limit: self.max_depth,
            });
        }
        match value {
            Value::Object(map) => self.object(map, path).map(Value::Object),
            Value::Array(items) => self.array(items, path).map(Value::Array),
            other => Ok(other),
        }
    }

    fn object(
        &mut self,
        mut map: Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Map<String, Value>, VerifyError> {
        // `shift_remove` keeps the other members in their order. The map is processed in
        // place: plain members keep their slots (no rebuilt map, no key hashed again), and
        // disclosed members are appended after them.
        let sd = map.shift_remove("_sd");
        let mut out = map;
        for (name, value) in out.iter_mut() {
            if matches!(value, Value::Object(_) | Value::Array(_)) {
                path.push(PathSegment::Key(name.clone()));
                let taken = std::mem::take(value);
                *value = self.value(taken, path)?;
                path.pop();
            } else if path.len() >= self.max_depth {
                // What `value` would say of this member one level down.
                return Err(VerifyError::TooDeep {
                    limit: self.max_depth,
                });
            }
        }
        let Some(sd) = sd else {
            return Ok(out);
        };
        let Value::Array(digests) = sd else {
            return Err(VerifyError::SdNotArray);
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(VerifyError::SdNotArray);
            };
            let Some(index) = self.see(digest)? else {
                continue; // a decoy or an undisclosed claim
            };
            let DisclosureKind::Property { name, value } = self.take(index)? else {
                return Err(VerifyError::DisclosureKindMismatch);
            };
            if path.is_empty() && self.reserved_top_level.contains(&name.as_str()) {
                return Err(VerifyError::ReservedClaimDisclosed { name });
            }
            // Every plain member (and `_sd_alg` at the top) is already in `out`.
            if out.contains_key(&name) {
                return Err(VerifyError::ClaimCollision { name });
            }
            path.push(PathSegment::Key(name.clone()));
            self.paths[index] = Some(path.clone());
            let processed = self.value(value, path)?;
            path.pop();
            out.insert(name, processed);
        }
        Ok(out)
    }

    fn array(
        &mut self,
        items: Vec<Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Vec<Value>, VerifyError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            path.push(PathSegment::Index(i));
            match array_digest(item)? {
                Ok(digest) => {
                    if let Some(index) = self.see(digest)? {
                        let DisclosureKind::Element { value } = self.take(index)? else {
                            return Err(VerifyError::DisclosureKindMismatch);
                        };
                        self.paths[index] = Some(path.clone());
                        out.push(self.value(value, path)?);
                    }
                    // An undisclosed element or a decoy is removed.
                }
                Err(item) => out.push(self.value(item, path)?),
            }
            path.pop();
        }
        Ok(out)
    }
}

/// `Ok(digest)` for an array element `{"...": digest}`, `Err(item)` (the element back) for any
/// other element; an object with `...` and anything else is an error (RFC 9901 section 7.1
/// step 3.c.ii).
fn array_digest(item: Value) -> Result<Result<String, Value>, VerifyError> {
    match item {
        Value::Object(mut map) if map.contains_key("...") => {
            if map.len() != 1 {
                return Err(VerifyError::MalformedArrayElement);
            }
            match map.shift_remove("...") {
                Some(Value::String(digest)) => Ok(Ok(digest)),
                _ => Err(VerifyError::MalformedArrayElement),
            }
        }
        other => Ok(Err(other)),
    }
}
