//! Receiving credentials: an OpenID4VCI 1.0 client for the pre-authorized code flow.
//!
//! ```text
//! openid-credential-offer://?credential_offer=... | ?credential_offer_uri=...
//!   -> resolve_offer()                 CredentialOffer (the host reads tx_code's description)
//!   -> receive(offer, tx_code, copies)
//!        GET  /.well-known/openid-credential-issuer, /.well-known/oauth-authorization-server
//!        POST token_endpoint            pre-authorized_code + tx_code      (section 6)
//!        per configuration offered:
//!          POST nonce_endpoint          c_nonce                            (section 7)
//!          one fresh holder key and one jwt proof per copy                 (appendix F.1)
//!          POST credential_endpoint     {credential_configuration_id, proofs: {jwt: [...]}}
//!        GET  /.well-known/jwt-vc-issuer  the issuer's keys
//!        verify every credential (signature, disclosures, times, cnf = the copy's key,
//!        issuer, type, format)         any failure: nothing is returned, nothing stored
//!   -> Received (verified batches) -> Store::insert_batches (one transaction)
//! ```
//!
//! The library never prompts: the host passes the `tx_code` it asked the citizen for.

use credential::citizen::{Format, Level};
use credential::jose::{Alg, PublicJwk, SigningKey};
use credential::oid4vci::{self, Secret};
use credential::sd_jwt::{KeyBinding, Limits, SdJwt, TypPolicy, VerifyOptions, SD_JWT_VC_RESERVED};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use verifier::TrustStore;
use zeroize::Zeroizing;

use crate::signer::{software_handle, HolderSigner, KeyHandle, SignerError, ToSign};
use crate::store::{NewCopy, NewGrant, RecordStore, StoreError};
use crate::transport::{checked_exchange, ExchangeError, HttpRequest, Transport};

pub use credential::oid4vci::PRE_AUTH_GRANT;

/// Copies requested per configuration unless the host says otherwise.
pub const DEFAULT_COPIES: usize = 10;

/// Why credentials could not be received. Nothing is stored on any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The text is not an `openid-credential-offer://` URI with an offer.
    #[error("not a credential offer uri: {reason}")]
    InvalidOfferUri {
        /// What is wrong.
        reason: &'static str,
    },
    /// The offer (by value or fetched) is not a valid credential offer.
    #[error("invalid credential offer: {reason}")]
    InvalidOffer {
        /// What is wrong.
        reason: &'static str,
    },
    /// A member of the offer is missing or has the wrong type. Only the member's path is kept,
    /// never the value sent.
    #[error("invalid credential offer: member {path} is missing or malformed (OpenID4VCI 1.0 section 4.1.1)")]
    InvalidOfferMember {
        /// Where, as serde names it (`grants.urn:...:pre-authorized_code.tx_code.length`, `.`
        /// for the offer itself), at most 120 characters.
        path: String,
    },
    /// A URL the wallet would contact is not `https://` (plain `http://` is accepted only on
    /// loopback; [`crate::transport`]): nothing was sent to it.
    #[error("{endpoint} {origin} is not https (plain http is accepted only on loopback)")]
    InsecureUrl {
        /// Which URL: `credential_issuer`, `credential_offer_uri`, `token`, `nonce`,
        /// `credential`, or a metadata document.
        endpoint: String,
        /// Its origin (`scheme://host[:port]`), without path or query.
        origin: String,
    },
    /// An endpoint answered with a redirect. The wallet follows none (the request would be
    /// re-sent, code and all, where the answer points).
    #[error("{endpoint} answered a redirect (http {status}); the wallet follows none")]
    Redirected {
        /// Which endpoint.
        endpoint: String,
        /// The HTTP status (3xx).
        status: u16,
    },
    /// The offer has no pre-authorized code grant (the only flow this wallet supports).
    #[error("offer has no pre-authorized code grant")]
    UnsupportedGrant,
    /// The offer asks for a `tx_code` and the host gave none.
    #[error("offer requires a tx_code")]
    TxCodeRequired,
    /// The network failed or an endpoint answered something that is not the expected JSON.
    #[error("{endpoint}{}: {reason}", url.as_deref().map(|u| format!(" at {u}")).unwrap_or_default())]
    Http {
        /// Which endpoint.
        endpoint: String,
        /// Where it was asked, when known: scheme, host, port and path, never the query (the
        /// offer's own URL only to its origin: its path names the offer).
        url: Option<String>,
        /// What went wrong.
        reason: String,
    },
    /// An endpoint answered with an OAuth / OpenID4VCI error.
    #[error("{endpoint} refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// Which endpoint (`token`, `nonce`, `credential`).
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The `error` code (`invalid_grant`, `invalid_proof`, ...).
        error: String,
        /// `error_description`, when given.
        description: Option<String>,
        /// `Retry-After` in seconds, when the answer carried one (a rate limit).
        retry_after: Option<u64>,
    },
    /// The issuer metadata is unusable.
    #[error("issuer metadata: {reason}")]
    Metadata {
        /// What is wrong.
        reason: String,
    },
    /// The issuer's published keys could not be loaded.
    #[error("issuer keys: {reason}")]
    IssuerKeys {
        /// What is wrong.
        reason: String,
    },
    /// The issuer answered a different number of credentials than proofs sent.
    #[error("asked for {expected} credentials, got {got}")]
    WrongCount {
        /// Proofs sent.
        expected: usize,
        /// Credentials received.
        got: usize,
    },
    /// A received credential does not verify against the issuer's published keys.
    #[error("credential {index} of {configuration} does not verify: {code}")]
    NotVerified {
        /// The configuration.
        configuration: String,
        /// Position in the answer.
        index: usize,
        /// The failed check ([`credential::sd_jwt::VerifyError::code`]).
        code: String,
    },
    /// A received credential is not bound to the key of its proof.
    #[error("credential {index} of {configuration} is not bound to its holder key")]
    HolderKeyMismatch {
        /// The configuration.
        configuration: String,
        /// Position in the answer.
        index: usize,
    },
    /// The holder-key signer failed (creating a key, reading its public key, or signing a
    /// proof).
    #[error("holder key: {0}")]
    Signer(#[from] SignerError),
    /// A received credential is not what the configuration promises (issuer, type, format).
    #[error("credential {index} of {configuration} is not as offered: {what}")]
    NotAsOffered {
        /// The configuration.
        configuration: String,
        /// Position in the answer.
        index: usize,
        /// Which property differs: `issuer`, `type` or `format`.
        what: &'static str,
    },
}

