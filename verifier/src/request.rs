//! The relying party's OpenID4VP 1.0 authorization request, built as data (no I/O).
//!
//! A request asks for one credential with a DCQL query (OpenID4VP 1.0 section 6) derived from
//! the relying party's [`Policy`]: the accepted types become `meta.vct_values`, the required
//! claims become `claims[].path`. It travels by value as an `openid4vp://` URI (section 5 and
//! appendix A.1), shown as a QR code at a desk, or answered online with `direct_post` to a
//! `response_uri` (section 8.2).
//!
//! ```text
//! Policy ──► dcql_for_policy ──► PresentationRequest { client_id, nonce, dcql_query, .. }
//!                                   │ to_uri()                       ▲ from_uri()
//!                                   ▼                                │
//!                  openid4vp://?client_id=..&response_type=vp_token&nonce=..&dcql_query=..
//! ```
//!
//! The nonce comes from a caller-supplied CSPRNG ([`new_nonce`]); remembering it (single use,
//! with an expiry) is the caller's job, as is showing the QR code.
//!
//! Every request written is in the OpenID4VP 1.0 form any 1.0 wallet parses: `response_mode`
//! is always `direct_post` with a `response_uri`, `client_metadata.vp_formats_supported` is
//! always present, and `state` when the caller set one. A desk that is offline (the answer is
//! shown as a QR code) names an [`offline_response_uri`] under the reserved name
//! `offline.invalid` (RFC 6761: it never resolves, so no wallet can deliver the answer to
//! anyone); this project's wallet recognises it and shows the answer instead of posting it.

use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};

use credential::citizen::Level;
use credential::jose::{sign_compact, PublicJwk, SigningKey};
use credential::sd_jwt::{ClaimPath, PathSegment};

use crate::Policy;

/// The URI scheme of a request passed by value (OpenID4VP 1.0 appendix A.1 / section 13.1).
pub const SCHEME: &str = "openid4vp://";

/// The `typ` of a signed request object (OpenID4VP 1.0 section 5; RFC 9101).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// The `aud` of a request object for a wallet found by static discovery (OpenID4VP 1.0
/// section 5.8).
pub const SELF_ISSUED_AUD: &str = "https://self-issued.me/v2";

/// The `client_id` of a verifier identified by a `did:jwk` of its request-signing key, with the
/// OpenID4VP 1.0 prefix: `decentralized_identifier:did:jwk:<base64url of the public JWK>`
/// (section 5.9.3). A `did:jwk` resolves without a network, so an offline wallet can verify
/// the request; it proves control of the key, not who holds it.
pub fn did_jwk_client_id(key: &PublicJwk) -> String {
    format!(
        "decentralized_identifier:did:jwk:{}",
        credential::b64::encode(key.to_bare_value().to_string())
    )
}

/// The `client_id` of an unsigned `direct_post` request under the `redirect_uri` prefix
/// (section 5.9.3): the response URI itself.
pub fn redirect_uri_client_id(response_uri: &str) -> String {
    format!("redirect_uri:{response_uri}")
}

/// The DCQL credential query id used when a policy names none (defined beside the policy
/// profile that defaults to it).
pub use crate::policy::DEFAULT_QUERY_ID;

/// The credential format requested: IETF SD-JWT VC (OpenID4VP 1.0 appendix B.3).
pub const FORMAT: &str = "dc+sd-jwt";

/// The host of an offline desk's `response_uri`: a name under `.invalid`, which RFC 6761
/// reserves so that it never resolves. A 1.0 wallet that does not know the offline profile
/// fails to post there (the answer goes nowhere); this project's wallet shows the answer as a
/// QR code instead.
pub const OFFLINE_HOST: &str = "offline.invalid";

/// The signature algorithms of `vp_formats_supported` (OpenID4VP 1.0 appendix B.3.4): what the
/// verifier accepts for the issuer's signature and the KB-JWT.
pub const ALGS: [&str; 2] = ["ES256", "EdDSA"];

/// `client_metadata` of every request (OpenID4VP 1.0 section 5.1, 11.1): the formats and
/// algorithms the verifier accepts.
pub fn client_metadata() -> Value {
    json!({"vp_formats_supported": {FORMAT: {"sd-jwt_alg_values": ALGS, "kb-jwt_alg_values": ALGS}}})
}

