//! Making a presentation: selecting disclosures and binding them to the verifier's nonce.

use credential::jose::{PublicJwk, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdAlg, SdJwt, VerifyError};

/// Why a presentation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The stored credential does not parse or its disclosures do not process.
    #[error("credential: {0}")]
    Credential(#[from] VerifyError),
    /// The credential carries no holder key (`cnf.jwk`), so it cannot be key-bound.
    #[error("credential has no holder key (cnf.jwk)")]
    NoHolderKey,
    /// The given holder key is not the credential's `cnf` key.
    #[error("holder key does not match the credential's cnf key")]
    WrongHolderKey,
    /// A key-bound presentation was completed without its KB-JWT signature.
    #[error("a key binding was not signed")]
    Unsigned,
    /// A requested claim is not in the credential.
    #[error("claim {path} is not in the credential")]
    ClaimNotFound {
        /// The claim path.
        path: String,
    },
}

/// Presents `credential` disclosing the claims at `disclose` (and what lies beneath them),
/// with a KB-JWT signed by `holder_key` for `nonce` and `aud` at time `iat`.
///
/// # Errors
/// [`PresentError`] when the credential is malformed, the key is not its holder key, or a
/// requested claim is absent.
pub fn present(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
    nonce: &str,
    aud: &str,
    iat: i64,
) -> Result<String, PresentError> {
    let selected = select(credential, holder_key, disclose)?;
    Ok(add_key_binding(&selected, holder_key, nonce, aud, iat))
}

/// Presents `credential` disclosing the claims at `disclose`, without a KB-JWT (`<jwt>~<d>~`),
/// for a credential query with `require_cryptographic_holder_binding: false`. Anyone holding
/// the result can show it again; prefer [`present`].
///
/// # Errors
/// As [`present`].
pub fn present_unbound(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
) -> Result<String, PresentError> {
    select(credential, holder_key, disclose)
}

fn select(
    credential: &str,
    holder_key: &SigningKey,
    disclose: &[ClaimPath],
) -> Result<String, PresentError> {
    let (selected, cnf) = select_disclosures(credential, disclose)?;
    if &cnf != holder_key.public_jwk() {
        return Err(PresentError::WrongHolderKey);
    }
    Ok(selected)
}

/// The credential with only the disclosures of `disclose` (and what lies beneath them), and
/// its holder key (`cnf.jwk`).
pub(crate) fn select_disclosures(
    credential: &str,
    disclose: &[ClaimPath],
) -> Result<(String, PublicJwk), PresentError> {
    let sd_jwt = SdJwt::parse(credential, &Limits::default())?;
    let view = sd_jwt.holder_view()?;
    let cnf = view
        .claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .ok_or(PresentError::NoHolderKey)?;
    let cnf = PublicJwk::from_value(cnf).map_err(|_| PresentError::NoHolderKey)?;
    let all = serde_json::Value::Object(view.claims.clone());
    for path in disclose {
        if path.lookup(&all).is_empty() {
            return Err(PresentError::ClaimNotFound {
                path: path.to_string(),
            });
        }
    }
    Ok((sd_jwt.select(disclose)?, cnf))
}

/// The KB-JWT (RFC 9901 section 4.3) over `presentation` for `nonce` and `aud` at `iat`,
/// waiting for the holder key's signature.
pub(crate) fn key_binding(
    presentation: &str,
    handle: KeyHandle,
    alg: credential::jose::Alg,
    nonce: &str,
    aud: &str,
    iat: i64,
) -> ToSign {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String("kb+jwt".into()));
    let claims = serde_json::json!({
        "iat": iat,
        "aud": aud,
        "nonce": nonce,
        "sd_hash": SdAlg::Sha256.digest(presentation),
    });
    ToSign::new(handle, alg, header, claims.to_string().as_bytes())
}

// ---------------------------------------------------------------------------------------------
// OpenID4VP 1.0: requests, answers and direct_post.