/// The `tx_code` the citizen typed. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct TxCode(Zeroizing<String>);

impl TxCode {
    /// Wraps the code.
    pub fn new(code: impl Into<String>) -> TxCode {
        TxCode(Zeroizing::new(code.into()))
    }
}

impl std::fmt::Debug for TxCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxCode(..)")
    }
}

/// What the offer says about the `tx_code` (section 4.1.1), for the host's prompt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TxCodeSpec {
    /// Expected length.
    pub length: Option<u32>,
    /// `numeric` or `text`.
    pub input_mode: Option<String>,
    /// Text to show the citizen.
    pub description: Option<String>,
}

/// A credential offer (OpenID4VCI 1.0 section 4.1.1) with a pre-authorized code grant.
#[derive(Clone)]
pub struct CredentialOffer {
    /// The issuer URL.
    pub credential_issuer: String,
    /// Configurations offered.
    pub credential_configuration_ids: Vec<String>,
    pre_authorized_code: Zeroizing<String>,
    /// Present when a `tx_code` is required.
    pub tx_code: Option<TxCodeSpec>,
}

impl std::fmt::Debug for CredentialOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialOffer")
            .field("credential_issuer", &self.credential_issuer)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .field("tx_code", &self.tx_code)
            .finish_non_exhaustive()
    }
}

impl CredentialOffer {
    /// Parses an offer object.
    ///
    /// # Errors
    /// [`ReceiveError::InvalidOffer`], [`ReceiveError::InvalidOfferMember`],
    /// [`ReceiveError::UnsupportedGrant`].
    pub fn from_value(value: &Value) -> Result<CredentialOffer, ReceiveError> {
        let bad = |reason| ReceiveError::InvalidOffer { reason };
        let offer: oid4vci::CredentialOffer =
            serde_path_to_error::deserialize(value).map_err(|e| {
                ReceiveError::InvalidOfferMember {
                    path: e.path().to_string().chars().take(120).collect(),
                }
            })?;
        let issuer = offer.credential_issuer.as_str();
        crate::transport::check_url(issuer).map_err(|origin| ReceiveError::InsecureUrl {
            endpoint: "credential_issuer".into(),
            origin,
        })?;
        if offer.credential_configuration_ids.is_empty() {
            return Err(bad("credential_configuration_ids is empty"));
        }
        let grant = offer
            .pre_authorized()
            .ok_or(ReceiveError::UnsupportedGrant)?;
        let tx_code = grant.tx_code.as_ref().map(|t| TxCodeSpec {
            length: t.length,
            input_mode: t.input_mode.clone(),
            description: t.description.clone(),
        });
        let code = grant.pre_authorized_code.clone().into();
        Ok(CredentialOffer {
            credential_issuer: issuer.trim_end_matches('/').to_owned(),
            credential_configuration_ids: offer.credential_configuration_ids.clone(),
            pre_authorized_code: code,
            tx_code,
        })
    }
}

