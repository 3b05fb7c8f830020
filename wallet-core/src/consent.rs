//! What the citizen is asked to agree to, as data: who asks, for what, which credential, which
//! claims exactly, at which level. The host renders it; the library does no terminal I/O.
//!
//! ```text
//! Store + AuthorizationRequest -> prepare() -> Preparation::Ready(Prepared { consent, .. })
//!                                            | Preparation::CannotSatisfy { unmet }
//! ```

use credential::citizen::Level;
use credential::sd_jwt::{ClaimPath, Limits, SdJwt};
use serde::Serialize;
use serde_json::Value;

use crate::dcql::{Candidate, MatchOutcome, Selection, Unmet};
use crate::present::{AuthorizationRequest, PresentationError, ResponseMode};
use crate::receive::credential_type;
use crate::store::{BatchInfo, RecordStore, StoreError};

/// One claim that will be disclosed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentClaim {
    /// The claim path, dotted (`address.locality`).
    pub path: String,
    /// A label for the citizen (English), when the claim is a known citizen-ID claim.
    pub label: Option<String>,
    /// The same in Chinese.
    pub label_zh: Option<String>,
    /// The value(s) that will be disclosed, as stored.
    pub value: Value,
}

/// One credential that will be shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentItem {
    /// The verifier's credential query id.
    pub query_id: String,
    /// The verifier's stated purpose (from `credential_sets`), when given.
    pub purpose: Option<String>,
    /// The stored batch that answers.
    pub batch_id: String,
    /// The credential type.
    pub credential_type: String,
    /// The assurance level (always visible to the verifier: it is the type).
    pub level: Option<Level>,
    /// `dc+sd-jwt` or `vc+sd-jwt`.
    pub format: String,
    /// The issuer.
    pub issuer: String,
    /// Exactly the claims disclosed (besides the always-visible issuer, type, validity, status
    /// reference and holder key).
    pub claims: Vec<ConsentClaim>,
    /// Copies never shown, before this presentation.
    pub unused_copies: u32,
    /// Copies stored.
    pub copies: u32,
    /// Whether the batch can be refreshed ([`crate::refresh()`]) when no unused copy is left.
    pub refreshable: bool,
    /// Whether the answer is bound to this verifier by a KB-JWT. `false` when the verifier set
    /// `require_cryptographic_holder_binding: false`: whoever receives such an answer can show
    /// it to others; the host should say so.
    pub holder_binding: bool,
    /// The verifier named `trusted_authorities` the wallet cannot evaluate offline (e.g. an
    /// ETSI trusted list): the verifier may reject the issuer.
    pub issuer_trust_unchecked: bool,
}

/// The consent screen's content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentSummary {
    /// Who asks (the request's `client_id`).
    pub client_id: String,
    /// Who asks, as a person reads it ([`crate::present::asker_name`]).
    pub asker: String,
    /// What the wallet verified about who asks (signed request, `redirect_uri`, or nothing).
    pub client_identity: crate::present::ClientIdentity,
    /// Where the answer goes: the `response_uri`, or `None` for an offline (QR) answer.
    pub response_uri: Option<String>,
    /// What is shown.
    pub items: Vec<ConsentItem>,
}

impl ConsentSummary {
    /// Whether some credential has no unused copy left (the answer would reuse one, which lets
    /// verifiers link presentations).
    pub fn needs_reuse(&self) -> bool {
        self.items.iter().any(|i| i.unused_copies == 0)
    }

    /// The batches with no unused copy left, which [`crate::refresh()`] could renew first.
    pub fn exhausted(&self) -> Vec<&ConsentItem> {
        self.items.iter().filter(|i| i.unused_copies == 0).collect()
    }
}

/// A request matched against the store, ready for consent.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request.
    pub request: AuthorizationRequest,
    /// What answers each credential query.
    pub selections: Vec<Selection>,
    /// What to show the citizen.
    pub consent: ConsentSummary,
}

/// The outcome of matching a request against the wallet.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Preparation {
    /// The wallet can answer; ask the citizen.
    Ready(Box<Prepared>),
    /// The wallet cannot answer: what is missing.
    CannotSatisfy {
        /// Who asked.
        client_id: String,
        /// What is missing, per credential query.
        unmet: Vec<Unmet>,
    },
}

/// The holder-view candidates of the store: one per batch, those with an unused copy first.
///
/// # Errors
/// [`PresentationError::Store`] when a copy does not open.
pub fn candidates(store: &impl RecordStore) -> Result<Vec<Candidate>, PresentationError> {
    candidates_where(store, |_| true)
}

