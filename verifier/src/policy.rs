//! The relying party's policy: which credentials it accepts and how fresh things must be.

use std::time::Duration;

use credential::citizen::Level;
use credential::jose::Alg;
use credential::sd_jwt::ClaimPath;
use serde::Deserialize;

/// What a relying party accepts. Loaded from a TOML file ([`Policy::from_toml`]); every field
/// has a safe default.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A name for messages and logs (`hotel`, `bank`).
    pub name: String,
    /// Accepted credential types (`vct` values). Empty with `generic` means any.
    pub accepted_types: Vec<String>,
    /// The lowest assurance level accepted.
    pub min_level: Level,
    /// Claims that must be disclosed.
    pub required_claims: Vec<ClaimPath>,
    /// Tolerated clock difference.
    pub clock_skew: Duration,
    /// Whether a KB-JWT is required. Never inferred from one being present.
    pub key_binding: bool,
    /// How old a KB-JWT's `iat` may be.
    pub kb_max_age: Duration,
    /// How old the revocation state (the status-list token's `iat`) may be.
    pub max_status_age: Duration,
    /// Whether a credential that references a status list is rejected when no list for it is
    /// known (fail closed), and whether a citizen-ID credential with no status reference at all
    /// (one that can never be revoked) is rejected. `true` unless a policy says otherwise.
    pub require_status: bool,
    /// With `require_status`, still accept a credential without a status reference when it is
    /// short-lived: its `exp` minus its `iat` is at most
    /// [`Policy::short_lived_max_validity`]. `false` unless a policy says otherwise.
    pub accept_short_lived_without_status: bool,
    /// The longest validity (`exp` − `iat`) of a credential accepted without a status
    /// reference under `accept_short_lived_without_status`. At most 72 hours; default 72 hours.
    pub short_lived_max_validity: Duration,
    /// Accepted signature algorithms.
    pub algorithms: Vec<Alg>,
    /// A plain RFC 9901 verifier: any credential type and `typ` (except other JWT kinds), no
    /// level.
    pub generic: bool,
    /// How this relying party asks for a presentation (the `[request]` section).
    pub request: RequestProfile,
}

/// The `[request]` section of a policy file: how `verifier request` builds an OpenID4VP
/// request for this relying party. Every field has a default.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestProfile {
    /// The desk's name (`https://hotel.example`): its host names an offline request's
    /// `response_uri`; the client id carries a 1.0 prefix (`docs/relying-party.md`).
    pub client_id: Option<String>,
    /// The `response_uri` for `direct_post` when the command line gives none.
    pub response_uri: Option<String>,
    /// The DCQL credential query id.
    pub query_id: String,
    /// Claims to ask for; empty means the required claims.
    pub claims: Vec<ClaimPath>,
    /// How long a request (its nonce) may be answered.
    pub validity: Duration,
}

/// The DCQL credential query id used when a policy names none.
pub const DEFAULT_QUERY_ID: &str = "citizen_id";

impl Default for RequestProfile {
    fn default() -> RequestProfile {
        RequestProfile {
            client_id: None,
            response_uri: None,
            query_id: DEFAULT_QUERY_ID.into(),
            claims: Vec::new(),
            validity: Duration::from_secs(600),
        }
    }
}

impl Default for Policy {
    /// Both citizen-ID types at basic level and above, key binding required (5-minute KB
    /// window), 60 s skew, revocation state at most 24 hours old, fail closed on status.
    fn default() -> Policy {
        Policy {
            name: "default".into(),
            accepted_types: vec![Level::Basic.vct().into(), Level::High.vct().into()],
            min_level: Level::Basic,
            required_claims: Vec::new(),
            clock_skew: Duration::from_secs(60),
            key_binding: true,
            kb_max_age: Duration::from_secs(300),
            max_status_age: Duration::from_secs(24 * 3600),
            require_status: true,
            accept_short_lived_without_status: false,
            short_lived_max_validity: SHORT_LIVED_MAX,
            algorithms: Alg::ALL.to_vec(),
            generic: false,
            request: RequestProfile::default(),
        }
    }
}

/// The longest validity a credential without a status reference may have under any policy
/// (`accept_short_lived_without_status`): 72 hours.
pub const SHORT_LIVED_MAX: Duration = Duration::from_secs(72 * 3600);

/// Why a policy file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not valid TOML of the policy's shape (unknown fields are errors).
    #[error("policy file: {0}")]
    Syntax(String),
    /// A value is out of its domain.
    #[error("policy file: invalid {field}")]
    Invalid {
        /// The field.
        field: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: Option<String>,
    accepted_types: Option<Vec<String>>,
    min_level: Option<String>,
    required_claims: Option<Vec<String>>,
    clock_skew_seconds: Option<u64>,
    key_binding: Option<bool>,
    kb_max_age_seconds: Option<u64>,
    max_status_age_seconds: Option<u64>,
    require_status: Option<bool>,
    accept_short_lived_without_status: Option<bool>,
    short_lived_max_validity_seconds: Option<u64>,
    algorithms: Option<Vec<String>>,
    generic: Option<bool>,
    request: Option<RequestFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    client_id: Option<String>,
    response_uri: Option<String>,
    query_id: Option<String>,
    claims: Option<Vec<String>>,
    validity_seconds: Option<u64>,
}