/// The public key a `did:jwk` DID holds (`did:jwk:<base64url of a JWK>`), or `None`.
fn did_jwk_key(did: &str) -> Option<PublicJwk> {
    let encoded = did.strip_prefix("did:jwk:")?;
    if encoded.len() > 1024 {
        return None;
    }
    let bytes = credential::b64::decode(encoded).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    // A private key in a DID would be a mistake the wallet does not build on.
    if value.get("d").is_some() {
        return None;
    }
    credential::jose::PublicJwk::from_value(&value).ok()
}

use serde_json::{Map, Value};

use crate::dcql::{DcqlError, DcqlQuery};
use crate::signer::{KeyHandle, SignerError, ToSign};
use crate::store::StoreError;
use crate::transport::{checked_exchange, ExchangeError, Expect, HttpRequest, Transport};

/// The largest request text (URI or fetched request object) accepted.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Where the answer goes (OpenID4VP 1.0 section 8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// `direct_post`: form POST to `response_uri`.
    DirectPost {
        /// The verifier's endpoint.
        response_uri: String,
    },
    /// The answer is shown (a QR code) for a verifier offline: `direct_post` to an
    /// [`OFFLINE_HOST`] `response_uri`, or (the older form) no `response_mode`.
    Offline,
}

/// The host of an offline desk's `response_uri` (`https://offline.invalid/<desk>`): a name
/// under `.invalid`, which never resolves (RFC 6761). A `direct_post` request naming it is
/// answered offline: the answer is shown as a QR code, never posted.
pub const OFFLINE_HOST: &str = "offline.invalid";

/// Whether `uri` is an offline desk's `response_uri` (`https://` and host [`OFFLINE_HOST`]).
pub fn is_offline_uri(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(OFFLINE_HOST))
    })
}

/// Who asks, as the consent screen names them: the `response_uri` the answer goes to for a
/// `redirect_uri:` client, the DID of a signed request, the name an offline desk gives itself
/// (`redirect_uri:https://offline.invalid/<name>`: not verified), else the `client_id` as sent.
pub fn asker_name(client_id: &str, identity: &ClientIdentity) -> String {
    match identity {
        ClientIdentity::RedirectUri { uri } => uri.clone(),
        ClientIdentity::Did { did, .. } => did.clone(),
        ClientIdentity::Unverified => client_id
            .strip_prefix("redirect_uri:")
            .filter(|uri| is_offline_uri(uri))
            .and_then(|uri| url::Url::parse(uri).ok())
            .map(|u| u.path().trim_matches('/').to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| client_id.to_owned()),
    }
}

/// The `typ` a signed request object must carry (OpenID4VP 1.0 section 5; RFC 9101).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// How far past a signed request's `exp` the wallet still answers, for clocks that disagree.
pub const REQUEST_CLOCK_SKEW: i64 = 60;

/// The `aud` a request object may carry for a wallet found by static discovery (section 5.8).
pub const SELF_ISSUED_AUD: &str = "https://self-issued.me/v2";

/// Who the verifier is, as far as the wallet could check (OpenID4VP 1.0 section 5.9), for the
/// consent screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientIdentity {
    /// An unsigned request: the client id is only what the request says.
    Unverified,
    /// `redirect_uri:` prefix (unsigned): the client id is the `response_uri` the answer is
    /// posted to, so whoever receives the answer is that URI's owner.
    RedirectUri {
        /// The response URI.
        uri: String,
    },
    /// A signed request (`decentralized_identifier:` prefix) whose signature verified with the
    /// key of this DID. For `did:jwk` the DID is the key: it proves the request comes from its
    /// holder, not who that is.
    Did {
        /// The DID (`did:jwk:...`).
        did: String,
        /// The RFC 7638 thumbprint of the key, short enough to compare by eye.
        key_thumbprint: String,
    },
}