fn candidates_where(
    store: &impl RecordStore,
    keep: impl Fn(&BatchInfo) -> bool,
) -> Result<Vec<Candidate>, PresentationError> {
    let mut out = Vec::new();
    let mut batches = store.batches()?;
    batches.retain(|b| keep(b));
    // Batches with a copy never shown come first, so matching prefers them (stable: newest
    // first within each group).
    batches.sort_by_key(|b| b.unused == 0);
    for batch in batches {
        let copies = store.copies(&batch.batch_id)?;
        let Some(first) = copies.first() else {
            continue;
        };
        let opened = store.open_copy(&first.id)?;
        let corrupted = || {
            PresentationError::Store(StoreError::Corrupted {
                id: first.id.clone(),
            })
        };
        let sd_jwt = SdJwt::parse(&opened.sd_jwt, &Limits::default()).map_err(|_| corrupted())?;
        let x5c = strings(sd_jwt.jws().header().members.get("x5c"));
        let claims = sd_jwt.holder_view().map_err(|_| corrupted())?.claims;
        let types = strings(claims.get("type"));
        out.push(Candidate {
            batch_id: batch.batch_id,
            format: batch.format,
            vct: credential_type(&claims).unwrap_or(batch.vct),
            types,
            claims,
            x5c,
        });
    }
    Ok(out)
}

/// The strings of a JSON array (other items skipped); empty when `value` is no array.
fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Matches `request` against the store and builds the consent summary.
///
/// # Errors
/// [`PresentationError::Store`].
pub fn prepare(
    store: &impl RecordStore,
    request: &AuthorizationRequest,
) -> Result<Preparation, PresentationError> {
    let query = &request.dcql_query;
    let candidates = candidates_where(store, |b| query.could_match(&b.format, &b.vct))?;
    let selections = match request.dcql_query.evaluate(&candidates) {
        MatchOutcome::Matched { selections } => selections,
        MatchOutcome::Unsatisfiable { unmet } => {
            return Ok(Preparation::CannotSatisfy {
                client_id: request.client_id.clone(),
                unmet,
            })
        }
    };
    let batches = store.batches()?;
    let mut items = Vec::new();
    for s in &selections {
        let (Some(c), Some(b)) = (
            candidates.iter().find(|c| c.batch_id == s.batch_id),
            batches.iter().find(|b| b.batch_id == s.batch_id),
        ) else {
            continue;
        };
        let root = Value::Object(c.claims.clone());
        let claims = s
            .claims
            .iter()
            .map(|p| {
                let found = p.lookup(&root);
                let value = match found.as_slice() {
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
                };
                let (en, zh) = claim_label(p).unzip();
                ConsentClaim {
                    path: p.to_string(),
                    label: en.map(str::to_owned),
                    label_zh: zh.map(str::to_owned),
                    value,
                }
            })
            .collect();
        items.push(ConsentItem {
            query_id: s.query_id.clone(),
            purpose: request.dcql_query.purpose_of(&s.query_id),
            batch_id: s.batch_id.clone(),
            credential_type: c.vct.clone(),
            level: b.level,
            format: b.format.clone(),
            issuer: b.issuer.clone(),
            claims,
            unused_copies: b.unused,
            copies: b.copies,
            refreshable: b.refreshable,
            holder_binding: s.key_binding,
            issuer_trust_unchecked: s.authority == crate::dcql::AuthorityMatch::Unchecked,
        });
    }
    let consent = ConsentSummary {
        client_id: request.client_id.clone(),
        asker: crate::present::asker_name(&request.client_id, &request.client_identity),
        client_identity: request.client_identity.clone(),
        response_uri: match &request.response_mode {
            ResponseMode::DirectPost { response_uri } => Some(response_uri.clone()),
            ResponseMode::Offline => None,
        },
        items,
    };
    Ok(Preparation::Ready(Box::new(Prepared {
        request: request.clone(),
        selections,
        consent,
    })))
}

/// Labels (English, Chinese) of the citizen-ID claims, for consent screens and cards. A W3C
/// form path (`credentialSubject.x`) gets the label of `x`.
pub fn claim_label(path: &ClaimPath) -> Option<(&'static str, &'static str)> {
    use credential::sd_jwt::PathSegment;
    let keys: Vec<&str> = path
        .segments()
        .iter()
        .map(|s| match s {
            PathSegment::Key(k) => k.as_str(),
            _ => "*",
        })
        .collect();
    let keys = match keys.as_slice() {
        ["credentialSubject", rest @ ..] => rest.to_vec(),
        other => other.to_vec(),
    };
    Some(match keys.as_slice() {
        ["family_name"] => ("Family name", "姓"),
        ["given_name"] => ("Given name", "名"),
        ["birthdate"] => ("Date of birth", "出生日期"),
        ["sex"] => ("Sex", "性别"),
        ["nationality"] => ("Nationality", "国籍"),
        ["id_number"] => ("ID number", "公民身份号码"),
        ["age_equal_or_over"] => ("Age over", "年龄达到"),
        ["age_equal_or_over", "16"] => ("Age 16 or over", "年满16周岁"),
        ["age_equal_or_over", "18"] => ("Age 18 or over", "年满18周岁"),
        ["age_equal_or_over", "60"] => ("Age 60 or over", "年满60周岁"),
        ["address"] => ("Address", "住址"),
        ["address", _] => ("Address (part)", "住址（部分）"),
        ["ethnicity"] => ("Ethnicity", "民族"),
        ["portrait"] => ("Portrait", "照片"),
        ["id_card"] => ("ID card", "身份证"),
        ["id_card", "issuing_authority"] => ("Issuing authority", "签发机关"),
        ["id_card", "valid_until"] => ("Card valid until", "有效期限"),
        _ => return None,
    })
}