/// An offer URI's content: the offer, or where to fetch it.
#[derive(Debug, Clone)]
pub enum OfferRef {
    /// `?credential_offer=`.
    ByValue(Box<CredentialOffer>),
    /// `?credential_offer_uri=`.
    ByReference(String),
}

/// Parses `openid-credential-offer://?credential_offer=...` or `...?credential_offer_uri=...`
/// (section 4.1). A bare `https://` URL is taken as a `credential_offer_uri`.
///
/// # Errors
/// [`ReceiveError::InvalidOfferUri`], or the offer's own errors.
pub fn parse_offer_uri(uri: &str) -> Result<OfferRef, ReceiveError> {
    let uri = uri.trim();
    let by_reference = |url: &str| {
        crate::transport::check_url(url).map_err(|origin| ReceiveError::InsecureUrl {
            endpoint: "credential_offer_uri".into(),
            origin,
        })?;
        Ok(OfferRef::ByReference(url.to_owned()))
    };
    if uri.starts_with("https://") || uri.starts_with("http://") {
        return by_reference(uri);
    }
    let rest =
        uri.strip_prefix("openid-credential-offer://")
            .ok_or(ReceiveError::InvalidOfferUri {
                reason: "scheme is not openid-credential-offer",
            })?;
    let query = rest
        .split_once('?')
        .map(|(_, q)| q)
        .ok_or(ReceiveError::InvalidOfferUri { reason: "no query" })?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| ReceiveError::InvalidOfferUri {
            reason: "query is not form-encoded",
        })?;
    let find = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    match (find("credential_offer"), find("credential_offer_uri")) {
        (Some(offer), None) => {
            let value: Value =
                serde_json::from_str(offer).map_err(|_| ReceiveError::InvalidOffer {
                    reason: "credential_offer is not json",
                })?;
            Ok(OfferRef::ByValue(Box::new(CredentialOffer::from_value(
                &value,
            )?)))
        }
        (None, Some(uri)) => by_reference(uri),
        (Some(_), Some(_)) => Err(ReceiveError::InvalidOfferUri {
            reason: "both credential_offer and credential_offer_uri",
        }),
        (None, None) => Err(ReceiveError::InvalidOfferUri {
            reason: "no credential_offer or credential_offer_uri",
        }),
    }
}

/// Parses an offer URI and fetches the offer when it is by reference.
///
/// # Errors
/// As [`parse_offer_uri`], plus [`ReceiveError::Http`].
pub async fn resolve_offer<T: Transport>(
    http: &T,
    uri: &str,
) -> Result<CredentialOffer, ReceiveError> {
    match parse_offer_uri(uri)? {
        OfferRef::ByValue(offer) => Ok(*offer),
        OfferRef::ByReference(url) => {
            let value = get_json(http, &url, OFFER_ENDPOINT).await?;
            CredentialOffer::from_value(&value)
        }
    }
}

/// How to receive.
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    /// Copies per configuration (capped at the issuer's `batch_size`, at least 1).
    pub copies: usize,
    /// Which offered configurations to request; empty means all.
    pub configurations: Vec<String>,
    /// Holder key algorithm.
    pub alg: Alg,
}

impl Default for ReceiveOptions {
    fn default() -> ReceiveOptions {
        ReceiveOptions {
            copies: DEFAULT_COPIES,
            configurations: Vec::new(),
            alg: Alg::Es256,
        }
    }
}

/// One configuration's verified copies, ready to store.
pub struct ReceivedBatch {
    /// The configuration id.
    pub configuration: String,
    /// The credential type.
    pub vct: String,
    /// The assurance level.
    pub level: Option<Level>,
    /// The form.
    pub format: Format,
    copies: Vec<NewCopy>,
}

impl std::fmt::Debug for ReceivedBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedBatch")
            .field("configuration", &self.configuration)
            .field("vct", &self.vct)
            .field("copies", &self.copies.len())
            .finish()
    }
}

impl ReceivedBatch {
    /// How many copies.
    pub fn len(&self) -> usize {
        self.copies.len()
    }

    /// Whether it holds no copy.
    pub fn is_empty(&self) -> bool {
        self.copies.is_empty()
    }

    /// The copies, for the host's store.
    pub fn into_copies(self) -> Vec<NewCopy> {
        self.copies
    }
}