/// An OpenID4VP authorization request (section 5) as this wallet accepts it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationRequest {
    /// The verifier's client id, prefix included; also the KB-JWT `aud`.
    pub client_id: String,
    /// What the wallet could verify about `client_id`.
    pub client_identity: ClientIdentity,
    /// The nonce for the KB-JWT.
    pub nonce: String,
    /// `state`, echoed in a `direct_post`.
    pub state: Option<String>,
    /// Where the answer goes.
    pub response_mode: ResponseMode,
    /// What is asked.
    pub dcql_query: DcqlQuery,
    /// `exp` of a signed request object (seconds since the epoch): [`crate::answer::answer`] refuses to
    /// answer after it. `None` for an unsigned request, which has no expiry of its own (its
    /// nonce is what the verifier expires).
    pub expires_at: Option<i64>,
}

/// Why a request could not be understood or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentationError {
    /// The request text is not an OpenID4VP request this wallet accepts.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// A signed request object (JAR) failed a check.
    #[error("request object: {reason}")]
    InvalidRequestObject {
        /// Which check failed.
        reason: &'static str,
    },
    /// The client id's prefix names a way to authenticate the verifier this wallet does not
    /// implement (X.509, OpenID Federation, verifier attestations, DID methods other than
    /// `did:jwk`, pre-registration).
    #[error("client id prefix {prefix} is not supported for signed requests")]
    UnsupportedClientIdPrefix {
        /// The prefix (`x509_hash`, `decentralized_identifier:did:web`, `pre-registered`, ...).
        prefix: String,
    },
    /// The DCQL query is invalid.
    #[error(transparent)]
    Dcql(#[from] DcqlError),
    /// The request carries `transaction_data`, which this wallet does not support: OpenID4VP
    /// 1.0 section 5.1 says such a wallet must refuse the request rather than answer without
    /// the transaction's authorization.
    #[error("the request carries transaction_data, which this wallet does not support")]
    TransactionDataUnsupported,
    /// `request_uri` returned a plain JSON object: a request fetched by reference must be a
    /// signed request object (`typ: oauth-authz-req+jwt`; RFC 9101, OpenID4VP 1.0 section 5).
    #[error("request_uri returned an unsigned request object; only signed ones (oauth-authz-req+jwt) are accepted by reference")]
    UnsignedRequestObject,
    /// `request_uri` or `response_uri` is not `https://` (plain `http://` only on loopback;
    /// [`crate::transport`]). Nothing was sent to it.
    #[error("{endpoint} {origin} is not https (plain http is accepted only on loopback)")]
    InsecureUrl {
        /// `request_uri` or `response_uri`.
        endpoint: &'static str,
        /// Its origin (`scheme://host[:port]`), without path or query.
        origin: String,
    },
    /// `request_uri` or `response_uri` answered with a redirect, which the wallet does not
    /// follow (OpenID4VP 1.0 section 8.2: a wallet should not follow a redirect of its
    /// `direct_post`); the answer was not re-sent.
    #[error("{endpoint} answered a redirect (http {status}); the wallet follows none")]
    Redirected {
        /// `request_uri` or `response_uri`.
        endpoint: &'static str,
        /// The HTTP status (3xx).
        status: u16,
    },
    /// The signed request object's `exp` has passed: the verifier no longer waits for this
    /// answer, and a stale request may be a replayed one.
    #[error("the request expired at {expired_at}; ask the verifier for a new one")]
    RequestExpired {
        /// The request's `exp`.
        expired_at: i64,
    },
    /// Every copy of a credential was shown before and the host did not allow reuse.
    #[error("every copy of credential {batch_id} was shown before; refresh it or allow reuse")]
    AllCopiesShown {
        /// The batch.
        batch_id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Making the presentation failed.
    #[error(transparent)]
    Present(#[from] PresentError),
    /// The holder-key signer failed.
    #[error("holder key: {0}")]
    Signer(#[from] SignerError),
    /// The network failed, or `request_uri` answered an error.
    #[error("{endpoint}: {reason}")]
    Http {
        /// `request_uri` or `response_uri`.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The verifier's `response_uri` refused the answer.
    #[error("verifier refused the answer: http {status}{}", error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The `error` code, when the body had one.
        error: Option<String>,
    },
}

pub(crate) fn invalid(reason: impl Into<String>) -> PresentationError {
    PresentationError::InvalidRequest {
        reason: reason.into(),
    }
}

/// A request URI's content: the request, or where to fetch it.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestRef {
    /// Parameters by value.
    ByValue(Box<AuthorizationRequest>),
    /// `request_uri` (section 5.7; JAR RFC 9101).
    ByReference {
        /// `client_id` given beside `request_uri`, which the request object must repeat.
        client_id: Option<String>,
        /// Where to fetch the request object.
        request_uri: String,
    },
}

impl AuthorizationRequest {
    /// Builds a request from its parameters (by value, or a fetched JSON request object).
    ///
    /// # Errors
    /// [`PresentationError::InvalidRequest`], [`PresentationError::Dcql`].
    pub fn from_params(
        params: &Map<String, Value>,
    ) -> Result<AuthorizationRequest, PresentationError> {
        let text = |name: &str| -> Result<Option<String>, PresentationError> {
            match params.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("{name} is not a string"))),
            }
        };
        if params.contains_key("transaction_data") {
            return Err(PresentationError::TransactionDataUnsupported);
        }
        let client_id = text("client_id")?.ok_or_else(|| invalid("no client_id"))?;
        let nonce = text("nonce")?.ok_or_else(|| invalid("no nonce"))?;
        if client_id.is_empty() || nonce.is_empty() {
            return Err(invalid("empty client_id or nonce"));
        }
        match text("response_type")?.as_deref() {
            Some("vp_token") => {}
            Some(_) => return Err(invalid("response_type is not vp_token")),
            None => return Err(invalid("no response_type")),
        }
        // The older form of this project's desks names no response_mode: shown offline.
        let response_uri = text("response_uri")?;
        let response_mode = match text("response_mode")?.as_deref() {
            None => ResponseMode::Offline,
            Some("direct_post") => {
                let uri = response_uri
                    .clone()
                    .ok_or_else(|| invalid("direct_post without response_uri"))?;
                if is_offline_uri(&uri) {
                    ResponseMode::Offline
                } else {
                    crate::transport::check_url(&uri).map_err(|origin| {
                        PresentationError::InsecureUrl {
                            endpoint: "response_uri",
                            origin,
                        }
                    })?;
                    ResponseMode::DirectPost { response_uri: uri }
                }
            }
            Some(_) => return Err(invalid("unsupported response_mode")),
        };
        let dcql_query = match params.get("dcql_query") {
            Some(Value::String(s)) => DcqlQuery::from_json(s)?,
            Some(v @ Value::Object(_)) => DcqlQuery::from_value(v)?,
            Some(_) => return Err(invalid("dcql_query is not an object")),
            None => {
                return Err(if params.contains_key("presentation_definition") {
                    invalid("presentation_definition is not supported; use dcql_query")
                } else {
                    invalid("no dcql_query")
                })
            }
        };
        let client_identity = match client_id.strip_prefix("redirect_uri:") {
            Some(uri) => match &response_uri {
                // Offline, the answer is shown to whoever scans it, not sent to that address:
                // nothing about the verifier is verified.
                Some(response_uri)
                    if response_uri == uri
                        && response_mode == ResponseMode::Offline
                        && text("response_mode")?.is_some() =>
                {
                    ClientIdentity::Unverified
                }
                Some(response_uri) if response_uri == uri && text("response_mode")?.is_some() => {
                    ClientIdentity::RedirectUri {
                        uri: uri.to_owned(),
                    }
                }
                _ => {
                    return Err(invalid(
                        "a redirect_uri client id must equal the response_uri",
                    ))
                }
            },
            None => ClientIdentity::Unverified,
        };
        Ok(AuthorizationRequest {
            client_id,
            client_identity,
            nonce,
            state: text("state")?,
            response_mode,
            dcql_query,
            expires_at: None,
        })
    }

    /// Parses `openid4vp://?...` (any authority/path, or `https://...?` with the same query).
    ///
    /// # Errors
    /// [`PresentationError::InvalidRequest`], [`PresentationError::Dcql`].
    pub fn parse_uri(uri: &str) -> Result<RequestRef, PresentationError> {
        let uri = uri.trim();
        if uri.len() > MAX_REQUEST_BYTES {
            return Err(invalid("request is too large"));
        }
        let known = [
            "openid4vp://",
            "https://",
            "http://",
            "haip://",
            "mdoc-openid4vp://",
        ];
        if !known.iter().any(|s| uri.starts_with(s)) {
            return Err(invalid("scheme is not openid4vp"));
        }
        let query = uri
            .split_once('?')
            .map(|(_, q)| q)
            .ok_or_else(|| invalid("no query"))?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| invalid("query is not form-encoded"))?;
        let mut params = Map::new();
        for (k, v) in pairs {
            if params.insert(k.clone(), Value::String(v)).is_some() {
                return Err(invalid(format!("{k} given twice")));
            }
        }
        if let Some(Value::String(request_uri)) = params.get("request_uri") {
            crate::transport::check_url(request_uri).map_err(|origin| {
                PresentationError::InsecureUrl {
                    endpoint: "request_uri",
                    origin,
                }
            })?;
            return Ok(RequestRef::ByReference {
                client_id: params
                    .get("client_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                request_uri: request_uri.clone(),
            });
        }
        if let Some(Value::String(jwt)) = params.get("request") {
            let outer = params.get("client_id").and_then(Value::as_str);
            return Ok(RequestRef::ByValue(Box::new(
                AuthorizationRequest::from_request_object(jwt, outer)?,
            )));
        }
        Ok(RequestRef::ByValue(Box::new(
            AuthorizationRequest::from_params(&params)?,
        )))
    }

    /// Verifies a signed request object (JAR, RFC 9101; OpenID4VP 1.0 section 5) and builds the
    /// request from its claims. `outer_client_id` is the `client_id` given beside it, which
    /// must be present and equal the object's.
    ///
    /// Checks: size; compact JWS with an allowed `alg` (ES256, EdDSA; anything else does not
    /// parse); `typ` exactly `oauth-authz-req+jwt`; `client_id` equal inside and out; the
    /// prefix `decentralized_identifier:did:jwk:` (the key is read from the DID, offline; `kid`,
    /// when present, must be its `#0` method); the signature; `aud`, when present,
    /// [`SELF_ISSUED_AUD`]. Other prefixes are [`PresentationError::UnsupportedClientIdPrefix`];
    /// `redirect_uri:` may not sign.
    ///
    /// # Errors
    /// [`PresentationError::InvalidRequestObject`] naming the check,
    /// [`PresentationError::UnsupportedClientIdPrefix`], and the errors of the parameters.
    pub fn from_request_object(
        jwt: &str,
        outer_client_id: Option<&str>,
    ) -> Result<AuthorizationRequest, PresentationError> {
        let bad = |reason| PresentationError::InvalidRequestObject { reason };
        if jwt.len() > MAX_REQUEST_BYTES {
            return Err(invalid("request is too large"));
        }
        let jws = credential::jose::Jws::parse(jwt.trim())
            .map_err(|_| bad("not a JWS with an allowed alg"))?;
        if jws.header().typ.as_deref() != Some(REQUEST_OBJECT_TYP) {
            return Err(bad("typ must be oauth-authz-req+jwt"));
        }
        let claims = jws
            .payload_object()
            .map_err(|_| bad("payload is not a JSON object"))?;
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or(bad("no client_id"))?;
        match outer_client_id {
            Some(outer) if outer == client_id => {}
            Some(_) => return Err(bad("client_id differs from the one beside the request")),
            None => return Err(bad("client_id must be given beside the request")),
        }
        let did = match client_id.split_once(':') {
            Some(("decentralized_identifier", did)) if did.starts_with("did:jwk:") => did,
            Some(("decentralized_identifier", did)) => {
                let method = did.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
                return Err(PresentationError::UnsupportedClientIdPrefix {
                    prefix: format!("decentralized_identifier:{method}"),
                });
            }
            Some(("redirect_uri", _)) => return Err(bad("a redirect_uri client id cannot sign")),
            Some((
                prefix @ ("x509_san_dns"
                | "x509_hash"
                | "verifier_attestation"
                | "openid_federation"
                | "origin"),
                _,
            )) => {
                return Err(PresentationError::UnsupportedClientIdPrefix {
                    prefix: prefix.to_owned(),
                })
            }
            _ => {
                return Err(PresentationError::UnsupportedClientIdPrefix {
                    prefix: "pre-registered".into(),
                })
            }
        };
        let key = did_jwk_key(did).ok_or(bad("did:jwk does not hold a public key"))?;
        if let Some(kid) = &jws.header().kid {
            if *kid != format!("{did}#0") {
                return Err(bad("kid is not the did:jwk verification method"));
            }
        }
        jws.verify(&key)
            .map_err(|_| bad("signature does not verify"))?;
        let aud_ok = match claims.get("aud") {
            None => true,
            Some(Value::String(a)) => a == SELF_ISSUED_AUD,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(SELF_ISSUED_AUD)),
            Some(_) => false,
        };
        if !aud_ok {
            return Err(bad("aud is not https://self-issued.me/v2"));
        }
        let expires_at = match claims.get("exp") {
            None => None,
            Some(exp) => Some(exp.as_i64().ok_or(bad("exp is not a number of seconds"))?),
        };
        let mut request = AuthorizationRequest::from_params(&claims)?;
        request.expires_at = expires_at;
        request.client_identity = ClientIdentity::Did {
            did: did.to_owned(),
            key_thumbprint: key.thumbprint().to_owned(),
        };
        Ok(request)
    }
}