/// The `response_uri` of an offline desk: `https://offline.invalid/<desk>`, where `<desk>` is
/// the host of an `http(s)://` client id (`hotel.example`), else empty. A `redirect_uri:` client
/// id that already names an offline URI keeps it.
pub fn offline_response_uri(client_id: &str) -> String {
    if let Some(uri) = client_id.strip_prefix("redirect_uri:") {
        if is_offline_uri(uri) {
            return uri.to_owned();
        }
    }
    let desk = client_id
        .strip_prefix("https://")
        .or_else(|| client_id.strip_prefix("http://"))
        .and_then(|rest| rest.split(['/', '?', '#', ':']).next())
        .filter(|host| {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        })
        .unwrap_or_default();
    format!("https://{OFFLINE_HOST}/{desk}")
}

/// Whether `uri` is an offline desk's `response_uri` (host [`OFFLINE_HOST`]).
pub fn is_offline_uri(uri: &str) -> bool {
    uri.strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| host.eq_ignore_ascii_case(OFFLINE_HOST))
}

/// Where the wallet sends its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// The wallet shows the answer (a QR code at a desk, offline). Written as
    /// `response_mode=direct_post` with the [`offline_response_uri`] of the client id; read
    /// also from the older form without `response_mode`.
    Shown,
    /// `response_mode=direct_post` to `response_uri` (section 8.2).
    DirectPost {
        /// The verifier's endpoint.
        response_uri: String,
    },
}

/// An OpenID4VP 1.0 authorization request passed by value (section 5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationRequest {
    /// `client_id`: the relying party; also the KB-JWT `aud` it expects.
    pub client_id: String,
    /// `nonce`: fresh, at least 128 bits of entropy; the KB-JWT must carry it.
    pub nonce: String,
    /// `dcql_query` (section 6).
    pub dcql_query: Value,
    /// `response_mode` and `response_uri`.
    pub response_mode: ResponseMode,
    /// `state`: `verifier request` and `verifier serve` always set one (a fresh random value);
    /// the answer echoes it.
    pub state: Option<String>,
}

/// Why a request URI could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not an `openid4vp://?...` URI.
    #[error("request is not an openid4vp:// uri")]
    Scheme,
    /// The query string is not form-urlencoded.
    #[error("request query is malformed")]
    MalformedQuery,
    /// A required parameter is missing or empty.
    #[error("request parameter {name} missing")]
    Missing {
        /// The parameter.
        name: &'static str,
    },
    /// A parameter has an unsupported or malformed value.
    #[error("request parameter {name} is invalid")]
    Invalid {
        /// The parameter.
        name: &'static str,
    },
}

impl RequestError {
    /// A stable snake_case name of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Scheme => "request_scheme",
            RequestError::MalformedQuery => "request_malformed",
            RequestError::Missing { .. } => "request_parameter_missing",
            RequestError::Invalid { .. } => "request_parameter_invalid",
        }
    }
}

/// A fresh nonce: 128 bits from `rng`, base64url without padding (22 characters).
pub fn new_nonce(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    credential::b64::encode(bytes)
}

/// A claim path as a DCQL `path` array (section 7): names are strings, indexes numbers, "any
/// element" is `null`.
pub fn path_to_json(path: &ClaimPath) -> Value {
    Value::Array(
        path.segments()
            .iter()
            .map(|s| match s {
                PathSegment::Key(k) => Value::String(k.clone()),
                PathSegment::Index(i) => Value::from(*i),
                // `AnyIndex` and any later kind of segment: "every element".
                _ => Value::Null,
            })
            .collect(),
    )
}

/// The DCQL query for a policy: one `dc+sd-jwt` credential with `meta.vct_values` from the
/// accepted types and one claims query per claim to request (section 6.1, 6.3; appendix B.3.5).
pub fn dcql_for_policy(policy: &Policy) -> Value {
    let claims: Vec<Value> = policy
        .request_claims()
        .iter()
        .map(|p| json!({"path": path_to_json(p)}))
        .collect();
    let mut query = Map::new();
    query.insert("id".into(), Value::String(policy.request.query_id.clone()));
    query.insert("format".into(), Value::String(FORMAT.into()));
    // Only the types the policy would accept at its minimum level.
    let vct_values: Vec<&String> = policy
        .accepted_types
        .iter()
        .filter(|t| Level::from_vct(t).map_or(true, |l| l >= policy.min_level))
        .collect();
    query.insert("meta".into(), json!({ "vct_values": vct_values }));
    // Said only when the policy accepts a presentation without a KB-JWT (section 6.1; the
    // default is true). Every citizen-ID profile keeps key binding.
    if !policy.key_binding {
        query.insert(
            "require_cryptographic_holder_binding".into(),
            Value::Bool(false),
        );
    }
    if !claims.is_empty() {
        query.insert("claims".into(), Value::Array(claims));
    }
    json!({"credentials": [Value::Object(query)]})
}