/// Everything received from one offer, verified, with the issuer's refresh token when it gave
/// one. `Debug` shows no secret.
pub struct Received {
    /// The issuer.
    pub issuer: String,
    /// One batch per configuration.
    pub batches: Vec<ReceivedBatch>,
    refresh_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("issuer", &self.issuer)
            .field("batches", &self.batches)
            .field("refreshable", &self.refresh_token.is_some())
            .finish()
    }
}

impl Received {
    /// Whether the issuer gave a refresh token (the batches can be refreshed later).
    pub fn refreshable(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// Stores every batch, and the refresh token sealed beside them, in one transaction;
    /// returns the batch ids.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn store(self, store: &mut impl RecordStore) -> Result<Vec<String>, StoreError> {
        let issuer = self.issuer;
        let grant = self.refresh_token.map(|refresh_token| NewGrant {
            issuer,
            refresh_token,
        });
        store.insert_granted(
            grant,
            self.batches
                .into_iter()
                .map(|b| (Some(b.configuration), b.copies))
                .collect(),
        )
    }
}

/// Runs the pre-authorized code flow for `offer` and verifies every credential received.
///
/// `now` is the current Unix time (for proofs and credential time checks); `signer` makes the
/// holder keys (one per copy) and signs their proofs.
///
/// # Errors
/// [`ReceiveError`]; on any error nothing was returned, so nothing can be stored.
pub async fn receive<T: Transport, S: HolderSigner>(
    http: &T,
    signer: &mut S,
    offer: &CredentialOffer,
    tx_code: Option<&TxCode>,
    options: &ReceiveOptions,
    now: i64,
) -> Result<Received, ReceiveError> {
    if offer.tx_code.is_some() && tx_code.is_none() {
        return Err(ReceiveError::TxCodeRequired);
    }
    let issuer = offer.credential_issuer.as_str();
    let endpoints = Endpoints::discover(http, issuer).await?;

    // Token request (section 6.1).
    let form = oid4vci::TokenRequest::pre_authorized(
        Secret::from(offer.pre_authorized_code.clone()),
        tx_code.map(|code| Secret::from(code.0.clone())),
    );
    let token = TokenAnswer::request(http, &endpoints.token_endpoint, &form).await?;

    let configurations: Vec<String> = offer
        .credential_configuration_ids
        .iter()
        .filter(|c| options.configurations.is_empty() || options.configurations.contains(c))
        .cloned()
        .collect();
    if configurations.is_empty() {
        return Err(ReceiveError::InvalidOffer {
            reason: "none of the chosen configurations is offered",
        });
    }
    let batches = endpoints
        .issue(
            http,
            signer,
            &token.access_token,
            &configurations,
            options,
            now,
        )
        .await?;
    Ok(Received {
        issuer: issuer.to_owned(),
        batches,
        refresh_token: token.refresh_token,
    })
}

/// The issuer's endpoints, from its metadata and its authorization server's.
pub(crate) struct Endpoints {
    issuer: String,
    meta: oid4vci::CredentialIssuerMetadata,
    credential_endpoint: String,
    nonce_endpoint: Option<String>,
    pub(crate) token_endpoint: String,
    batch_size: usize,
}

impl Endpoints {
    /// Fetches the credential issuer metadata and the authorization server metadata.
    pub(crate) async fn discover<T: Transport>(
        http: &T,
        issuer: &str,
    ) -> Result<Endpoints, ReceiveError> {
        let meta: oid4vci::CredentialIssuerMetadata = get_metadata(
            http,
            &format!("{issuer}{}", oid4vci::ISSUER_METADATA_PATH),
            "issuer metadata",
        )
        .await?;
        if meta.credential_issuer.trim_end_matches('/') != issuer {
            return Err(ReceiveError::Metadata {
                reason: "credential_issuer differs from the offer".into(),
            });
        }
        let credential_endpoint = meta.credential_endpoint.clone();
        let nonce_endpoint = meta.nonce_endpoint.clone();
        let batch_size = meta
            .batch_credential_issuance
            .and_then(|b| usize::try_from(b.batch_size).ok())
            .unwrap_or(1);
        // Authorization server: the issuer itself unless authorization_servers names another.
        let as_base = meta
            .authorization_servers
            .as_ref()
            .and_then(|a| a.first())
            .map_or(issuer, String::as_str)
            .trim_end_matches('/')
            .to_owned();
        let as_meta: oid4vci::AuthorizationServerMetadata = get_metadata(
            http,
            &format!("{as_base}{}", oid4vci::AS_METADATA_PATH),
            "authorization server metadata",
        )
        .await?;
        let token_endpoint = as_meta.token_endpoint;
        Ok(Endpoints {
            issuer: issuer.to_owned(),
            meta,
            credential_endpoint,
            nonce_endpoint,
            token_endpoint,
            batch_size,
        })
    }