impl Policy {
    /// Parses a policy file. Example:
    ///
    /// ```toml
    /// name = "bank"
    /// min_level = "high"
    /// required_claims = ["family_name", "given_name", "id_number", "address"]
    /// max_status_age_seconds = 14400
    /// ```
    ///
    /// # Errors
    /// [`PolicyError`] on syntax errors, unknown fields and out-of-domain values.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.message().to_owned()))?;
        let mut policy = Policy::default();
        if let Some(name) = file.name {
            policy.name = name;
        }
        if let Some(types) = file.accepted_types {
            policy.accepted_types = types;
        }
        if let Some(level) = file.min_level {
            policy.min_level = level
                .parse()
                .map_err(|_| PolicyError::Invalid { field: "min_level" })?;
        }
        if let Some(claims) = file.required_claims {
            policy.required_claims = claims.iter().map(|c| ClaimPath::parse_dotted(c)).collect();
        }
        if let Some(s) = file.clock_skew_seconds {
            if s > 3600 {
                return Err(PolicyError::Invalid {
                    field: "clock_skew_seconds",
                });
            }
            policy.clock_skew = Duration::from_secs(s);
        }
        if let Some(kb) = file.key_binding {
            policy.key_binding = kb;
        }
        if let Some(s) = file.kb_max_age_seconds {
            policy.kb_max_age = Duration::from_secs(s);
        }
        if let Some(s) = file.max_status_age_seconds {
            policy.max_status_age = Duration::from_secs(s);
        }
        if let Some(r) = file.require_status {
            policy.require_status = r;
        }
        if let Some(a) = file.accept_short_lived_without_status {
            policy.accept_short_lived_without_status = a;
        }
        if let Some(s) = file.short_lived_max_validity_seconds {
            if s == 0 || s > SHORT_LIVED_MAX.as_secs() {
                return Err(PolicyError::Invalid {
                    field: "short_lived_max_validity_seconds",
                });
            }
            policy.short_lived_max_validity = Duration::from_secs(s);
        }
        if let Some(algs) = file.algorithms {
            policy.algorithms = algs
                .iter()
                .map(|a| Alg::parse(a))
                .collect::<Result<_, _>>()
                .map_err(|_| PolicyError::Invalid {
                    field: "algorithms",
                })?;
            if policy.algorithms.is_empty() {
                return Err(PolicyError::Invalid {
                    field: "algorithms",
                });
            }
        }
        if let Some(g) = file.generic {
            policy.generic = g;
        }
        if let Some(r) = file.request {
            let req = &mut policy.request;
            req.client_id = r.client_id;
            req.response_uri = r.response_uri;
            if let Some(id) = r.query_id {
                if id.is_empty()
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(PolicyError::Invalid {
                        field: "request.query_id",
                    });
                }
                req.query_id = id;
            }
            if let Some(claims) = r.claims {
                req.claims = claims.iter().map(|c| ClaimPath::parse_dotted(c)).collect();
            }
            if let Some(s) = r.validity_seconds {
                if s == 0 || s > 86_400 {
                    return Err(PolicyError::Invalid {
                        field: "request.validity_seconds",
                    });
                }
                req.validity = Duration::from_secs(s);
            }
        }
        Ok(policy)
    }

    /// The claims a request for this policy asks for: the `[request]` claims, or else the
    /// required claims.
    pub fn request_claims(&self) -> &[ClaimPath] {
        if self.request.claims.is_empty() {
            &self.required_claims
        } else {
            &self.request.claims
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_bank_policy() {
        let p = Policy::from_toml(
            "name = \"bank\"\nmin_level = \"high\"\nrequired_claims = [\"address.locality\"]\nmax_status_age_seconds = 14400\n",
        )
        .unwrap();
        assert_eq!(p.min_level, Level::High);
        assert_eq!(
            p.required_claims,
            vec![ClaimPath::keys(["address", "locality"])]
        );
        assert_eq!(p.max_status_age, Duration::from_secs(14400));
        assert!(p.key_binding);
    }

    #[test]
    fn rejects_unknown_fields_and_bad_values() {
        assert!(matches!(
            Policy::from_toml("colour = 1"),
            Err(PolicyError::Syntax(_))
        ));
        assert_eq!(
            Policy::from_toml("min_level = \"ultra\""),
            Err(PolicyError::Invalid { field: "min_level" })
        );
        assert_eq!(
            Policy::from_toml("short_lived_max_validity_seconds = 259201"),
            Err(PolicyError::Invalid {
                field: "short_lived_max_validity_seconds"
            })
        );
        assert_eq!(
            Policy::from_toml("algorithms = [\"HS256\"]"),
            Err(PolicyError::Invalid {
                field: "algorithms"
            })
        );
    }
}
