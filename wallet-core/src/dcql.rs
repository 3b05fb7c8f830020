//! DCQL (OpenID4VP 1.0 section 6): parsing a query and matching it against the wallet's
//! credentials.
//!
//! ```text
//! dcql_query JSON -> DcqlQuery::from_value         ids, formats, paths, claim_sets, credential_sets
//! DcqlQuery + candidates (one per stored batch) -> DcqlQuery::evaluate
//!     -> Matched { selections: [query id -> batch + claim paths] }
//!      | Unsatisfiable { unmet: [query id -> no credential of the type | missing claims] }
//! ```
//!
//! Formats matched: `dc+sd-jwt` (meta `vct_values`) and `vc+sd-jwt` (meta `type_values`, or
//! `vct_values` against the citizen-ID entry of `type`). Claim paths are claims path pointers
//! from the root of the processed credential (so `["credentialSubject", "given_name"]` in the
//! W3C form). The `values` constraint is honoured.
//!
//! - `multiple: true` answers with every matching credential (one presentation per batch),
//!   `false` (the default) with one.
//! - `require_cryptographic_holder_binding` (default `true`): when `false`, the selection says
//!   so and the answer carries no KB-JWT (the consent summary warns that such an answer is not
//!   bound to this verifier).
//! - `trusted_authorities` (section 6.1.1): a credential matches when one value of one entry
//!   matches. This wallet can evaluate `aki` for its credentials: they carry no X.509 chain
//!   (issuer keys are JWKs from `jwt-vc-issuer` metadata or the trust bundle), so an `aki` entry
//!   never matches them. `etsi_tl`, `openid_federation` and unknown types need lists or
//!   federation resolution the wallet does not do (offline); a credential is then
//!   [`AuthorityMatch::Unchecked`]. The spec makes the match a SHOULD and leaves the trust
//!   decision to the verifier ("Verifiers must verify that the issuer ... is trusted on their
//!   own"), so: any entry matched → use it; only evaluable entries, none matched → the
//!   credential is treated as absent ([`Unmet::NoTrustedIssuer`]); otherwise the credential is
//!   used and the consent summary says the wallet could not check the verifier's trust list.

use std::collections::BTreeSet;

use credential::sd_jwt::ClaimPath;
use serde_json::{Map, Value};

/// The most credential queries, claims per query and options a query may hold.
const MAX_ITEMS: usize = 64;

/// Why a DCQL query is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DcqlError {
    /// Not a JSON object, or a member has the wrong shape.
    #[error("invalid dcql query: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Two credential queries (or two claims of one query) share an id.
    #[error("duplicate id {id} in dcql query")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A `credential_sets` or `claim_sets` option names an id that does not exist.
    #[error("dcql query references unknown id {id}")]
    UnknownId {
        /// The id.
        id: String,
    },
    /// More items than this wallet accepts.
    #[error("dcql query is too large")]
    TooLarge,
}

fn malformed(reason: impl Into<String>) -> DcqlError {
    DcqlError::Malformed {
        reason: reason.into(),
    }
}

/// One claims query.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimQuery {
    /// Its id (required when the credential query has `claim_sets`).
    pub id: Option<String>,
    /// The claims path pointer.
    pub path: ClaimPath,
    /// Acceptable values, when constrained.
    pub values: Option<Vec<Value>>,
}

/// One Trusted Authorities Query (section 6.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedAuthority {
    /// `type`: `aki`, `etsi_tl`, `openid_federation`, or another.
    pub kind: String,
    /// `values`.
    pub values: Vec<String>,
}

/// Whether a credential matches a query's `trusted_authorities`, as far as this wallet can
/// tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityMatch {
    /// No `trusted_authorities`, or one entry matched.
    Matched,
    /// Every entry is of a type this wallet evaluates, and none matched.
    NotMatched,
    /// Nothing matched, and some entry is of a type this wallet cannot evaluate.
    Unchecked,
}

impl TrustedAuthority {
    fn evaluate(&self, c: &Candidate) -> AuthorityMatch {
        match self.kind.as_str() {
            // Our credentials carry no certificate chain; one with an `x5c` header would need
            // an X.509 parser to read its AuthorityKeyIdentifier.
            "aki" if c.x5c.is_empty() => AuthorityMatch::NotMatched,
            _ => AuthorityMatch::Unchecked,
        }
    }
}