    /// For each configuration: a `c_nonce`, one fresh holder key and proof per copy, one
    /// credential request; then every credential verified against the issuer's published keys.
    pub(crate) async fn issue<T: Transport, S: HolderSigner>(
        &self,
        http: &T,
        signer: &mut S,
        access_token: &str,
        configurations: &[String],
        options: &ReceiveOptions,
        now: i64,
    ) -> Result<Vec<ReceivedBatch>, ReceiveError> {
        let issuer = self.issuer.as_str();
        let copies = options.copies.clamp(1, self.batch_size.max(1));
        let mut fetched = Vec::new();
        for config_id in configurations {
            let config = self
                .meta
                .credential_configurations_supported
                .get(config_id)
                .ok_or_else(|| ReceiveError::Metadata {
                    reason: format!("configuration {config_id} is not in the metadata"),
                })?;
            let expected = Expected::from_config(config_id, config)?;
            let c_nonce = match &self.nonce_endpoint {
                Some(url) => {
                    let answer: oid4vci::NonceResponse =
                        send_typed(http, HttpRequest::post(url), "nonce", "no c_nonce").await?;
                    Some(answer.c_nonce)
                }
                None => None,
            };
            let mut keys: Vec<(KeyHandle, PublicJwk)> = Vec::with_capacity(copies);
            let mut proofs: Vec<String> = Vec::with_capacity(copies);
            for _ in 0..copies {
                let handle = signer.create(options.alg).await?;
                let public = signer.public_jwk(&handle).await?;
                let proof = proof_jwt(&handle, &public, issuer, c_nonce.as_deref(), now);
                proofs.push(proof.sign_with(signer).await?);
                keys.push((handle, public));
            }
            let body = oid4vci::CredentialRequest::with_jwt_proofs(config_id.as_str(), proofs);
            let answer: oid4vci::CredentialResponse = send_typed(
                http,
                HttpRequest::post(&self.credential_endpoint)
                    .bearer(access_token)
                    .json(&json!(body)),
                "credential",
                "not a credential response",
            )
            .await?;
            let creds: Vec<String> = answer
                .credentials
                .ok_or_else(|| http_err("credential", "no credentials array"))?
                .iter()
                .map(|c| c.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| http_err("credential", "a credential is not a string"))?;
            if creds.len() != keys.len() {
                return Err(ReceiveError::WrongCount {
                    expected: keys.len(),
                    got: creds.len(),
                });
            }
            fetched.push((expected, keys, creds));
        }

        // Verify everything against the published keys before handing anything back.
        let jwks = get_json(
            http,
            &format!("{issuer}/.well-known/jwt-vc-issuer"),
            "jwt-vc-issuer metadata",
        )
        .await?;
        if jwks
            .get("issuer")
            .and_then(Value::as_str)
            .map(|s| s.trim_end_matches('/'))
            != Some(issuer)
        {
            return Err(ReceiveError::IssuerKeys {
                reason: "jwt-vc-issuer metadata names another issuer".into(),
            });
        }
        let mut trust = TrustStore::new();
        trust
            .extend_from_value(&jwks)
            .map_err(|e| ReceiveError::IssuerKeys {
                reason: e.to_string(),
            })?;
        let mut batches = Vec::new();
        for (expected, keys, creds) in fetched {
            let mut copies = Vec::new();
            for (index, ((handle, key), cred)) in keys.into_iter().zip(creds).enumerate() {
                let checked = check_credential(&cred, &trust, &key, Some(issuer), now)
                    .map_err(|e| e.into_receive_error(&expected.configuration, index))?;
                if checked.vct != expected.vct {
                    return Err(ReceiveError::NotAsOffered {
                        configuration: expected.configuration.clone(),
                        index,
                        what: "type",
                    });
                }
                if checked.format != expected.format {
                    return Err(ReceiveError::NotAsOffered {
                        configuration: expected.configuration.clone(),
                        index,
                        what: "format",
                    });
                }
                copies.push(checked.into_copy(cred, handle));
            }
            batches.push(ReceivedBatch {
                configuration: expected.configuration,
                level: Level::from_vct(&expected.vct).ok(),
                vct: expected.vct,
                format: expected.format,
                copies,
            });
        }
        Ok(batches)
    }
}