/// Parses a request URI and fetches the request object when it is by reference. A fetched
/// request object must be signed (`typ: oauth-authz-req+jwt`, verified by
/// [`AuthorizationRequest::from_request_object`]): a plain JSON object is
/// [`PresentationError::UnsignedRequestObject`]. An unsigned request (the `redirect_uri:`
/// prefix, which may not sign) comes by value.
///
/// # Errors
/// [`PresentationError`]; [`PresentationError::InsecureUrl`] for a plain-http `request_uri`
/// off loopback, [`PresentationError::Redirected`] for a redirect.
pub async fn resolve_request<T: Transport>(
    http: &T,
    uri: &str,
) -> Result<AuthorizationRequest, PresentationError> {
    match AuthorizationRequest::parse_uri(uri)? {
        RequestRef::ByValue(r) => Ok(*r),
        RequestRef::ByReference {
            client_id,
            request_uri,
        } => {
            let http_err = |reason: String| PresentationError::Http {
                endpoint: "request_uri".into(),
                reason,
            };
            let request = HttpRequest::get(&request_uri).expecting(Expect::RequestObject);
            let (response, _) = checked_exchange(http, request)
                .await
                .map_err(|e| exchange_error("request_uri", e))?;
            if !(200..300).contains(&response.status) {
                return Err(http_err(format!("http status {}", response.status)));
            }
            let json_typed = response
                .header("content-type")
                .is_some_and(|t| Expect::Json.accepts(t));
            let body = response.body;
            if body.len() > MAX_REQUEST_BYTES {
                return Err(invalid("request object is too large"));
            }
            let text =
                String::from_utf8(body).map_err(|_| invalid("request object is not utf-8"))?;
            let text = text.trim();
            if text.starts_with('{') || json_typed {
                return Err(PresentationError::UnsignedRequestObject);
            }
            AuthorizationRequest::from_request_object(text, client_id.as_deref())
        }
    }
}

