//! Issuing the citizen-ID credential in either form from typed claims.
//!
//! Both forms come from the same claims and the same SD-JWT engine; see
//! `docs/credential-format.md` for the layouts.

use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};

use super::{CitizenClaims, Level};
use crate::jose::{PublicJwk, SigningKey};
use crate::sd_jwt::{ClaimPath, IssueError as SdIssueError, PathSegment, RngSalts, SdJwtBuilder};
use crate::status_list::StatusReference;

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

/// The W3C VCDM 2.0 base context.
pub const VCDM2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

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
    /// The claims do not meet the level's requirements.
    #[error(transparent)]
    Claims(#[from] super::ClaimsError),
    /// The validity window is empty or a time is out of range.
    #[error("invalid validity window")]
    InvalidValidity,
    /// The SD-JWT engine refused the payload (a bug in the layout, not user input).
    #[error(transparent)]
    SdJwt(#[from] SdIssueError),
}

/// Decoy digests added to each object with disclosable members.
const DECOYS: (usize, usize) = (1, 4);

/// Issues one credential: returns the compact SD-JWT `<jwt>~<disclosures>~`.
///
/// Every personal claim is selectively disclosable; `address`, `age_equal_or_over` and
/// `id_card` are disclosable as a whole and member by member. Type, issuer, validity, holder
/// key and status are always visible.
///
/// # Errors
/// [`IssueError`] when the claims do not fit the level or the validity window is empty.
pub fn issue(
    request: &IssueRequest<'_>,
    key: &SigningKey,
    rng: &mut dyn CryptoRngCore,
) -> Result<String, IssueError> {
    request.claims.validate(request.level)?;
    if request.expires_at <= request.issued_at {
        return Err(IssueError::InvalidValidity);
    }
    let today = time::OffsetDateTime::from_unix_timestamp(request.issued_at)
        .map_err(|_| IssueError::InvalidValidity)?
        .date();
    let mut subject = match serde_json::to_value(request.claims) {
        Ok(Value::Object(map)) => map,
        // CitizenClaims is a struct: it always serializes to an object.
        _ => return Err(IssueError::InvalidValidity),
    };
    let ages: Map<String, Value> = request
        .claims
        .age_over(today)
        .into_iter()
        .map(|(k, v)| (k, Value::Bool(v)))
        .collect();
    subject.insert("age_equal_or_over".into(), Value::Object(ages));

    let (payload, prefix) = match request.format {
        Format::DcSdJwt => (dc_payload(request, subject)?, Vec::new()),
        Format::VcSdJwt => (
            vc_payload(request, subject)?,
            vec![PathSegment::Key("credentialSubject".into())],
        ),
    };
    let disclosable = disclosable_paths(&payload, &prefix);
    let mut builder = SdJwtBuilder::new(payload)
        .typ(request.format.as_str())
        .decoys(DECOYS.0, DECOYS.1);
    for path in &disclosable {
        builder = builder.disclosable(path);
    }
    let issued = builder.issue(key, &mut RngSalts(rng))?;
    Ok(issued.to_compact())
}

fn common_claims(request: &IssueRequest<'_>, payload: &mut Map<String, Value>) {
    payload.insert("iss".into(), json!(request.issuer));
    payload.insert("iat".into(), json!(request.issued_at));
    payload.insert("exp".into(), json!(request.expires_at));
    payload.insert("cnf".into(), json!({ "jwk": request.holder.to_bare_value() }));
    if let Some(status) = request.status {
        payload.insert(
            "status".into(),
            json!({ "status_list": { "idx": status.idx, "uri": status.uri } }),
        );
    }
}

fn dc_payload(
    request: &IssueRequest<'_>,
    subject: Map<String, Value>,
) -> Result<Map<String, Value>, IssueError> {
    let mut payload = Map::new();
    payload.insert("vct".into(), json!(request.level.vct()));
    common_claims(request, &mut payload);
    payload.extend(subject);
    Ok(payload)
}

fn rfc3339(t: i64) -> Result<String, IssueError> {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .ok_or(IssueError::InvalidValidity)
}

fn vc_payload(
    request: &IssueRequest<'_>,
    subject: Map<String, Value>,
) -> Result<Map<String, Value>, IssueError> {
    let mut payload = Map::new();
    payload.insert("@context".into(), json!([VCDM2_CONTEXT]));
    payload.insert(
        "type".into(),
        json!(["VerifiableCredential", "CitizenIdCredential", request.level.vct()]),
    );
    payload.insert("issuer".into(), json!(request.issuer));
    payload.insert("validFrom".into(), json!(rfc3339(request.issued_at)?));
    payload.insert("validUntil".into(), json!(rfc3339(request.expires_at)?));
    payload.insert(
        "credentialSchema".into(),
        json!({
            "id": format!("{}/schemas/citizen-id-{}.schema.json", request.issuer.trim_end_matches('/'), request.level.as_str()),
            "type": "JsonSchema"
        }),
    );
    payload.insert(
        "evidence".into(),
        json!([{
            "type": "CitizenIdProofing",
            "method": match request.level {
                Level::Basic => "remote_face_match",
                Level::High => "in_person_id_card",
            }
        }]),
    );
    common_claims(request, &mut payload);
    payload.insert("credentialSubject".into(), Value::Object(subject));
    Ok(payload)
}

/// Every member of the subject, and every member of its nested objects, is disclosable.
fn disclosable_paths(payload: &Map<String, Value>, prefix: &[PathSegment]) -> Vec<ClaimPath> {
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
        if let Value::Object(members) = value {
            for member in members.keys() {
                let mut inner = path.clone();
                inner.push(PathSegment::Key(member.clone()));
                paths.push(ClaimPath(inner));
            }
        }
        paths.push(ClaimPath(path));
    }
    paths
}

/// Members of the dc+sd-jwt payload that are never selectively disclosable.
const ALWAYS_VISIBLE: [&str; 6] = ["iss", "iat", "exp", "vct", "cnf", "status"];