/// A token endpoint's answer (RFC 6749 section 5.1). `Debug` shows no secret.
pub(crate) struct TokenAnswer {
    pub(crate) access_token: Zeroizing<String>,
    pub(crate) refresh_token: Option<Zeroizing<String>>,
}

impl TokenAnswer {
    /// Posts `form` to the token endpoint.
    pub(crate) async fn request<T: Transport>(
        http: &T,
        token_endpoint: &str,
        form: &oid4vci::TokenRequest,
    ) -> Result<TokenAnswer, ReceiveError> {
        let token: oid4vci::TokenResponse = send_typed(
            http,
            HttpRequest::post(token_endpoint).form(form),
            "token",
            "no access_token",
        )
        .await?;
        Ok(TokenAnswer {
            access_token: token.access_token.into(),
            refresh_token: token.refresh_token.map(Into::into),
        })
    }
}

/// What a configuration promises.
struct Expected {
    configuration: String,
    vct: String,
    format: Format,
}

impl Expected {
    fn from_config(
        id: &str,
        config: &oid4vci::CredentialConfiguration,
    ) -> Result<Expected, ReceiveError> {
        let err = |what: &str| ReceiveError::Metadata {
            reason: format!("configuration {id}: {what}"),
        };
        let format = Format::parse(&config.format)
            .ok_or_else(|| err("format is not dc+sd-jwt or vc+sd-jwt"))?;
        let vct = match format {
            Format::DcSdJwt => config.vct.clone(),
            Format::VcSdJwt => config
                .credential_definition
                .as_ref()
                .and_then(|d| d.types.iter().find(|t| Level::from_vct(t).is_ok()).cloned()),
            _ => None,
        }
        .ok_or_else(|| err("no credential type"))?;
        Ok(Expected {
            configuration: id.to_owned(),
            vct,
            format,
        })
    }
}

/// A proof of possession (OpenID4VCI 1.0 appendix F.1).
fn proof_jwt(
    handle: &KeyHandle,
    key: &PublicJwk,
    aud: &str,
    nonce: Option<&str>,
    iat: i64,
) -> ToSign {
    let mut header = Map::new();
    header.insert("typ".into(), json!(oid4vci::PROOF_TYP));
    header.insert("jwk".into(), key.to_bare_value());
    let mut payload = json!({"aud": aud, "iat": iat});
    if let Some(n) = nonce {
        payload["nonce"] = json!(n);
    }
    ToSign::new(
        handle.clone(),
        key.alg(),
        header,
        payload.to_string().as_bytes(),
    )
}

/// Why a single credential failed its checks (before it is tied to a configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialCheckError {
    /// The SD-JWT check that failed.
    #[error("does not verify: {code}")]
    NotVerified {
        /// [`credential::sd_jwt::VerifyError::code`].
        code: String,
    },
    /// `cnf.jwk` is absent or not the holder key.
    #[error("not bound to the holder key")]
    HolderKeyMismatch,
    /// Issuer, type or format not acceptable.
    #[error("not acceptable: {what}")]
    NotAsExpected {
        /// `issuer`, `type` or `format`.
        what: &'static str,
    },
}

impl CredentialCheckError {
    fn into_receive_error(self, configuration: &str, index: usize) -> ReceiveError {
        let configuration = configuration.to_owned();
        match self {
            CredentialCheckError::NotVerified { code } => ReceiveError::NotVerified {
                configuration,
                index,
                code,
            },
            CredentialCheckError::HolderKeyMismatch => ReceiveError::HolderKeyMismatch {
                configuration,
                index,
            },
            CredentialCheckError::NotAsExpected { what } => ReceiveError::NotAsOffered {
                configuration,
                index,
                what,
            },
        }
    }
}

pub(crate) struct Checked {
    issuer: String,
    vct: String,
    level: Option<Level>,
    format: Format,
}

impl Checked {
    fn into_copy(self, sd_jwt: String, holder_key: KeyHandle) -> NewCopy {
        NewCopy {
            issuer: self.issuer,
            vct: self.vct,
            level: self.level,
            format: self.format,
            sd_jwt,
            holder_key,
        }
    }
}