/// One credential query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialQuery {
    /// The id the answer is keyed by.
    pub id: String,
    /// The requested format (`dc+sd-jwt`, `vc+sd-jwt`, or something this wallet never has).
    pub format: String,
    /// Whether several credentials may answer (then every matching one does).
    pub multiple: bool,
    /// `require_cryptographic_holder_binding` (default `true`).
    pub require_cryptographic_holder_binding: bool,
    /// `trusted_authorities`, when given.
    pub trusted_authorities: Option<Vec<TrustedAuthority>>,
    /// `meta.vct_values`.
    pub vct_values: Option<Vec<String>>,
    /// `meta.type_values`: each entry lists types that must all be present.
    pub type_values: Option<Vec<Vec<String>>>,
    /// The claims asked for; `None` asks for no selectively disclosable claim.
    pub claims: Option<Vec<ClaimQuery>>,
    /// Alternative combinations of claim ids, in the verifier's order of preference.
    pub claim_sets: Option<Vec<Vec<String>>>,
}

/// One credential set query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSetQuery {
    /// Alternatives: each a list of credential query ids that together satisfy the set.
    pub options: Vec<Vec<String>>,
    /// Whether the set must be satisfied (default true).
    pub required: bool,
    /// The verifier's stated purpose, as given (a string or an object of locales).
    pub purpose: Option<Value>,
}

/// A parsed DCQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct DcqlQuery {
    /// The credential queries.
    pub credentials: Vec<CredentialQuery>,
    /// The credential sets, when given.
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, DcqlError> {
    let items = value
        .as_array()
        .ok_or_else(|| malformed(format!("{what} is not an array")))?;
    if items.len() > MAX_ITEMS {
        return Err(DcqlError::TooLarge);
    }
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed(format!("{what} holds a non-string")))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl DcqlQuery {
    /// Parses the JSON text of a `dcql_query`.
    ///
    /// # Errors
    /// [`DcqlError`].
    pub fn from_json(text: &str) -> Result<DcqlQuery, DcqlError> {
        let value: Value = serde_json::from_str(text).map_err(|_| malformed("not json"))?;
        DcqlQuery::from_value(&value)
    }

    /// Parses a `dcql_query` value.
    ///
    /// # Errors
    /// [`DcqlError`].
    pub fn from_value(value: &Value) -> Result<DcqlQuery, DcqlError> {
        let obj = value
            .as_object()
            .ok_or_else(|| malformed("not an object"))?;
        let creds = obj
            .get("credentials")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("no credentials array"))?;
        if creds.is_empty() {
            return Err(malformed("credentials is empty"));
        }
        if creds.len() > MAX_ITEMS {
            return Err(DcqlError::TooLarge);
        }
        let mut credentials = Vec::new();
        for c in creds {
            let q = parse_credential_query(c)?;
            if credentials.iter().any(|x: &CredentialQuery| x.id == q.id) {
                return Err(DcqlError::DuplicateId { id: q.id });
            }
            credentials.push(q);
        }
        let credential_sets = match items(obj.get("credential_sets"), "credential_sets")? {
            None => None,
            Some(sets) => {
                let mut out = Vec::new();
                for s in sets {
                    let options = id_sets(
                        s.get("options"),
                        [
                            "credential set has no options",
                            "credential set options count",
                            "credential set option",
                        ],
                        |id| credentials.iter().any(|c| &c.id == id),
                    )?;
                    let required = match s.get("required") {
                        None => true,
                        Some(Value::Bool(b)) => *b,
                        Some(_) => return Err(malformed("required is not a boolean")),
                    };
                    out.push(CredentialSetQuery {
                        options,
                        required,
                        purpose: s.get("purpose").cloned(),
                    });
                }
                Some(out)
            }
        };
        Ok(DcqlQuery {
            credentials,
            credential_sets,
        })
    }
}

/// The optional array member `name` (`value`, absent: `None`): an array, not empty, of at most
/// [`MAX_ITEMS`] items.
fn items<'a>(value: Option<&'a Value>, name: &str) -> Result<Option<&'a Vec<Value>>, DcqlError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let list = value
        .as_array()
        .ok_or_else(|| malformed(format!("{name} is not an array")))?;
    if list.is_empty() {
        return Err(malformed(format!("{name} is empty")));
    }
    if list.len() > MAX_ITEMS {
        return Err(DcqlError::TooLarge);
    }
    Ok(Some(list))
}

