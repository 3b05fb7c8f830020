//! Issuing the citizen-ID credential in either form from typed claims.
//!
//! Both forms come from the same claims and the same SD-JWT engine; see
//! `docs/credential-format.md` for the layouts.

use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};

use super::claims::{CitizenClaims, AGE_THRESHOLDS};
use super::level::Level;
use crate::jose::{JwsSigner, PublicJwk};
use crate::sd_jwt::{ClaimPath, IssueError as SdIssueError, PathSegment, RngSalts, SdJwtBuilder};
use crate::status_list::StatusReference;

/// The W3C VCDM 2.0 base context, first in every `@context` of the `vc+sd-jwt` form.
pub const VCDM_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// The W3C `type` entry common to both levels of the `vc+sd-jwt` form. The `type` array is
/// `["VerifiableCredential", "CitizenIdCredential", <vct of the level>]`.
pub const VC_TYPE: &str = "CitizenIdCredential";

/// The two forms of the citizen-ID credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// IETF SD-JWT VC (`typ: dc+sd-jwt`): flat claims, `vct`, `cnf`, `status`.
    DcSdJwt,
    /// W3C VCDM 2.0 secured with SD-JWT (`typ: vc+sd-jwt`, W3C VC-JOSE-COSE): the claims
    /// under `credentialSubject`.
    VcSdJwt,
}

impl Format {
    /// The header `typ` and the OpenID4VCI `format` identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DcSdJwt => "dc+sd-jwt",
            Format::VcSdJwt => "vc+sd-jwt",
        }
    }

    /// Parses `dc+sd-jwt` or `vc+sd-jwt`.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "dc+sd-jwt" => Some(Format::DcSdJwt),
            "vc+sd-jwt" => Some(Format::VcSdJwt),
            _ => None,
        }
    }
}

/// Everything that goes into one credential.
#[derive(Debug, Clone, Copy)]
pub struct IssueRequest<'a> {
    /// The citizen's validated claims.
    pub claims: &'a CitizenClaims,
    /// The assurance level (decides the type).
    pub level: Level,
    /// The form.
    pub format: Format,
    /// The issuer identifier (`iss`), an HTTPS URL.
    pub issuer: &'a str,
    /// The holder's public key (`cnf.jwk`).
    pub holder: &'a PublicJwk,
    /// The status-list entry, when the credential can be revoked.
    pub status: Option<&'a StatusReference>,
    /// Issuance time, Unix seconds.
    pub issued_at: i64,
    /// Expiry time, Unix seconds.
    pub expires_at: i64,
}

/// Why a credential could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The requested level is not the level the claims were validated for.
    #[error("claims were validated for level {claims}, not {requested}")]
    LevelMismatch {
        /// The claims' level.
        claims: Level,
        /// The requested level.
        requested: Level,
    },
    /// The validity window is empty or a time is out of range.
    #[error("invalid validity window")]
    InvalidValidity,
    /// The SD-JWT engine refused the payload (a bug in the layout, not user input).
    #[error(transparent)]
    SdJwt(#[from] SdIssueError),
}

/// Fixed `_sd` lengths (decoys included) so every credential of a type has one shape
/// (`docs/credential-format.md` section 5, rule 3): each is the number of claims the object can
/// hold at its level, no more, since every extra digest is 32 bytes in every presentation.
/// The subject: six claims and `age_equal_or_over` at basic, and four more at high.
const PAD_SUBJECT_BASIC: usize = 7;
const PAD_SUBJECT_HIGH: usize = 11;
/// `formatted`, `street_address`, `locality`, `region`, `postal_code`, `country`.
const PAD_ADDRESS: usize = 6;
/// `issuing_authority`, `valid_until`.
const PAD_ID_CARD: usize = 2;
/// One member per age threshold.
const PAD_AGES: usize = AGE_THRESHOLDS.len();

const DAY: i64 = 86_400;

/// Issues one credential: returns the compact SD-JWT `<jwt>~<disclosures>~`.
///
/// Every personal claim is selectively disclosable; `address`, `age_equal_or_over` and
/// `id_card` are disclosable as a whole and member by member. Type, issuer, validity, holder
/// key and status are always visible. Times are truncated to the day so they do not single out
/// one issuance.
///
/// # Errors
/// [`IssueError`] when the level does not match the claims or the validity window is empty.
pub fn issue(
    request: &IssueRequest<'_>,
    key: &(impl JwsSigner + ?Sized),
    rng: &mut dyn CryptoRngCore,
) -> Result<String, IssueError> {
    if request.claims.level() != request.level {
        return Err(IssueError::LevelMismatch {
            claims: request.claims.level(),
            requested: request.level,
        });
    }
    let issued_at = request.issued_at - request.issued_at.rem_euclid(DAY);
    let expires_at = request.expires_at - request.expires_at.rem_euclid(DAY);
    if expires_at <= issued_at {
        return Err(IssueError::InvalidValidity);
    }
    let today = time::OffsetDateTime::from_unix_timestamp(request.issued_at)
        .map_err(|_| IssueError::InvalidValidity)?
        .date();
    let subject = request.claims.disclosable_claims(today);
    let (payload, prefix) = match request.format {
        Format::DcSdJwt => (
            dc_payload(request, issued_at, expires_at, subject),
            Vec::new(),
        ),
        Format::VcSdJwt => (
            vc_payload(request, issued_at, expires_at, subject)?,
            vec![PathSegment::Key("credentialSubject".into())],
        ),
    };
    let mut builder = SdJwtBuilder::new(payload.clone()).typ(request.format.as_str());
    for (path, pad) in disclosable_paths(&payload, &prefix) {
        builder = builder.disclosable(&path);
        if let Some(len) = pad {
            builder = builder.pad(&path, len);
        }
    }
    let pad_subject = match request.level {
        Level::Basic => PAD_SUBJECT_BASIC,
        Level::High => PAD_SUBJECT_HIGH,
    };
    builder = builder.pad(&ClaimPath(prefix), pad_subject);
    let issued = builder.issue(key, &mut RngSalts(rng))?;
    Ok(issued.to_compact())
}