/// Whether the credential query `query_id` of a DCQL query requires a KB-JWT: `true` unless it
/// says `require_cryptographic_holder_binding: false` (section 6.1). With `None` (a bare
/// SD-JWT answer) the query must be the only one. An unknown id requires binding.
pub fn holder_binding_required(dcql_query: &Value, query_id: Option<&str>) -> bool {
    let Some(queries) = dcql_query.get("credentials").and_then(Value::as_array) else {
        return true;
    };
    let query = match query_id {
        Some(id) => queries
            .iter()
            .find(|q| q.get("id").and_then(Value::as_str) == Some(id)),
        None if queries.len() == 1 => queries.first(),
        None => None,
    };
    query
        .and_then(|q| q.get("require_cryptographic_holder_binding"))
        .and_then(Value::as_bool)
        != Some(false)
}

/// The credential query ids of a DCQL query.
pub fn query_ids(dcql_query: &Value) -> Vec<String> {
    dcql_query
        .get("credentials")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|q| q.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl PresentationRequest {
    /// A request for `policy`'s claims with this client id and nonce.
    pub fn for_policy(
        policy: &Policy,
        client_id: &str,
        nonce: &str,
        response_mode: ResponseMode,
    ) -> PresentationRequest {
        PresentationRequest {
            client_id: client_id.to_owned(),
            nonce: nonce.to_owned(),
            dcql_query: dcql_for_policy(policy),
            response_mode,
            state: None,
        }
    }

    /// The `response_uri` the request names: the online endpoint, or for [`ResponseMode::Shown`]
    /// the [`offline_response_uri`] of the client id.
    pub fn response_uri(&self) -> String {
        match &self.response_mode {
            ResponseMode::DirectPost { response_uri } => response_uri.clone(),
            ResponseMode::Shown => offline_response_uri(&self.client_id),
        }
    }

    /// The request's parameters as JSON values, in the order they are written.
    fn parameters(&self) -> Vec<(&'static str, Value)> {
        let mut params = vec![
            ("client_id", json!(self.client_id)),
            ("response_type", json!("vp_token")),
            ("response_mode", json!("direct_post")),
            ("response_uri", json!(self.response_uri())),
            ("nonce", json!(self.nonce)),
            ("dcql_query", self.dcql_query.clone()),
            ("client_metadata", client_metadata()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", json!(state)));
        }
        params
    }

    /// The request by value as `openid4vp://?client_id=..&response_type=vp_token&
    /// response_mode=direct_post&response_uri=..&nonce=..&dcql_query=..&client_metadata=..
    /// [&state=..]` (parameters form-urlencoded; JSON values compact).
    pub fn to_uri(&self) -> String {
        let pairs: Vec<(&str, String)> = self
            .parameters()
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(s) => (name, s),
                other => (name, other.to_string()),
            })
            .collect();
        // Serializing a list of string pairs cannot fail.
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{SCHEME}?{query}")
    }

    /// The signed request object (JAR, RFC 9101; OpenID4VP 1.0 section 5): a JWT with `typ:
    /// oauth-authz-req+jwt`, `kid` = the `did:jwk` verification method, carrying every
    /// parameter plus `aud` ([`SELF_ISSUED_AUD`]), `iat` and `exp` (`iat` + `validity`).
    /// `client_id` should be [`did_jwk_client_id`] of `key`.
    pub fn to_request_object(&self, key: &SigningKey, iat: i64, validity: i64) -> String {
        self.to_request_object_for(key, iat, validity, None)
    }

    /// [`PresentationRequest::to_request_object`] for a wallet that posted its `wallet_nonce`
    /// to the request URI (`request_uri_method=post`, section 5.10): the object carries it.
    pub fn to_request_object_for(
        &self,
        key: &SigningKey,
        iat: i64,
        validity: i64,
        wallet_nonce: Option<&str>,
    ) -> String {
        let mut payload = Map::new();
        for (name, value) in self.parameters() {
            payload.insert(name.into(), value);
        }
        if let Some(nonce) = wallet_nonce {
            payload.insert("wallet_nonce".into(), json!(nonce));
        }
        payload.insert("aud".into(), json!(SELF_ISSUED_AUD));
        payload.insert("iat".into(), json!(iat));
        payload.insert("exp".into(), json!(iat + validity));
        let did = self
            .client_id
            .strip_prefix("decentralized_identifier:")
            .unwrap_or(&self.client_id);
        let mut header = Map::new();
        header.insert("typ".into(), json!(REQUEST_OBJECT_TYP));
        header.insert("kid".into(), json!(format!("{did}#0")));
        sign_compact(header, Value::Object(payload).to_string().as_bytes(), key)
    }

    /// The request as a signed request object passed by value:
    /// `openid4vp://?client_id=..&request=<JWT>` ([`PresentationRequest::to_request_object`]).
    pub fn to_signed_uri(&self, key: &SigningKey, iat: i64, validity: i64) -> String {
        let jwt = self.to_request_object(key, iat, validity);
        // Serializing a list of string pairs cannot fail.
        let query = serde_urlencoded::to_string([
            ("client_id", self.client_id.as_str()),
            ("request", jwt.as_str()),
        ])
        .unwrap_or_default();
        format!("{SCHEME}?{query}")
    }

    /// The request passed by reference (OpenID4VP 1.0 section 5.10; RFC 9101):
    /// `openid4vp://?client_id=..&request_uri=..`; the wallet fetches the request object (from
    /// [`PresentationRequest::to_request_object`]) with `GET`, or, with `post`
    /// (`&request_uri_method=post`), may post its metadata and `wallet_nonce` there instead.
    pub fn to_reference_uri(&self, request_uri: &str, post: bool) -> String {
        let mut pairs = vec![
            ("client_id", self.client_id.as_str()),
            ("request_uri", request_uri),
        ];
        if post {
            pairs.push(("request_uri_method", "post"));
        }
        // Serializing a list of string pairs cannot fail.
        let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
        format!("{SCHEME}?{query}")
    }

    /// Reads a request URI back (the wallet's side of [`PresentationRequest::to_uri`]).
    ///
    /// # Errors
    /// [`RequestError`] naming the first problem.
    pub fn from_uri(uri: &str) -> Result<PresentationRequest, RequestError> {
        let query = uri
            .trim()
            .strip_prefix(SCHEME)
            .ok_or(RequestError::Scheme)?;
        let query = query.trim_start_matches('/');
        let query = query.strip_prefix('?').ok_or(RequestError::Scheme)?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| RequestError::MalformedQuery)?;
        let get = |name: &'static str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(RequestError::Missing { name });
        if required("response_type")? != "vp_token" {
            return Err(RequestError::Invalid {
                name: "response_type",
            });
        }
        let dcql_query: Value = serde_json::from_str(required("dcql_query")?)
            .ok()
            .filter(Value::is_object)
            .ok_or(RequestError::Invalid { name: "dcql_query" })?;
        let response_mode = match get("response_mode") {
            None => ResponseMode::Shown,
            Some("direct_post") => match required("response_uri")? {
                uri if is_offline_uri(uri) => ResponseMode::Shown,
                uri => ResponseMode::DirectPost {
                    response_uri: uri.to_owned(),
                },
            },
            Some(_) => {
                return Err(RequestError::Invalid {
                    name: "response_mode",
                })
            }
        };
        Ok(PresentationRequest {
            client_id: required("client_id")?.to_owned(),
            nonce: required("nonce")?.to_owned(),
            dcql_query,
            response_mode,
            state: get("state").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;

    use super::*;

    const HOTEL: &str = include_str!("../profiles/hotel.toml");
    const BANK: &str = include_str!("../profiles/bank.toml");

    #[test]
    fn nonces_are_128_bits_and_differ() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let a = new_nonce(&mut rng);
        let b = new_nonce(&mut rng);
        assert_eq!(a.len(), 22);
        assert_eq!(credential::b64::decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    #[test]
    fn hotel_dcql_asks_for_its_required_claims() {
        let policy = Policy::from_toml(HOTEL).unwrap();
        let q = dcql_for_policy(&policy);
        let cred = &q["credentials"][0];
        assert_eq!(cred["id"], DEFAULT_QUERY_ID);
        assert_eq!(cred["format"], "dc+sd-jwt");
        assert_eq!(
            cred["meta"]["vct_values"],
            json!(["urn:cn:citizen-id:basic:1", "urn:cn:citizen-id:high:1"])
        );
        assert_eq!(
            cred["claims"],
            json!([{"path": ["family_name"]}, {"path": ["given_name"]}, {"path": ["id_number"]}])
        );
    }

    #[test]
    fn bank_dcql_asks_only_for_high() {
        let policy = Policy::from_toml(BANK).unwrap();
        let q = dcql_for_policy(&policy);
        let cred = &q["credentials"][0];
        assert_eq!(
            cred["meta"]["vct_values"],
            json!(["urn:cn:citizen-id:high:1"])
        );
        assert!(cred["claims"]
            .as_array()
            .unwrap()
            .contains(&json!({"path": ["address"]})));
    }

    #[test]
    fn holder_binding_is_required_unless_the_query_says_false() {
        let mut policy = Policy::from_toml(HOTEL).unwrap();
        let bound = dcql_for_policy(&policy);
        assert!(bound["credentials"][0]
            .get("require_cryptographic_holder_binding")
            .is_none());
        assert!(holder_binding_required(&bound, Some(DEFAULT_QUERY_ID)));
        assert!(holder_binding_required(&bound, None));
        policy.key_binding = false;
        let unbound = dcql_for_policy(&policy);
        assert_eq!(
            unbound["credentials"][0]["require_cryptographic_holder_binding"],
            json!(false)
        );
        assert!(!holder_binding_required(&unbound, Some(DEFAULT_QUERY_ID)));
        assert!(!holder_binding_required(&unbound, None));
        // An unknown query, an ambiguous bare answer, a non-boolean: binding required.
        assert!(holder_binding_required(&unbound, Some("other")));
        let two = json!({"credentials": [
            {"id": "a", "require_cryptographic_holder_binding": false},
            {"id": "b", "require_cryptographic_holder_binding": false}]});
        assert!(holder_binding_required(&two, None));
        assert!(!holder_binding_required(&two, Some("b")));
        let odd =
            json!({"credentials": [{"id": "a", "require_cryptographic_holder_binding": "no"}]});
        assert!(holder_binding_required(&odd, Some("a")));
    }

    #[test]
    fn signed_request_object_has_the_jar_shape() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let key = SigningKey::generate(credential::jose::Alg::Es256, &mut rng);
        let policy = Policy::from_toml(HOTEL).unwrap();
        let client_id = did_jwk_client_id(key.public_jwk());
        let req = PresentationRequest::for_policy(&policy, &client_id, "n-1", ResponseMode::Shown);
        let uri = req.to_signed_uri(&key, 1_000, 600);
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(uri.strip_prefix("openid4vp://?").unwrap()).unwrap();
        assert_eq!(pairs[0], ("client_id".to_owned(), client_id.clone()));
        assert_eq!(pairs[1].0, "request");
        let jws = credential::jose::Jws::parse(&pairs[1].1).unwrap();
        jws.verify(key.public_jwk()).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some(REQUEST_OBJECT_TYP));
        let did = client_id.strip_prefix("decentralized_identifier:").unwrap();
        assert_eq!(
            jws.header().kid.as_deref(),
            Some(format!("{did}#0").as_str())
        );
        let claims = jws.payload_object().unwrap();
        assert_eq!(claims["client_id"], json!(client_id));
        assert_eq!(claims["aud"], json!(SELF_ISSUED_AUD));
        assert_eq!(claims["exp"], json!(1_600));
        assert_eq!(claims["dcql_query"], req.dcql_query);
        // The offline desk inside 1.0: direct_post to an offline.invalid response uri.
        assert_eq!(claims["response_mode"], json!("direct_post"));
        assert_eq!(claims["response_uri"], json!("https://offline.invalid/"));
        assert_eq!(claims["client_metadata"], client_metadata());
        // The DID holds exactly the public key.
        let jwk = credential::b64::decode(did.strip_prefix("did:jwk:").unwrap()).unwrap();
        let jwk: Value = serde_json::from_slice(&jwk).unwrap();
        assert_eq!(jwk, key.public_jwk().to_bare_value());
        assert_eq!(
            redirect_uri_client_id("https://hotel.example/vp"),
            "redirect_uri:https://hotel.example/vp"
        );
    }

    #[test]
    fn request_uri_round_trips() {
        let policy = Policy::from_toml(HOTEL).unwrap();
        for mode in [
            ResponseMode::Shown,
            ResponseMode::DirectPost {
                response_uri: "https://hotel.example/answers?x=1&y=2".into(),
            },
        ] {
            let req =
                PresentationRequest::for_policy(&policy, "https://hotel.example", "n-1+/=", mode);
            let uri = req.to_uri();
            assert!(uri.starts_with(
                "openid4vp://?client_id=https%3A%2F%2Fhotel.example&response_type=vp_token\
                 &response_mode=direct_post&response_uri=https%3A%2F%2F"
            ));
            assert_eq!(PresentationRequest::from_uri(&uri).unwrap(), req);
        }
    }

    #[test]
    fn every_request_has_the_parameters_a_1_0_wallet_requires() {
        let policy = Policy::from_toml(HOTEL).unwrap();
        let client_id = redirect_uri_client_id(&offline_response_uri("https://hotel.example"));
        assert_eq!(
            client_id,
            "redirect_uri:https://offline.invalid/hotel.example"
        );
        let mut req =
            PresentationRequest::for_policy(&policy, &client_id, "n-1", ResponseMode::Shown);
        req.state = Some("s-1".into());
        let uri = req.to_uri();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(uri.strip_prefix("openid4vp://?").unwrap()).unwrap();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("response_mode"), Some("direct_post"));
        // An unsigned redirect_uri: client id equals the response_uri (section 5.9.3).
        assert_eq!(
            get("response_uri"),
            Some("https://offline.invalid/hotel.example")
        );
        assert_eq!(get("state"), Some("s-1"));
        let metadata: Value = serde_json::from_str(get("client_metadata").unwrap()).unwrap();
        assert_eq!(
            metadata["vp_formats_supported"]["dc+sd-jwt"]["kb-jwt_alg_values"],
            json!(["ES256", "EdDSA"])
        );
        assert_eq!(PresentationRequest::from_uri(&uri).unwrap(), req);
    }

    #[test]
    fn offline_response_uris_name_the_desk_under_a_name_that_never_resolves() {
        assert_eq!(
            offline_response_uri("https://hotel.example/desk?x=1"),
            "https://offline.invalid/hotel.example"
        );
        assert_eq!(
            offline_response_uri("decentralized_identifier:did:jwk:eyJ"),
            "https://offline.invalid/"
        );
        assert_eq!(
            offline_response_uri("redirect_uri:https://offline.invalid/bank.example"),
            "https://offline.invalid/bank.example"
        );
        assert!(is_offline_uri("https://OFFLINE.invalid/x"));
        assert!(!is_offline_uri("https://offline.invalid.example/x"));
        assert!(!is_offline_uri("http://offline.invalid/x"));
        // The older form without response_mode is still read as shown.
        let old = "openid4vp://?client_id=a&response_type=vp_token&nonce=n&dcql_query=%7B%7D";
        assert_eq!(
            PresentationRequest::from_uri(old).unwrap().response_mode,
            ResponseMode::Shown
        );
    }

    #[test]
    fn a_request_by_reference_names_only_client_id_and_request_uri() {
        let policy = Policy::from_toml(BANK).unwrap();
        let req = PresentationRequest::for_policy(&policy, "c", "n", ResponseMode::Shown);
        assert_eq!(
            req.to_reference_uri("https://bank.example/requests/1", false),
            "openid4vp://?client_id=c&request_uri=https%3A%2F%2Fbank.example%2Frequests%2F1"
        );
        assert!(req
            .to_reference_uri("https://bank.example/requests/1", true)
            .ends_with("&request_uri_method=post"));
    }

    #[test]
    fn malformed_requests_are_named() {
        assert_eq!(
            PresentationRequest::from_uri("https://x?client_id=a"),
            Err(RequestError::Scheme)
        );
        assert_eq!(
            PresentationRequest::from_uri(
                "openid4vp://?client_id=a&response_type=vp_token&dcql_query=%7B%7D"
            ),
            Err(RequestError::Missing { name: "nonce" })
        );
        assert_eq!(
            PresentationRequest::from_uri(
                "openid4vp://?client_id=a&response_type=code&nonce=n&dcql_query=%7B%7D"
            ),
            Err(RequestError::Invalid {
                name: "response_type"
            })
        );
        assert_eq!(
            PresentationRequest::from_uri(
                "openid4vp://?client_id=a&response_type=vp_token&nonce=n&dcql_query=%5B%5D"
            ),
            Err(RequestError::Invalid { name: "dcql_query" })
        );
    }
}