/// A list of id sets (a credential set's `options`, a query's `claim_sets`): an array of 1 to
/// [`MAX_ITEMS`] arrays of ids, each id `known`. `reasons` name what failed: not an array, the
/// count, an entry.
fn id_sets(
    value: Option<&Value>,
    [not_array, count, entry]: [&'static str; 3],
    known: impl Fn(&String) -> bool,
) -> Result<Vec<Vec<String>>, DcqlError> {
    let sets = value
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(not_array))?;
    if sets.is_empty() || sets.len() > MAX_ITEMS {
        return Err(malformed(count));
    }
    let sets = sets
        .iter()
        .map(|s| strings(s, entry))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(id) = sets.iter().flatten().find(|id| !known(id)) {
        return Err(DcqlError::UnknownId { id: id.clone() });
    }
    Ok(sets)
}

fn parse_credential_query(c: &Value) -> Result<CredentialQuery, DcqlError> {
    let id = c
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("credential query has no id"))?;
    if !valid_id(id) {
        return Err(malformed("credential query id is not [A-Za-z0-9_-]+"));
    }
    let format = c
        .get("format")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(format!("credential query {id} has no format")))?;
    let flag = |name: &str, default: bool| match c.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(malformed(format!("{name} of {id} is not a boolean"))),
    };
    let multiple = flag("multiple", false)?;
    let require_cryptographic_holder_binding = flag("require_cryptographic_holder_binding", true)?;
    let trusted_authorities = match c.get("trusted_authorities") {
        None => None,
        Some(list) => {
            let list = list
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or_else(|| malformed("trusted_authorities is not a non-empty array"))?;
            if list.len() > MAX_ITEMS {
                return Err(DcqlError::TooLarge);
            }
            let mut out = Vec::new();
            for entry in list {
                let kind = entry
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("a trusted authority has no type"))?;
                let values = strings(
                    entry
                        .get("values")
                        .ok_or_else(|| malformed("a trusted authority has no values"))?,
                    "trusted authority values",
                )?;
                if values.is_empty() {
                    return Err(malformed("trusted authority values is empty"));
                }
                out.push(TrustedAuthority {
                    kind: kind.to_owned(),
                    values,
                });
            }
            Some(out)
        }
    };
    let meta = c.get("meta");
    let vct_values = meta
        .and_then(|m| m.get("vct_values"))
        .map(|v| strings(v, "vct_values"))
        .transpose()?;
    let type_values = meta
        .and_then(|m| m.get("type_values"))
        .map(|v| {
            v.as_array()
                .ok_or_else(|| malformed("type_values is not an array"))?
                .iter()
                .map(|t| strings(t, "type_values entry"))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let claims = match items(c.get("claims"), "claims")? {
        None => None,
        Some(list) => {
            let mut out: Vec<ClaimQuery> = Vec::new();
            for cl in list {
                let path = cl
                    .get("path")
                    .and_then(ClaimPath::from_json)
                    .ok_or_else(|| malformed(format!("a claim of {id} has an invalid path")))?;
                let claim_id = cl.get("id").and_then(Value::as_str).map(str::to_owned);
                if let Some(cid) = &claim_id {
                    if !valid_id(cid) {
                        return Err(malformed("claim id is not [A-Za-z0-9_-]+"));
                    }
                    if out.iter().any(|x| x.id.as_ref() == Some(cid)) {
                        return Err(DcqlError::DuplicateId { id: cid.clone() });
                    }
                }
                let values = cl
                    .get("values")
                    .map(|v| {
                        v.as_array()
                            .cloned()
                            .ok_or_else(|| malformed("values is not an array"))
                    })
                    .transpose()?;
                out.push(ClaimQuery {
                    id: claim_id,
                    path,
                    values,
                });
            }
            Some(out)
        }
    };
    let claim_sets = match c.get("claim_sets") {
        None => None,
        Some(sets) => {
            let claims = claims
                .as_ref()
                .ok_or_else(|| malformed("claim_sets without claims"))?;
            Some(id_sets(
                Some(sets),
                [
                    "claim_sets is not an array",
                    "claim_sets count",
                    "claim set",
                ],
                |cid| claims.iter().any(|c| c.id.as_ref() == Some(cid)),
            )?)
        }
    };
    Ok(CredentialQuery {
        id: id.to_owned(),
        format: format.to_owned(),
        multiple,
        require_cryptographic_holder_binding,
        trusted_authorities,
        vct_values,
        type_values,
        claims,
        claim_sets,
    })
}

/// A credential the wallet could present: one per stored batch (the copies share claims).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The batch id.
    pub batch_id: String,
    /// `dc+sd-jwt` or `vc+sd-jwt`.
    pub format: String,
    /// The credential type (`vct` or the citizen-ID `type` entry).
    pub vct: String,
    /// The VCDM `type` array (empty for `dc+sd-jwt`).
    pub types: Vec<String>,
    /// Every claim the holder can disclose, processed (the holder view).
    pub claims: Map<String, Value>,
    /// The issuer-signed JWT's `x5c` header (base64 DER certificates), usually empty.
    pub x5c: Vec<String>,
}

