use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use credential::b64;
use credential::jose::{sign_compact, PublicJwk, SigningKey};

use super::{CitizenClaims, Format, Level, StatusReference};

/// What to issue (mirrors the planned `credential::citizen::IssueRequest`).
#[derive(Debug)]
pub struct IssueRequest<'a> {
    /// Validated claims.
    pub claims: &'a CitizenClaims,
    /// Assurance level.
    pub level: Level,
    /// Payload form.
    pub format: Format,
    /// `iss`.
    pub issuer: &'a str,
    /// `cnf.jwk`.
    pub holder: &'a PublicJwk,
    /// The status-list entry.
    pub status: Option<StatusReference>,
    /// `iat`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
}

/// Issuance failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The claims do not fit the level.
    #[error(transparent)]
    Claims(#[from] super::ClaimsError),
}

struct Concealer<'r, R: CryptoRngCore> {
    rng: &'r mut R,
    disclosures: Vec<String>,
}

impl<R: CryptoRngCore> Concealer<'_, R> {
    fn salt(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        b64::encode(bytes)
    }

    /// Conceals `name: value` of an object (RFC 9901 section 4.2.1); returns its digest.
    fn property(&mut self, name: &str, value: Value) -> String {
        let disclosure = b64::encode(json!([self.salt(), name, value]).to_string());
        let digest = b64::encode(Sha256::digest(disclosure.as_bytes()));
        self.disclosures.push(disclosure);
        digest
    }

    fn decoy(&mut self) -> String {
        b64::encode(Sha256::digest(self.salt().as_bytes()))
    }

    /// An object whose every member is concealed, plus decoys, digests sorted.
    fn object(&mut self, members: Vec<(&str, Value)>, decoys: usize) -> Map<String, Value> {
        let mut sd: Vec<String> = members
            .into_iter()
            .map(|(n, v)| self.property(n, v))
            .collect();
        for _ in 0..decoys {
            sd.push(self.decoy());
        }
        sd.sort();
        let mut obj = Map::new();
        obj.insert("_sd".into(), json!(sd));
        obj
    }
}

fn personal_members<R: CryptoRngCore>(
    c: &mut Concealer<'_, R>,
    claims: &CitizenClaims,
    now: i64,
) -> Vec<(&'static str, Value)> {
    let ages: Vec<(String, Value)> = claims
        .age_over(now)
        .into_iter()
        .map(|(n, b)| (n.to_string(), Value::Bool(b)))
        .collect();
    let ages = c.object(
        ages.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
        1,
    );
    let mut m = vec![
        ("family_name", json!(claims.family_name)),
        ("given_name", json!(claims.given_name)),
        ("birthdate", json!(claims.birthdate)),
        ("sex", json!(claims.sex)),
        ("nationality", json!(claims.nationality)),
        ("id_number", json!(claims.id_number)),
        ("age_equal_or_over", Value::Object(ages)),
    ];
    if let Some(address) = &claims.address {
        let parts: Vec<(String, Value)> = match serde_json::to_value(address) {
            Ok(Value::Object(o)) => o.into_iter().collect(),
            _ => Vec::new(),
        };
        let obj = c.object(
            parts.iter().map(|(n, v)| (n.as_str(), v.clone())).collect(),
            1,
        );
        m.push(("address", Value::Object(obj)));
    }
    if let Some(e) = &claims.ethnicity {
        m.push(("ethnicity", json!(e)));
    }
    if let Some(p) = &claims.portrait {
        m.push(("portrait", json!(p)));
    }
    if let Some(card) = &claims.id_card {
        m.push(("id_card", json!(card)));
    }
    m
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Issues a compact SD-JWT `<jwt>~<disclosure>~...~` in the requested form.
///
/// # Errors
/// [`IssueError::Claims`] when the claims do not fit the level.
pub fn issue(
    req: &IssueRequest<'_>,
    key: &SigningKey,
    rng: &mut impl CryptoRngCore,
) -> Result<String, IssueError> {
    req.claims.validate(req.level)?;
    let mut c = Concealer {
        rng,
        disclosures: Vec::new(),
    };
    let members = personal_members(&mut c, req.claims, req.issued_at);
    let subject = c.object(members, 3);
    let status = req
        .status
        .as_ref()
        .map(|s| json!({"status_list": {"idx": s.idx, "uri": s.uri}}));
    let payload = match req.format {
        Format::DcSdJwt => {
            let mut p = subject;
            p.insert("iss".into(), json!(req.issuer));
            p.insert("iat".into(), json!(req.issued_at));
            p.insert("exp".into(), json!(req.expires_at));
            p.insert("vct".into(), json!(req.level.vct()));
            p.insert("cnf".into(), json!({"jwk": req.holder.to_bare_value()}));
            if let Some(s) = status {
                p.insert("status".into(), s);
            }
            p.insert("_sd_alg".into(), json!("sha-256"));
            Value::Object(p)
        }
        Format::VcSdJwt => {
            let mut p = Map::new();
            p.insert(
                "@context".into(),
                json!(["https://www.w3.org/ns/credentials/v2"]),
            );
            p.insert(
                "type".into(),
                json!(["VerifiableCredential", req.level.vct()]),
            );
            p.insert("issuer".into(), json!(req.issuer));
            p.insert("validFrom".into(), json!(rfc3339(req.issued_at)));
            p.insert("validUntil".into(), json!(rfc3339(req.expires_at)));
            p.insert("credentialSubject".into(), Value::Object(subject));
            if let Some(s) = &req.status {
                p.insert(
                    "credentialStatus".into(),
                    json!({"type": "TokenStatusList", "idx": s.idx, "uri": s.uri}),
                );
            }
            p.insert("iss".into(), json!(req.issuer));
            p.insert("iat".into(), json!(req.issued_at));
            p.insert("exp".into(), json!(req.expires_at));
            p.insert("cnf".into(), json!({"jwk": req.holder.to_bare_value()}));
            if let Some(s) = status {
                p.insert("status".into(), s);
            }
            p.insert("_sd_alg".into(), json!("sha-256"));
            Value::Object(p)
        }
    };
    let mut header = Map::new();
    header.insert("typ".into(), json!(req.format.as_str()));
    header.insert("kid".into(), json!(key.kid()));
    let jwt = sign_compact(header, payload.to_string().as_bytes(), key);
    let mut out = jwt;
    out.push('~');
    for d in &c.disclosures {
        out.push_str(d);
        out.push('~');
    }
    Ok(out)
}