/// Verifies one credential as issued: signature by a trusted key, disclosures, times,
/// `cnf.jwk` equal to `holder`, a citizen-ID or other `vct`, and (when given) the issuer.
pub(crate) fn check_credential(
    text: &str,
    trust: &TrustStore,
    holder: &PublicJwk,
    issuer: Option<&str>,
    now: i64,
) -> Result<Checked, CredentialCheckError> {
    let not_verified = |e: credential::sd_jwt::VerifyError| CredentialCheckError::NotVerified {
        code: e.code().to_owned(),
    };
    let sd_jwt = SdJwt::parse(text, &Limits::default()).map_err(not_verified)?;
    if sd_jwt.kb_jwt().is_some() {
        return Err(CredentialCheckError::NotAsExpected { what: "format" });
    }
    let mut options = VerifyOptions::new(now, KeyBinding::NotRequired);
    options.typ = TypPolicy::OneOf(vec!["dc+sd-jwt".into(), "vc+sd-jwt".into()]);
    options.reserved_claims = SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect();
    let verified = sd_jwt.verify(trust, &options).map_err(not_verified)?;
    if verified.holder_key.as_ref() != Some(holder) {
        return Err(CredentialCheckError::HolderKeyMismatch);
    }
    let format = verified
        .header
        .typ
        .as_deref()
        .map(str::to_ascii_lowercase)
        .and_then(|t| Format::parse(t.trim_start_matches("application/")))
        .ok_or(CredentialCheckError::NotAsExpected { what: "format" })?;
    let claims = &verified.claims;
    let iss = claims
        .get("iss")
        .or_else(|| claims.get("issuer"))
        .and_then(Value::as_str)
        .ok_or(CredentialCheckError::NotAsExpected { what: "issuer" })?;
    if let Some(expected) = issuer {
        if iss.trim_end_matches('/') != expected {
            return Err(CredentialCheckError::NotAsExpected { what: "issuer" });
        }
    }
    let vct =
        credential_type(claims).ok_or(CredentialCheckError::NotAsExpected { what: "type" })?;
    Ok(Checked {
        issuer: iss.to_owned(),
        level: Level::from_vct(&vct).ok(),
        vct,
        format,
    })
}

/// `vct`, or the citizen-ID entry of a VCDM `type` array.
pub fn credential_type(claims: &Map<String, Value>) -> Option<String> {
    if let Some(vct) = claims.get("vct").and_then(Value::as_str) {
        return Some(vct.to_owned());
    }
    claims
        .get("type")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|t| Level::from_vct(t).is_ok())
        .map(str::to_owned)
}

/// Verifies a credential file against trust material (a JWK, JWKS, JWT VC issuer metadata or
/// DID document) and its holder key, for `wallet import`; returns a one-copy batch.
///
/// # Errors
/// [`ReceiveError::IssuerKeys`] for unusable trust material, [`ReceiveError::NotVerified`],
/// [`ReceiveError::HolderKeyMismatch`], [`ReceiveError::NotAsOffered`].
pub fn import(
    credential: &str,
    trust_json: &str,
    holder_key: SigningKey,
    now: i64,
) -> Result<ReceivedBatch, ReceiveError> {
    let trust = TrustStore::from_json(trust_json).map_err(|e| ReceiveError::IssuerKeys {
        reason: e.to_string(),
    })?;
    let credential = credential.trim();
    let checked = check_credential(credential, &trust, holder_key.public_jwk(), None, now)
        .map_err(|e| e.into_receive_error("import", 0))?;
    Ok(ReceivedBatch {
        configuration: "import".into(),
        vct: checked.vct.clone(),
        level: checked.level,
        format: checked.format,
        copies: vec![checked.into_copy(credential.to_owned(), software_handle(&holder_key))],
    })
}

fn http_err(endpoint: &str, reason: impl Into<String>) -> ReceiveError {
    ReceiveError::Http {
        endpoint: endpoint.to_owned(),
        url: None,
        reason: reason.into(),
    }
}

/// [`http_err`] naming the URL that was asked (as [`shown_url`] shows it).
fn http_err_at(endpoint: &str, url: Option<&url::Url>, reason: impl Into<String>) -> ReceiveError {
    ReceiveError::Http {
        endpoint: endpoint.to_owned(),
        url: url.map(|u| shown_url(endpoint, u)),
        reason: reason.into(),
    }
}

/// A URL as an error may show it: scheme, host, port and path, without user info, query or
/// fragment; the credential offer's URL only to its origin, as its path names the offer (and
/// through it the pre-authorized code).
fn shown_url(endpoint: &str, url: &url::Url) -> String {
    let origin = url.origin().ascii_serialization();
    if endpoint == OFFER_ENDPOINT {
        origin
    } else {
        format!("{origin}{}", url.path())
    }
}

/// The endpoint name of the offer fetched by reference.
const OFFER_ENDPOINT: &str = "credential_offer_uri";

async fn get_json<T: Transport>(
    http: &T,
    url: &str,
    endpoint: &str,
) -> Result<Value, ReceiveError> {
    send_json(http, HttpRequest::get(url), endpoint).await
}