/// A credential query answered: which batch, disclosing which claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The credential query id (the `vp_token` key).
    pub query_id: String,
    /// The batch chosen.
    pub batch_id: String,
    /// The claim paths to disclose (as requested).
    pub claims: Vec<ClaimPath>,
    /// Whether the presentation carries a KB-JWT (`require_cryptographic_holder_binding`).
    pub key_binding: bool,
    /// How the credential fares against the query's `trusted_authorities`
    /// ([`AuthorityMatch::Matched`] or [`AuthorityMatch::Unchecked`]).
    pub authority: AuthorityMatch,
}

/// Why a credential query could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unmet {
    /// No stored credential has the requested format and type.
    NoCredentialOfType {
        /// The credential query id.
        query_id: String,
        /// The format asked for.
        format: String,
        /// The types asked for.
        types: Vec<String>,
    },
    /// Credentials of the type exist, but none is certified by an authority the verifier
    /// accepts (`trusted_authorities`).
    NoTrustedIssuer {
        /// The credential query id.
        query_id: String,
    },
    /// Credentials of the type exist, but none holds these claims (with the requested values).
    MissingClaims {
        /// The credential query id.
        query_id: String,
        /// The claim paths missing from the closest credential.
        claims: Vec<String>,
    },
}

/// The result of matching a query against the wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchOutcome {
    /// Every required credential query is answered.
    Matched {
        /// The answers, in query order.
        selections: Vec<Selection>,
    },
    /// The wallet cannot satisfy the query.
    Unsatisfiable {
        /// What is missing, per credential query.
        unmet: Vec<Unmet>,
    },
}

impl CredentialQuery {
    fn accepts_type(&self, c: &Candidate) -> bool {
        if c.format != self.format {
            return false;
        }
        let vct_ok = self
            .vct_values
            .as_ref()
            .is_none_or(|v| v.iter().any(|x| x == &c.vct));
        let types_ok = self.type_values.as_ref().is_none_or(|alts| {
            alts.iter()
                .any(|all| all.iter().all(|t| c.types.contains(t) || t == &c.vct))
        });
        vct_ok && types_ok
    }

    fn claim_present(claim: &ClaimQuery, c: &Candidate) -> bool {
        let root = Value::Object(c.claims.clone());
        let found = claim.path.lookup(&root);
        match &claim.values {
            None => !found.is_empty(),
            Some(values) => found.iter().any(|v| values.contains(v)),
        }
    }

    /// The claims to disclose from `c`, or the missing ones.
    fn evaluate(&self, c: &Candidate) -> Result<Vec<ClaimPath>, Vec<String>> {
        let Some(claims) = &self.claims else {
            return Ok(Vec::new());
        };
        // The paths of `chosen` when `c` has them all, else the missing ones.
        let all_present = |chosen: Vec<&ClaimQuery>| {
            let missing: Vec<String> = chosen
                .iter()
                .filter(|cl| !Self::claim_present(cl, c))
                .map(|cl| cl.path.to_string())
                .collect();
            if missing.is_empty() {
                Ok(chosen.iter().map(|cl| cl.path.clone()).collect())
            } else {
                Err(missing)
            }
        };
        match &self.claim_sets {
            None => all_present(claims.iter().collect()),
            Some(sets) => {
                let by_id = |id: &String| claims.iter().find(|cl| cl.id.as_ref() == Some(id));
                let mut fewest: Option<Vec<String>> = None;
                for set in sets {
                    let missing = match all_present(set.iter().filter_map(by_id).collect()) {
                        Ok(paths) => return Ok(paths),
                        Err(missing) => missing,
                    };
                    if fewest.as_ref().is_none_or(|f| missing.len() < f.len()) {
                        fewest = Some(missing);
                    }
                }
                Err(fewest.unwrap_or_default())
            }
        }
    }

    fn authority(&self, c: &Candidate) -> AuthorityMatch {
        let Some(entries) = &self.trusted_authorities else {
            return AuthorityMatch::Matched;
        };
        let results: Vec<AuthorityMatch> = entries.iter().map(|e| e.evaluate(c)).collect();
        if results.contains(&AuthorityMatch::Matched) {
            AuthorityMatch::Matched
        } else if results.contains(&AuthorityMatch::Unchecked) {
            AuthorityMatch::Unchecked
        } else {
            AuthorityMatch::NotMatched
        }
    }

