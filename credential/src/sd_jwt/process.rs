//! Replacing digests with disclosed claims (RFC 9901 section 7.1, step 3).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{ClaimPath, Disclosure, DisclosureKind, PathSegment, VerifyError};

/// The result of processing: the payload with disclosed claims in place and every `_sd`,
/// `_sd_alg` and `...` removed, plus the path at which each disclosure landed.
pub(super) struct Processed {
    pub claims: Map<String, Value>,
    /// For each disclosure (by index into the SD-JWT's list), its claim path.
    pub paths: Vec<ClaimPath>,
}

pub(super) fn process(
    payload: &Map<String, Value>,
    disclosures: &[Disclosure],
    reserved_top_level: &[&str],
    max_depth: usize,
) -> Result<Processed, VerifyError> {
    let mut by_digest: HashMap<&str, usize> = HashMap::with_capacity(disclosures.len());
    for (i, d) in disclosures.iter().enumerate() {
        if by_digest.insert(d.digest(), i).is_some() {
            return Err(VerifyError::DisclosureReused);
        }
    }
    let mut state = State {
        disclosures,
        by_digest,
        seen: HashSet::new(),
        paths: vec![None; disclosures.len()],
        reserved_top_level,
        max_depth,
    };
    let mut claims = state.object(payload, &mut Vec::new())?;
    claims.remove("_sd_alg");
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

struct State<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<&'a str, usize>,
    seen: HashSet<String>,
    paths: Vec<Option<Vec<PathSegment>>>,
    reserved_top_level: &'a [&'a str],
    max_depth: usize,
}

impl State<'_> {
    fn see(&mut self, digest: &str) -> Result<Option<usize>, VerifyError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(VerifyError::DuplicateDigest);
        }
        Ok(self.by_digest.get(digest).copied())
    }

    fn value(&mut self, value: &Value, path: &mut Vec<PathSegment>) -> Result<Value, VerifyError> {
        if path.len() > self.max_depth {
            return Err(VerifyError::TooDeep {
                limit: self.max_depth,
            });
        }
        match value {
            Value::Object(map) => self.object(map, path).map(Value::Object),
            Value::Array(items) => self.array(items, path).map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    fn object(
        &mut self,
        map: &Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Map<String, Value>, VerifyError> {
        let mut out = Map::new();
        for (name, value) in map {
            if name == "_sd" {
                continue;
            }
            path.push(PathSegment::Key(name.clone()));
            let processed = self.value(value, path)?;
            path.pop();
            out.insert(name.clone(), processed);
        }
        let Some(sd) = map.get("_sd") else {
            return Ok(out);
        };
        let digests = sd.as_array().ok_or(VerifyError::SdNotArray)?;
        for digest in digests {
            let digest = digest.as_str().ok_or(VerifyError::SdNotArray)?;
            let Some(index) = self.see(digest)? else {
                continue; // a decoy or an undisclosed claim
            };
            let disclosure = &self.disclosures[index];
            let DisclosureKind::Property { name, value } = disclosure.kind() else {
                return Err(VerifyError::DisclosureKindMismatch);
            };
            if path.is_empty() && self.reserved_top_level.contains(&name.as_str()) {
                return Err(VerifyError::ReservedClaimDisclosed { name: name.clone() });
            }
            if out.contains_key(name) || map.contains_key(name) {
                return Err(VerifyError::ClaimCollision { name: name.clone() });
            }
            path.push(PathSegment::Key(name.clone()));
            self.paths[index] = Some(path.clone());
            let processed = self.value(value, path)?;
            path.pop();
            out.insert(name.clone(), processed);
        }
        Ok(out)
    }

    fn array(
        &mut self,
        items: &[Value],
        path: &mut Vec<PathSegment>,
    ) -> Result<Vec<Value>, VerifyError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            path.push(PathSegment::Index(i));
            match array_digest(item)? {
                Some(digest) => {
                    if let Some(index) = self.see(digest)? {
                        let DisclosureKind::Element { value } = self.disclosures[index].kind()
                        else {
                            return Err(VerifyError::DisclosureKindMismatch);
                        };
                        self.paths[index] = Some(path.clone());
                        out.push(self.value(value, path)?);
                    }
                    // An undisclosed element or a decoy is removed.
                }
                None => out.push(self.value(item, path)?),
            }
            path.pop();
        }
        Ok(out)
    }
}

/// `Some(digest)` for an array element `{"...": digest}`; an object with `...` and anything
/// else is an error (RFC 9901 section 7.1 step 3.c.ii).
fn array_digest(item: &Value) -> Result<Option<&str>, VerifyError> {
    let Value::Object(map) = item else {
        return Ok(None);
    };
    let Some(digest) = map.get("...") else {
        return Ok(None);
    };
    if map.len() != 1 {
        return Err(VerifyError::MalformedArrayElement);
    }
    digest
        .as_str()
        .map(Some)
        .ok_or(VerifyError::MalformedArrayElement)
}