/// Fetches a metadata document as its typed message; one that does not parse is
/// [`ReceiveError::Metadata`] naming the member (metadata is public, so serde's message may
/// show).
async fn get_metadata<T: Transport, M: DeserializeOwned>(
    http: &T,
    url: &str,
    endpoint: &str,
) -> Result<M, ReceiveError> {
    let value = get_json(http, url, endpoint).await?;
    M::deserialize(value).map_err(|e| ReceiveError::Metadata {
        reason: format!("{endpoint}: {e}"),
    })
}

/// [`send_json`], read as the typed message `M`; an answer that is not one is
/// [`ReceiveError::Http`] with `reason` (never serde's message, which may quote a token).
async fn send_typed<T: Transport, M: DeserializeOwned>(
    http: &T,
    request: HttpRequest,
    endpoint: &str,
    reason: &str,
) -> Result<M, ReceiveError> {
    let value = send_json(http, request, endpoint).await?;
    M::deserialize(value).map_err(|_| http_err(endpoint, reason))
}

/// Sends a request and reads a JSON object answer, mapping OAuth error bodies to
/// [`ReceiveError::Refused`]. The transport rules apply first
/// ([`crate::transport`]): nothing is sent to plain `http://` off loopback, a redirect is
/// [`ReceiveError::Redirected`], a body over [`crate::transport::MAX_BODY`] is [`ReceiveError::Http`].
pub(crate) async fn send_json<T: Transport>(
    http: &T,
    request: HttpRequest,
    endpoint: &str,
) -> Result<Value, ReceiveError> {
    let (response, url) = checked_exchange(http, request).await.map_err(|e| match e {
        ExchangeError::Insecure(origin) => ReceiveError::InsecureUrl {
            endpoint: endpoint.to_owned(),
            origin,
        },
        ExchangeError::Redirected(status) => ReceiveError::Redirected {
            endpoint: endpoint.to_owned(),
            status,
        },
        ExchangeError::Transport { at, reason } => http_err_at(endpoint, at.as_ref(), reason),
    })?;
    let status = response.status;
    let retry_after = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let value: Option<Value> = serde_json::from_slice(&response.body).ok();
    if !(200..300).contains(&status) {
        let error = value
            .as_ref()
            .and_then(|v| oid4vci::ErrorResponse::deserialize(v).ok());
        return Err(match error {
            Some(error) => ReceiveError::Refused {
                endpoint: endpoint.to_owned(),
                status,
                error: error.error,
                description: error.error_description,
                retry_after,
            },
            None => http_err_at(endpoint, Some(&url), format!("http status {status}")),
        });
    }
    match value {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(http_err_at(
            endpoint,
            Some(&url),
            "answer is not a json object",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::{CredentialOffer, ReceiveError};

    fn offer(ids: serde_json::Value, length: serde_json::Value) -> serde_json::Value {
        json!({
            "credential_issuer": "https://id.example.cn",
            "credential_configuration_ids": ids,
            "grants": {
                "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                    "pre-authorized_code": "code.secret-value",
                    "tx_code": { "length": length, "input_mode": "numeric" }
                }
            }
        })
    }

    #[test]
    fn a_well_formed_offer_reads() {
        let read = CredentialOffer::from_value(&offer(json!(["citizen_basic"]), json!(6))).unwrap();
        assert_eq!(read.credential_configuration_ids, ["citizen_basic"]);
        assert_eq!(read.tx_code.unwrap().length, Some(6));
    }

    #[test]
    fn a_malformed_member_is_named_by_its_path_and_its_value_is_not_echoed() {
        let err =
            CredentialOffer::from_value(&offer(json!("secret-id-110105"), json!(6))).unwrap_err();
        assert_eq!(
            err,
            ReceiveError::InvalidOfferMember {
                path: "credential_configuration_ids".into()
            }
        );
        assert!(!err.to_string().contains("secret-id-110105"), "{err}");

        let err = CredentialOffer::from_value(&offer(json!(["citizen_basic"]), json!("six")))
            .unwrap_err();
        let ReceiveError::InvalidOfferMember { path } = &err else {
            panic!("{err:?}");
        };
        assert!(path.ends_with("tx_code.length"), "{path}");
        assert!(!err.to_string().contains("six"), "{err}");
    }

    #[test]
    fn an_offer_that_is_not_an_object_is_refused_at_the_root() {
        let err = CredentialOffer::from_value(&json!("an offer id, not an offer")).unwrap_err();
        assert_eq!(err, ReceiveError::InvalidOfferMember { path: ".".into() });
    }
}