fn dc_payload(
    request: &IssueRequest<'_>,
    issued_at: i64,
    expires_at: i64,
    subject: Map<String, Value>,
) -> Map<String, Value> {
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(request.issuer));
    payload.insert("iat".into(), json!(issued_at));
    payload.insert("exp".into(), json!(expires_at));
    payload.insert("vct".into(), json!(request.level.vct()));
    payload.insert(
        "cnf".into(),
        json!({ "jwk": request.holder.to_bare_value() }),
    );
    if let Some(status) = request.status {
        payload.insert("status".into(), status.to_status_claim());
    }
    payload.extend(subject);
    payload
}

fn rfc3339(t: i64) -> Result<String, IssueError> {
    crate::timestamp::rfc3339(t).ok_or(IssueError::InvalidValidity)
}

fn vc_payload(
    request: &IssueRequest<'_>,
    issued_at: i64,
    expires_at: i64,
    subject: Map<String, Value>,
) -> Result<Map<String, Value>, IssueError> {
    let base = request.issuer.trim_end_matches('/');
    let mut payload = Map::new();
    payload.insert("@context".into(), json!([VCDM_V2_CONTEXT]));
    payload.insert(
        "type".into(),
        json!(["VerifiableCredential", VC_TYPE, request.level.vct()]),
    );
    payload.insert("issuer".into(), json!(request.issuer));
    payload.insert("validFrom".into(), json!(rfc3339(issued_at)?));
    payload.insert("validUntil".into(), json!(rfc3339(expires_at)?));
    payload.insert(
        "credentialSchema".into(),
        json!({"id": format!("{base}/schemas/vcdm-citizen-id.schema.json"), "type": "JsonSchema"}),
    );
    if let Some(status) = request.status {
        let index = status.idx.to_string();
        payload.insert(
            "credentialStatus".into(),
            json!([
                {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                 "statusListIndex": index, "statusListCredential": format!("{}/revocation", status.uri)},
                {"type": "BitstringStatusListEntry", "statusPurpose": "suspension",
                 "statusListIndex": index, "statusListCredential": format!("{}/suspension", status.uri)},
            ]),
        );
    }
    payload.insert(
        "evidence".into(),
        json!([{
            "type": "CitizenIdProofing",
            "proofingMethod": match request.level {
                Level::Basic => "remote_face_match",
                Level::High => "in_person_card_read",
            }
        }]),
    );
    payload.insert(
        "cnf".into(),
        json!({ "jwk": request.holder.to_bare_value() }),
    );
    payload.insert("credentialSubject".into(), Value::Object(subject));
    Ok(payload)
}

/// Every member of the subject is disclosable, and so is every member of its nested objects;
/// the nested objects get their fixed `_sd` length.
fn disclosable_paths(
    payload: &Map<String, Value>,
    prefix: &[PathSegment],
) -> Vec<(ClaimPath, Option<usize>)> {
    let subject: &Map<String, Value> = match prefix.first() {
        Some(PathSegment::Key(k)) => match payload.get(k) {
            Some(Value::Object(m)) => m,
            _ => return Vec::new(),
        },
        _ => payload,
    };
    let mut paths = Vec::new();
    for (name, value) in subject {
        if prefix.is_empty() && ALWAYS_VISIBLE.contains(&name.as_str()) {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(PathSegment::Key(name.clone()));
        let pad = match name.as_str() {
            "address" => Some(PAD_ADDRESS),
            "id_card" => Some(PAD_ID_CARD),
            "age_equal_or_over" => Some(PAD_AGES),
            _ => None,
        };
        if let Value::Object(members) = value {
            for member in members.keys() {
                let mut inner = path.clone();
                inner.push(PathSegment::Key(member.clone()));
                paths.push((ClaimPath(inner), None));
            }
        }
        paths.push((ClaimPath(path), pad));
    }
    paths
}

/// Members of the dc+sd-jwt payload that are never selectively disclosable.
const ALWAYS_VISIBLE: [&str; 6] = ["iss", "iat", "exp", "vct", "cnf", "status"];