    /// The selections answering this query: the first matching candidate, or every one when
    /// `multiple`.
    fn answer(&self, candidates: &[Candidate]) -> Result<Vec<Selection>, Unmet> {
        let mut closest: Option<Vec<String>> = None;
        let mut untrusted = false;
        let mut out = Vec::new();
        for c in candidates.iter().filter(|c| self.accepts_type(c)) {
            let authority = self.authority(c);
            if authority == AuthorityMatch::NotMatched {
                untrusted = true;
                continue;
            }
            match self.evaluate(c) {
                Ok(claims) => {
                    out.push(Selection {
                        query_id: self.id.clone(),
                        batch_id: c.batch_id.clone(),
                        claims,
                        key_binding: self.require_cryptographic_holder_binding,
                        authority,
                    });
                    if !self.multiple {
                        break;
                    }
                }
                Err(missing) => {
                    if closest.as_ref().is_none_or(|m| missing.len() < m.len()) {
                        closest = Some(missing);
                    }
                }
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
        Err(match closest {
            Some(claims) => Unmet::MissingClaims {
                query_id: self.id.clone(),
                claims,
            },
            None if untrusted => Unmet::NoTrustedIssuer {
                query_id: self.id.clone(),
            },
            None => Unmet::NoCredentialOfType {
                query_id: self.id.clone(),
                format: self.format.clone(),
                types: self
                    .vct_values
                    .clone()
                    .or_else(|| self.type_values.as_ref().map(|t| t.concat()))
                    .unwrap_or_default(),
            },
        })
    }
}

impl DcqlQuery {
    /// Matches the query against the candidates (section 6.4.2 semantics: without
    /// `credential_sets` every credential query is required; with them, each required set needs
    /// one option whose queries are all answered, and the first such option is taken).
    pub fn evaluate(&self, candidates: &[Candidate]) -> MatchOutcome {
        let answers: Vec<(String, Result<Vec<Selection>, Unmet>)> = self
            .credentials
            .iter()
            .map(|q| (q.id.clone(), q.answer(candidates)))
            .collect();
        let answer = |id: &str| answers.iter().find(|(i, _)| i == id).map(|(_, a)| a);
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut unmet: Vec<Unmet> = Vec::new();
        match &self.credential_sets {
            None => {
                for (id, a) in &answers {
                    match a {
                        Ok(_) => {
                            wanted.insert(id.clone());
                        }
                        Err(u) => unmet.push(u.clone()),
                    }
                }
            }
            Some(sets) => {
                for set in sets {
                    let chosen = set
                        .options
                        .iter()
                        .find(|opt| opt.iter().all(|id| matches!(answer(id), Some(Ok(_)))));
                    match chosen {
                        Some(opt) => wanted.extend(opt.iter().cloned()),
                        None if set.required => {
                            // Report the option closest to being met.
                            let best = set.options.iter().min_by_key(|opt| {
                                opt.iter()
                                    .filter(|id| !matches!(answer(id), Some(Ok(_))))
                                    .count()
                            });
                            for id in best.into_iter().flatten() {
                                if let Some(Err(u)) = answer(id) {
                                    if !unmet.contains(u) {
                                        unmet.push(u.clone());
                                    }
                                }
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        if !unmet.is_empty() {
            return MatchOutcome::Unsatisfiable { unmet };
        }
        MatchOutcome::Matched {
            selections: answers
                .into_iter()
                .filter(|(id, _)| wanted.contains(id))
                .filter_map(|(_, a)| a.ok())
                .flatten()
                .collect(),
        }
    }

    /// Whether a credential of this format and type could answer some credential query
    /// (a cheap pre-filter on what the store keeps in clear, before decrypting anything).
    pub fn could_match(&self, format: &str, vct: &str) -> bool {
        self.credentials.iter().any(|q| {
            q.format == format
                && q.vct_values
                    .as_ref()
                    .is_none_or(|v| v.iter().any(|x| x == vct))
        })
    }

    /// The purpose stated by the first credential set that names the query, for the consent
    /// screen; a string, or the `en` entry (else the first) of an object of locales.
    pub fn purpose_of(&self, query_id: &str) -> Option<String> {
        let set = self
            .credential_sets
            .as_ref()?
            .iter()
            .find(|s| s.options.iter().flatten().any(|id| id == query_id))?;
        match set.purpose.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m
                .get("en")
                .or_else(|| m.values().next())
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn each_malformed_list_is_refused_with_its_check() {
        let query = |extra: Value| {
            let mut q =
                json!({"id": "a", "format": "dc+sd-jwt", "claims": [{"id": "c", "path": ["x"]}]});
            q.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            q
        };
        let sets =
            |sets: Value| json!({"credentials": [query(json!({}))], "credential_sets": sets});
        let claims = |extra: Value| json!({"credentials": [query(extra)]});
        let bad = |reason: &str| DcqlError::Malformed {
            reason: reason.into(),
        };
        let unknown = |id: &str| DcqlError::UnknownId { id: id.into() };
        for (value, expected) in [
            (claims(json!({"claims": {}})), bad("claims is not an array")),
            (claims(json!({"claims": []})), bad("claims is empty")),
            (sets(json!({})), bad("credential_sets is not an array")),
            (sets(json!([])), bad("credential_sets is empty")),
            (
                sets(json!([{"options": "a"}])),
                bad("credential set has no options"),
            ),
            (
                sets(json!([{"options": []}])),
                bad("credential set options count"),
            ),
            (sets(json!([{"options": [["b"]]}])), unknown("b")),
            (
                claims(json!({"claim_sets": {}})),
                bad("claim_sets is not an array"),
            ),
            (claims(json!({"claim_sets": []})), bad("claim_sets count")),
            (claims(json!({"claim_sets": [["z"]]})), unknown("z")),
        ] {
            assert_eq!(
                DcqlQuery::from_value(&value).unwrap_err(),
                expected,
                "{value}"
            );
        }
    }

    fn basic(batch: &str) -> Candidate {
        Candidate {
            batch_id: batch.into(),
            format: "dc+sd-jwt".into(),
            vct: "urn:cn:citizen-id:basic:1".into(),
            types: vec![],
            claims: json!({
                "vct": "urn:cn:citizen-id:basic:1",
                "iss": "https://id.example.cn",
                "given_name": "小明", "family_name": "王",
                "id_number": "11010519900101001X",
                "age_equal_or_over": {"18": true, "60": false},
            })
            .as_object()
            .unwrap()
            .clone(),
            x5c: vec![],
        }
    }

    fn high(batch: &str) -> Candidate {
        let mut c = basic(batch);
        c.vct = "urn:cn:citizen-id:high:1".into();
        c.claims
            .insert("address".into(), json!({"locality": "北京"}));
        c
    }

    fn hotel() -> Value {
        json!({"credentials": [{
            "id": "hotel", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"]},
            "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["id_number"]}]
        }]})
    }

    #[test]
    fn hotel_query_matches_basic() {
        let q = DcqlQuery::from_value(&hotel()).unwrap();
        let MatchOutcome::Matched { selections } = q.evaluate(&[basic("b1")]) else {
            panic!("no match")
        };
        assert_eq!(selections.len(), 1);
        assert_eq!(selections[0].query_id, "hotel");
        assert_eq!(selections[0].batch_id, "b1");
        assert_eq!(
            selections[0].claims,
            vec![
                ClaimPath::keys(["family_name"]),
                ClaimPath::keys(["given_name"]),
                ClaimPath::keys(["id_number"])
            ]
        );
    }

    #[test]
    fn missing_claim_is_named() {
        let mut v = hotel();
        v["credentials"][0]["claims"]
            .as_array_mut()
            .unwrap()
            .push(json!({"path": ["address", "locality"]}));
        let q = DcqlQuery::from_value(&v).unwrap();
        assert_eq!(
            q.evaluate(&[basic("b1")]),
            MatchOutcome::Unsatisfiable {
                unmet: vec![Unmet::MissingClaims {
                    query_id: "hotel".into(),
                    claims: vec!["address.locality".into()]
                }]
            }
        );
        // The high credential has it.
        assert!(matches!(
            q.evaluate(&[basic("b1"), high("h1")]),
            MatchOutcome::Matched { ref selections } if selections[0].batch_id == "h1"
        ));
    }

    #[test]
    fn type_and_format_must_match() {
        let q = DcqlQuery::from_value(&json!({"credentials": [{
            "id": "bank", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:cn:citizen-id:high:1"]},
            "claims": [{"path": ["id_number"]}]
        }]}))
        .unwrap();
        assert_eq!(
            q.evaluate(&[basic("b1")]),
            MatchOutcome::Unsatisfiable {
                unmet: vec![Unmet::NoCredentialOfType {
                    query_id: "bank".into(),
                    format: "dc+sd-jwt".into(),
                    types: vec!["urn:cn:citizen-id:high:1".into()]
                }]
            }
        );
        let mut vc = high("v1");
        vc.format = "vc+sd-jwt".into();
        assert!(matches!(
            q.evaluate(&[vc]),
            MatchOutcome::Unsatisfiable { .. }
        ));
    }

    #[test]
    fn values_constraint() {
        // A basic credential says true for 18, not for 60.
        for (id, age, satisfiable) in [("adult", "18", true), ("senior", "60", false)] {
            let q = DcqlQuery::from_value(&json!({"credentials": [{
                "id": id, "format": "dc+sd-jwt",
                "claims": [{"path": ["age_equal_or_over", age], "values": [true]}]
            }]}))
            .unwrap();
            let outcome = q.evaluate(&[basic("b")]);
            assert_eq!(
                matches!(outcome, MatchOutcome::Matched { .. }),
                satisfiable,
                "{id}: {outcome:?}"
            );
        }
    }

    #[test]
    fn claim_sets_take_the_first_satisfiable_option() {
        let q = DcqlQuery::from_value(&json!({"credentials": [{
            "id": "pid", "format": "dc+sd-jwt",
            "claims": [
                {"id": "a", "path": ["address", "locality"]},
                {"id": "n", "path": ["given_name"]},
                {"id": "i", "path": ["id_number"]}
            ],
            "claim_sets": [["a", "n"], ["n", "i"]]
        }]}))
        .unwrap();
        let MatchOutcome::Matched { selections } = q.evaluate(&[basic("b")]) else {
            panic!()
        };
        assert_eq!(
            selections[0].claims,
            vec![
                ClaimPath::keys(["given_name"]),
                ClaimPath::keys(["id_number"])
            ]
        );
        let MatchOutcome::Matched { selections } = q.evaluate(&[high("h")]) else {
            panic!()
        };
        assert_eq!(
            selections[0].claims,
            vec![
                ClaimPath::keys(["address", "locality"]),
                ClaimPath::keys(["given_name"])
            ]
        );
    }

    #[test]
    fn credential_sets_options_and_optional_sets() {
        let v = json!({
            "credentials": [
                {"id": "high", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:cn:citizen-id:high:1"]},
                 "claims": [{"path": ["id_number"]}]},
                {"id": "basic", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:cn:citizen-id:basic:1"]},
                 "claims": [{"path": ["id_number"]}]},
                {"id": "extra", "format": "dc+sd-jwt", "claims": [{"path": ["nickname"]}]}
            ],
            "credential_sets": [
                {"options": [["high"], ["basic"]], "purpose": {"en": "Open an account", "zh-CN": "开户"}},
                {"options": [["extra"]], "required": false}
            ]
        });
        let q = DcqlQuery::from_value(&v).unwrap();
        let MatchOutcome::Matched { selections } = q.evaluate(&[basic("b")]) else {
            panic!()
        };
        assert_eq!(selections.len(), 1);
        assert_eq!(selections[0].query_id, "basic");
        let MatchOutcome::Matched { selections } = q.evaluate(&[basic("b"), high("h")]) else {
            panic!()
        };
        assert_eq!(selections.len(), 1);
        assert_eq!(selections[0].query_id, "high");
        assert_eq!(q.purpose_of("high").as_deref(), Some("Open an account"));
        assert!(matches!(
            q.evaluate(&[]),
            MatchOutcome::Unsatisfiable { .. }
        ));
    }

    #[test]
    fn invalid_queries() {
        let bad = |v: Value| DcqlQuery::from_value(&v).unwrap_err();
        assert!(matches!(bad(json!({})), DcqlError::Malformed { .. }));
        assert!(matches!(
            bad(json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt"}]})),
            DcqlError::Malformed { .. }
        ));
        assert_eq!(
            bad(json!({"credentials": [{"id": "a", "format": "x"}, {"id": "a", "format": "x"}]})),
            DcqlError::DuplicateId { id: "a".into() }
        );
        assert_eq!(
            bad(json!({"credentials": [{"id": "a", "format": "x"}],
                       "credential_sets": [{"options": [["b"]]}]})),
            DcqlError::UnknownId { id: "b".into() }
        );
        assert_eq!(
            bad(json!({"credentials": [{"id": "a", "format": "x",
                "claims": [{"id": "c", "path": ["x"]}], "claim_sets": [["d"]]}]})),
            DcqlError::UnknownId { id: "d".into() }
        );
        assert!(matches!(
            bad(json!({"credentials": [{"id": "a", "format": "x", "claims": [{"path": [true]}]}]})),
            DcqlError::Malformed { .. }
        ));
    }

    fn with(member: &str, value: Value) -> DcqlQuery {
        let mut v = hotel();
        v["credentials"][0][member] = value;
        DcqlQuery::from_value(&v).unwrap()
    }

    fn selections(q: &DcqlQuery, candidates: &[Candidate]) -> Vec<Selection> {
        match q.evaluate(candidates) {
            MatchOutcome::Matched { selections } => selections,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn multiple_returns_every_matching_credential_only_when_true() {
        let candidates = [basic("b1"), high("h1"), basic("b2")];
        let one = selections(&DcqlQuery::from_value(&hotel()).unwrap(), &candidates);
        assert_eq!(one.len(), 1);
        let one = selections(&with("multiple", json!(false)), &candidates);
        assert_eq!(one.len(), 1);
        let all = selections(&with("multiple", json!(true)), &candidates);
        let batches: Vec<&str> = all.iter().map(|s| s.batch_id.as_str()).collect();
        assert_eq!(batches, ["b1", "h1", "b2"]);
        assert!(all.iter().all(|s| s.query_id == "hotel"));
        // Only matching ones: a credential lacking a claim is left out.
        let mut v = hotel();
        v["credentials"][0]["multiple"] = json!(true);
        v["credentials"][0]["claims"] = json!([{"path": ["address", "locality"]}]);
        let q = DcqlQuery::from_value(&v).unwrap();
        let only_high = selections(&q, &candidates);
        assert_eq!(only_high.len(), 1);
        assert_eq!(only_high[0].batch_id, "h1");
    }

    #[test]
    fn holder_binding_defaults_to_required() {
        let s = selections(&DcqlQuery::from_value(&hotel()).unwrap(), &[basic("b1")]);
        assert!(s[0].key_binding);
        let s = selections(
            &with("require_cryptographic_holder_binding", json!(false)),
            &[basic("b1")],
        );
        assert!(!s[0].key_binding);
        let s = selections(
            &with("require_cryptographic_holder_binding", json!(true)),
            &[basic("b1")],
        );
        assert!(s[0].key_binding);
    }

    #[test]
    fn aki_never_matches_credentials_without_a_certificate_chain() {
        let q = with(
            "trusted_authorities",
            json!([{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]),
        );
        assert_eq!(
            q.evaluate(&[basic("b1")]),
            MatchOutcome::Unsatisfiable {
                unmet: vec![Unmet::NoTrustedIssuer {
                    query_id: "hotel".into()
                }]
            }
        );
        // With a chain the wallet cannot read the AuthorityKeyIdentifier: unchecked.
        let mut chained = basic("b2");
        chained.x5c = vec!["MIIB...".into()];
        let s = selections(&q, &[basic("b1"), chained]);
        assert_eq!(s[0].batch_id, "b2");
        assert_eq!(s[0].authority, AuthorityMatch::Unchecked);
    }

    #[test]
    fn trust_lists_the_wallet_cannot_resolve_are_unchecked_not_refused() {
        for kind in ["etsi_tl", "openid_federation", "some_future_type"] {
            let q = with(
                "trusted_authorities",
                json!([{"type": "aki", "values": ["AAAA"]},
                       {"type": kind, "values": ["https://lotl.example.com"]}]),
            );
            let s = selections(&q, &[basic("b1")]);
            assert_eq!(s[0].authority, AuthorityMatch::Unchecked, "{kind}");
        }
        let s = selections(&DcqlQuery::from_value(&hotel()).unwrap(), &[basic("b1")]);
        assert_eq!(s[0].authority, AuthorityMatch::Matched);
    }

    #[test]
    fn malformed_new_members_are_refused() {
        let bad = |member: &str, value: Value| {
            let mut v = hotel();
            v["credentials"][0][member] = value;
            DcqlQuery::from_value(&v).unwrap_err()
        };
        for (member, value) in [
            ("multiple", json!("yes")),
            ("require_cryptographic_holder_binding", json!(0)),
            ("trusted_authorities", json!([])),
            ("trusted_authorities", json!({"type": "aki"})),
            ("trusted_authorities", json!([{"values": ["x"]}])),
            ("trusted_authorities", json!([{"type": "aki"}])),
            (
                "trusted_authorities",
                json!([{"type": "aki", "values": []}]),
            ),
            (
                "trusted_authorities",
                json!([{"type": "aki", "values": [1]}]),
            ),
        ] {
            assert!(
                matches!(bad(member, value.clone()), DcqlError::Malformed { .. }),
                "{member}: {value}"
            );
        }
    }
}
