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
//! W3C form). The `values` constraint is honoured; `trusted_authorities` and
//! `require_cryptographic_holder_binding: false` are not (every credential here is
//! holder-bound).

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

/// One credential query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialQuery {
    /// The id the answer is keyed by.
    pub id: String,
    /// The requested format (`dc+sd-jwt`, `vc+sd-jwt`, or something this wallet never has).
    pub format: String,
    /// Whether several credentials may answer (this wallet answers with one).
    pub multiple: bool,
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
        let credential_sets = match obj.get("credential_sets") {
            None => None,
            Some(sets) => {
                let sets = sets
                    .as_array()
                    .ok_or_else(|| malformed("credential_sets is not an array"))?;
                if sets.is_empty() {
                    return Err(malformed("credential_sets is empty"));
                }
                if sets.len() > MAX_ITEMS {
                    return Err(DcqlError::TooLarge);
                }
                let mut out = Vec::new();
                for s in sets {
                    let options = s
                        .get("options")
                        .and_then(Value::as_array)
                        .ok_or_else(|| malformed("credential set has no options"))?;
                    if options.is_empty() || options.len() > MAX_ITEMS {
                        return Err(malformed("credential set options count"));
                    }
                    let options = options
                        .iter()
                        .map(|o| strings(o, "credential set option"))
                        .collect::<Result<Vec<_>, _>>()?;
                    for id in options.iter().flatten() {
                        if !credentials.iter().any(|c| &c.id == id) {
                            return Err(DcqlError::UnknownId { id: id.clone() });
                        }
                    }
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
    let multiple = c.get("multiple").and_then(Value::as_bool).unwrap_or(false);
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
    let claims = match c.get("claims") {
        None => None,
        Some(list) => {
            let list = list
                .as_array()
                .ok_or_else(|| malformed("claims is not an array"))?;
            if list.is_empty() {
                return Err(malformed("claims is empty"));
            }
            if list.len() > MAX_ITEMS {
                return Err(DcqlError::TooLarge);
            }
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
            let sets = sets
                .as_array()
                .ok_or_else(|| malformed("claim_sets is not an array"))?;
            if sets.is_empty() || sets.len() > MAX_ITEMS {
                return Err(malformed("claim_sets count"));
            }
            let sets = sets
                .iter()
                .map(|s| strings(s, "claim set"))
                .collect::<Result<Vec<_>, _>>()?;
            for cid in sets.iter().flatten() {
                if !claims.iter().any(|c| c.id.as_ref() == Some(cid)) {
                    return Err(DcqlError::UnknownId { id: cid.clone() });
                }
            }
            Some(sets)
        }
    };
    Ok(CredentialQuery {
        id: id.to_owned(),
        format: format.to_owned(),
        multiple,
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
        let present = |cl: &ClaimQuery| Self::claim_present(cl, c);
        match &self.claim_sets {
            None => {
                let missing: Vec<String> = claims
                    .iter()
                    .filter(|cl| !present(cl))
                    .map(|cl| cl.path.to_string())
                    .collect();
                if missing.is_empty() {
                    Ok(claims.iter().map(|cl| cl.path.clone()).collect())
                } else {
                    Err(missing)
                }
            }
            Some(sets) => {
                let by_id = |id: &String| claims.iter().find(|cl| cl.id.as_ref() == Some(id));
                let mut fewest: Option<Vec<String>> = None;
                for set in sets {
                    let chosen: Vec<&ClaimQuery> = set.iter().filter_map(by_id).collect();
                    let missing: Vec<String> = chosen
                        .iter()
                        .filter(|cl| !present(cl))
                        .map(|cl| cl.path.to_string())
                        .collect();
                    if missing.is_empty() {
                        return Ok(chosen.iter().map(|cl| cl.path.clone()).collect());
                    }
                    if fewest.as_ref().is_none_or(|f| missing.len() < f.len()) {
                        fewest = Some(missing);
                    }
                }
                Err(fewest.unwrap_or_default())
            }
        }
    }

    fn answer(&self, candidates: &[Candidate]) -> Result<Selection, Unmet> {
        let mut closest: Option<Vec<String>> = None;
        for c in candidates.iter().filter(|c| self.accepts_type(c)) {
            match self.evaluate(c) {
                Ok(claims) => {
                    return Ok(Selection {
                        query_id: self.id.clone(),
                        batch_id: c.batch_id.clone(),
                        claims,
                    })
                }
                Err(missing) => {
                    if closest.as_ref().is_none_or(|m| missing.len() < m.len()) {
                        closest = Some(missing);
                    }
                }
            }
        }
        Err(match closest {
            Some(claims) => Unmet::MissingClaims {
                query_id: self.id.clone(),
                claims,
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
        let answers: Vec<(String, Result<Selection, Unmet>)> = self
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
        let q = DcqlQuery::from_value(&json!({"credentials": [{
            "id": "adult", "format": "dc+sd-jwt",
            "claims": [{"path": ["age_equal_or_over", "18"], "values": [true]}]
        }]}))
        .unwrap();
        assert!(matches!(
            q.evaluate(&[basic("b")]),
            MatchOutcome::Matched { .. }
        ));
        let q = DcqlQuery::from_value(&json!({"credentials": [{
            "id": "senior", "format": "dc+sd-jwt",
            "claims": [{"path": ["age_equal_or_over", "60"], "values": [true]}]
        }]}))
        .unwrap();
        assert!(matches!(
            q.evaluate(&[basic("b")]),
            MatchOutcome::Unsatisfiable { .. }
        ));
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
}