/// The transport rules' refusals as this protocol's errors.
pub(crate) fn exchange_error(endpoint: &'static str, e: ExchangeError) -> PresentationError {
    match e {
        ExchangeError::Insecure(origin) => PresentationError::InsecureUrl { endpoint, origin },
        ExchangeError::Redirected(status) => PresentationError::Redirected { endpoint, status },
        ExchangeError::Transport { reason, .. } => PresentationError::Http {
            endpoint: endpoint.into(),
            reason,
        },
    }
}

#[cfg(test)]
mod offline_profile_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A request with these parameters besides `response_type`, `nonce` and a DCQL query.
    fn parse(pairs: &[(&str, &str)]) -> Result<AuthorizationRequest, PresentationError> {
        let mut p = Map::new();
        for (k, v) in [("response_type", "vp_token"), ("nonce", "n")]
            .iter()
            .chain(pairs)
        {
            p.insert((*k).into(), Value::String((*v).into()));
        }
        p.insert(
            "dcql_query".into(),
            serde_json::json!({"credentials": [{"id": "q", "format": "dc+sd-jwt",
                "meta": {"vct_values": ["urn:cn:citizen-id:basic:1"]}}]}),
        );
        AuthorizationRequest::from_params(&p)
    }

    /// An unsigned `direct_post` request to `uri` with the client id `redirect_uri:<uri>`.
    fn direct_post(uri: &str) -> AuthorizationRequest {
        let client_id = format!("redirect_uri:{uri}");
        let mode = ("response_mode", "direct_post");
        parse(&[
            ("client_id", &client_id),
            mode,
            ("response_uri", uri),
            ("state", "s"),
        ])
        .unwrap()
    }

    #[test]
    fn the_asker_is_named_by_what_the_request_proves_or_the_offline_desk_calls_itself() {
        let unverified = ClientIdentity::Unverified;
        assert_eq!(
            asker_name(
                "redirect_uri:https://offline.invalid/hotel.example",
                &unverified
            ),
            "hotel.example"
        );
        assert_eq!(
            asker_name("redirect_uri:https://offline.invalid/", &unverified),
            "redirect_uri:https://offline.invalid/"
        );
        assert_eq!(
            asker_name("redirect_uri:http://offline.invalid/x", &unverified),
            "redirect_uri:http://offline.invalid/x"
        );
        assert_eq!(
            asker_name("https://hotel.example", &unverified),
            "https://hotel.example"
        );
        let bank = ClientIdentity::RedirectUri {
            uri: "https://bank.example/answers".into(),
        };
        assert_eq!(
            asker_name("redirect_uri:https://bank.example/answers", &bank),
            "https://bank.example/answers"
        );
    }

    #[test]
    fn a_direct_post_request_to_offline_invalid_is_answered_offline() {
        let request = direct_post("https://offline.invalid/hotel.example");
        assert_eq!(request.response_mode, ResponseMode::Offline);
        // Shown, not sent to that address: the redirect_uri prefix proves nothing offline.
        assert_eq!(request.client_identity, ClientIdentity::Unverified);
        assert_eq!(request.state.as_deref(), Some("s"));
        // A look-alike host is an online endpoint.
        let online = direct_post("https://offline.invalid.example/x");
        assert!(matches!(
            online.response_mode,
            ResponseMode::DirectPost { .. }
        ));
    }

    #[test]
    fn a_redirect_uri_client_id_without_response_mode_is_refused() {
        let uri = "https://offline.invalid/hotel.example";
        let client_id = format!("redirect_uri:{uri}");
        let err = parse(&[("client_id", &client_id), ("response_uri", uri)]).unwrap_err();
        assert!(matches!(err, PresentationError::InvalidRequest { .. }));
    }
}
