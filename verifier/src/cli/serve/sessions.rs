//! The open requests of `verifier serve`, their answers and results, and the typed errors the
//! endpoints answer with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use credential::jose::SigningKey;
use rand_core::{OsRng, RngCore as _};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use verifier::answer::AnswerError;
use verifier::request::{
    did_jwk_client_id, new_nonce, redirect_uri_client_id, PresentationRequest, ResponseMode,
};
use verifier::{Policy, StatusStore, TrustStore, Verifier, VerifierError};
use zeroize::Zeroizing;

/// Why an endpoint refused. Messages name the failed check and carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No open request has this id (never made, expired, or its result was collected).
    #[error("no open request has this id")]
    UnknownRequest,
    /// The request expired before it was answered.
    #[error("the request expired before it was answered")]
    RequestExpired,
    /// The request was answered already (each request and nonce is used once).
    #[error("the request was answered already")]
    AlreadyAnswered,
    /// The answer's `state` is not the request's.
    #[error("state does not match the request")]
    StateMismatch,
    /// The answer's KB-JWT carries another nonce than the request's.
    #[error("the answer's nonce is not the request's")]
    NonceMismatch,
    /// The body is larger than the endpoint accepts.
    #[error("body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body's content type is not the one the endpoint reads.
    #[error("content type must be {expected}")]
    ContentType {
        /// The expected media type.
        expected: &'static str,
    },
    /// The body does not parse.
    #[error("body is malformed: {reason}")]
    MalformedBody {
        /// What is wrong.
        reason: &'static str,
    },
    /// No `Authorization: Bearer` header.
    #[error("{what}: bearer token missing")]
    TokenMissing {
        /// Which token (`api token`, `transaction secret`).
        what: &'static str,
    },
    /// The bearer token is not the right one.
    #[error("{what}: bearer token does not match")]
    TokenWrong {
        /// Which token.
        what: &'static str,
    },
    /// The request asked for a redirect, and the result is given only with its response code.
    #[error("response_code missing or wrong")]
    ResponseCode,
    /// The request names a profile this server does not serve.
    #[error("profile is not served here")]
    UnknownProfile,
    /// The `redirect_uri` the bank gave is not an https URL (http only on loopback).
    #[error("redirect_uri must be https (plain http only on loopback)")]
    RedirectUri,
    /// The request object exists only for signed requests (`--sign-key`).
    #[error("requests are passed by value; no request object is served")]
    NoRequestObject,
    /// Too many requests wait for their answers.
    #[error("too many open requests")]
    TooManyOpen,
    /// The answer does not parse, or does not fit the request's DCQL query.
    #[error(transparent)]
    Answer(#[from] AnswerError),
    /// The presentation failed a check of `docs/verification.md`.
    #[error(transparent)]
    Verifier(#[from] VerifierError),
    /// The trust state could not be loaded.
    #[error("the trust state could not be loaded")]
    TrustUnavailable,
}

impl ServeError {
    /// A stable snake_case code: the `error` of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ServeError::UnknownRequest => "request_unknown",
            ServeError::RequestExpired => "request_expired",
            ServeError::AlreadyAnswered => "request_answered",
            ServeError::StateMismatch => "state_mismatch",
            ServeError::NonceMismatch => "nonce_mismatch",
            ServeError::BodyTooLarge { .. } => "body_too_large",
            ServeError::ContentType { .. } => "content_type",
            ServeError::MalformedBody { .. } => "body_malformed",
            ServeError::TokenMissing { .. } => "token_missing",
            ServeError::TokenWrong { .. } => "token_wrong",
            ServeError::ResponseCode => "response_code_wrong",
            ServeError::UnknownProfile => "profile_unknown",
            ServeError::RedirectUri => "redirect_uri_invalid",
            ServeError::NoRequestObject => "request_object_none",
            ServeError::TooManyOpen => "too_many_open_requests",
            ServeError::Answer(e) => e.code(),
            ServeError::Verifier(e) => e.code(),
            ServeError::TrustUnavailable => "trust_unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ServeError::UnknownRequest | ServeError::NoRequestObject => 404,
            ServeError::AlreadyAnswered => 409,
            ServeError::BodyTooLarge { .. } => 413,
            ServeError::ContentType { .. } => 415,
            ServeError::TokenMissing { .. } => 401,
            ServeError::TokenWrong { .. } | ServeError::ResponseCode => 403,
            ServeError::TooManyOpen | ServeError::TrustUnavailable => 503,
            _ => 400,
        }
    }

    /// The JSON body: `{"error": code, "error_description": message}`.
    pub fn body(&self) -> Value {
        json!({"error": self.code(), "error_description": self.to_string()})
    }
}

/// Where the trust material comes from.
pub enum TrustSource {
    /// The state synced into the data directory (`verifier sync`), read for every answer.
    State(PathBuf),
    /// `--trust` documents and `--status` tokens.
    Files {
        /// Parsed trust documents.
        keys: Vec<Value>,
        /// Status-list token texts.
        status: Vec<String>,
    },
}

/// What `verifier serve` was started with.
pub struct Config {
    /// The served profiles; the first is the default.
    pub profiles: Vec<Policy>,
    /// Signs request objects when present.
    pub sign_key: Option<SigningKey>,
    /// The bearer token of `POST /requests`.
    pub api_token: Option<Zeroizing<String>>,
    /// Trust material.
    pub trust: TrustSource,
}

/// What a bank asks for in `POST /requests`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// A served profile's name; default the first.
    pub profile: Option<String>,
    /// Where the wallet sends the citizen's browser after the answer (section 8.2): the
    /// answer's `redirect_uri`, with `#response_code=..`.
    pub redirect_uri: Option<String>,
}

/// What happened to an answered request.
enum Outcome {
    /// Waiting for the wallet.
    Pending,
    /// The holder answered; the result (accepted claims or the rejection) waits for the bank.
    Answered {
        result: Value,
        /// The response code given to the wallet's redirect, when one was asked for.
        response_code: Option<Zeroizing<String>>,
    },
}

struct Session {
    policy: Policy,
    request: PresentationRequest,
    request_object: Option<String>,
    /// `iat` and validity of the request object, to sign it again with a `wallet_nonce`.
    signed: (i64, i64),
    secret_hash: [u8; 32],
    redirect_uri: Option<String>,
    expires_at: i64,
    outcome: Outcome,
}

/// The server's state.
pub struct App {
    config: Config,
    base: String,
    max_open: usize,
    sessions: Mutex<HashMap<String, Session>>,
}

fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    credential::b64::encode(buf)
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Checks an `Authorization: Bearer` value against the expected token's hash, in constant time.
pub fn check_bearer(
    header: Option<&str>,
    expected_hash: &[u8; 32],
    what: &'static str,
) -> Result<(), ServeError> {
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(ServeError::TokenMissing { what })?;
    if bool::from(hash(token.trim()).ct_eq(expected_hash)) {
        Ok(())
    } else {
        Err(ServeError::TokenWrong { what })
    }
}

/// Whether a redirect target is acceptable: https, or plain http on loopback.
fn redirect_ok(uri: &str) -> bool {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    uri.starts_with("https://")
        || loopback.iter().any(|l| {
            uri.strip_prefix(l)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

impl App {
    /// The app over `config`, reached by wallets at `base`.
    pub fn new(config: Config, base: String, max_open: usize) -> App {
        App {
            config,
            base,
            max_open,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a consistent map (every change is one insert,
        // remove or assignment), so a poisoned lock is used as is.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The API token's hash, when one is configured.
    pub fn api_token_hash(&self) -> Option<[u8; 32]> {
        self.config.api_token.as_ref().map(|t| hash(t))
    }

    /// A verifier with the current trust state and `policy`.
    ///
    /// # Errors
    /// [`ServeError::TrustUnavailable`].
    pub fn verifier(&self, policy: Policy, now: i64) -> Result<Verifier, ServeError> {
        let (trust, status) = match &self.config.trust {
            TrustSource::State(dir) => {
                let state = super::super::state::State::new(dir);
                let root = state.root().map_err(|_| ServeError::TrustUnavailable)?;
                let loaded = state
                    .load(&root)
                    .map_err(|_| ServeError::TrustUnavailable)?
                    .ok_or(ServeError::TrustUnavailable)?;
                loaded.state.into_stores()
            }
            TrustSource::Files { keys, status } => {
                let mut trust = TrustStore::new();
                for key in keys {
                    trust
                        .extend_from_value(key)
                        .map_err(|_| ServeError::TrustUnavailable)?;
                }
                let mut store = StatusStore::new();
                for token in status {
                    store
                        .add_token(token, &trust, now)
                        .map_err(|_| ServeError::TrustUnavailable)?;
                }
                (trust, store)
            }
        };
        Ok(Verifier::new(trust, status, policy))
    }

    /// Makes a request: `(id, the JSON answer for the bank)`.
    ///
    /// # Errors
    /// [`ServeError::UnknownProfile`], [`ServeError::RedirectUri`], [`ServeError::TooManyOpen`].
    pub fn create(&self, asked: NewRequest, now: i64) -> Result<(String, Value), ServeError> {
        let policy = match &asked.profile {
            None => self.config.profiles.first(),
            Some(name) => self.config.profiles.iter().find(|p| &p.name == name),
        }
        .ok_or(ServeError::UnknownProfile)?
        .clone();
        if asked
            .redirect_uri
            .as_deref()
            .is_some_and(|u| !redirect_ok(u))
        {
            return Err(ServeError::RedirectUri);
        }
        let id = random_text(16);
        let response_uri = format!("{}/requests/{id}/response", self.base);
        let request_uri = format!("{}/requests/{id}/request", self.base);
        let client_id = match &self.config.sign_key {
            Some(key) => did_jwk_client_id(key.public_jwk()),
            None => redirect_uri_client_id(&response_uri),
        };
        let nonce = new_nonce(&mut OsRng);
        let mut request = PresentationRequest::for_policy(
            &policy,
            &client_id,
            &nonce,
            ResponseMode::DirectPost { response_uri },
        );
        request.state = Some(new_nonce(&mut OsRng));
        let validity = i64::try_from(policy.request.validity.as_secs()).unwrap_or(600);
        let expires_at = now + validity;
        let (uri, request_object) = match &self.config.sign_key {
            Some(key) => (
                request.to_reference_uri(&request_uri, true),
                Some(request.to_request_object(key, now, validity)),
            ),
            None => (request.to_uri(), None),
        };
        let secret = Zeroizing::new(random_text(32));
        let answer = json!({
            "id": id,
            "request_uri": uri,
            "client_id": client_id,
            "profile": policy.name,
            "transaction_secret": secret.as_str(),
            "result_uri": format!("{}/requests/{id}/result", self.base),
            "expires_at": expires_at,
        });
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.expires_at >= now);
        if sessions.len() >= self.max_open {
            return Err(ServeError::TooManyOpen);
        }
        sessions.insert(
            id.clone(),
            Session {
                policy,
                request,
                request_object,
                signed: (now, validity),
                secret_hash: hash(&secret),
                redirect_uri: asked.redirect_uri,
                expires_at,
                outcome: Outcome::Pending,
            },
        );
        Ok((id, answer))
    }

    /// The signed request object of an open request; signed again with the wallet's
    /// `wallet_nonce` when it posted one (`request_uri_method=post`, section 5.10).
    ///
    /// # Errors
    /// [`ServeError::UnknownRequest`], [`ServeError::RequestExpired`],
    /// [`ServeError::AlreadyAnswered`], [`ServeError::NoRequestObject`].
    pub fn request_object(
        &self,
        id: &str,
        wallet_nonce: Option<&str>,
        now: i64,
    ) -> Result<String, ServeError> {
        let sessions = self.lock();
        let session = sessions.get(id).ok_or(ServeError::UnknownRequest)?;
        if session.expires_at < now {
            return Err(ServeError::RequestExpired);
        }
        if !matches!(session.outcome, Outcome::Pending) {
            return Err(ServeError::AlreadyAnswered);
        }
        match (wallet_nonce, &self.config.sign_key) {
            (Some(nonce), Some(key)) => {
                let (iat, validity) = session.signed;
                Ok(session
                    .request
                    .to_request_object_for(key, iat, validity, Some(nonce)))
            }
            _ => session
                .request_object
                .clone()
                .ok_or(ServeError::NoRequestObject),
        }
    }

    /// Receives a `direct_post` form body: verifies it and, once the holder answered, closes the
    /// request (whatever the policy decided). Returns the JSON answer for the wallet.
    ///
    /// # Errors
    /// [`ServeError`] naming the failed check; the request stays open unless the holder answered.
    pub fn answer(&self, id: &str, form: &str, now: i64) -> Result<Value, ServeError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(form).map_err(|_| ServeError::MalformedBody {
                reason: "not form-urlencoded",
            })?;
        let states: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == "state")
            .map(|(_, v)| v.as_str())
            .collect();
        if states.len() > 1 || pairs.iter().filter(|(k, _)| k == "vp_token").count() != 1 {
            return Err(ServeError::MalformedBody {
                reason: "expected one vp_token and at most one state",
            });
        }
        let (policy, request) = {
            let sessions = self.lock();
            let session = sessions.get(id).ok_or(ServeError::UnknownRequest)?;
            if !matches!(session.outcome, Outcome::Pending) {
                return Err(ServeError::AlreadyAnswered);
            }
            if session.expires_at < now {
                return Err(ServeError::RequestExpired);
            }
            (session.policy.clone(), session.request.clone())
        };
        let expected = request.state.as_deref().unwrap_or_default();
        let state_ok = states
            .first()
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
        if !state_ok {
            return Err(ServeError::StateMismatch);
        }
        let answer = verifier::answer::parse(form)?;
        if answer.nonce_hint().as_deref() != Some(request.nonce.as_str()) {
            return Err(ServeError::NonceMismatch);
        }
        let verifier = self.verifier(policy, now)?;
        let checked = verifier::answer::verify_answer(&verifier, &answer, &request, now)?;
        if !checked.holder_answered {
            // Anyone who saw the request could have sent this: the request stays open.
            return Err(checked
                .accepted()
                .err()
                .cloned()
                .map_or(ServeError::NonceMismatch, ServeError::Verifier));
        }
        let (result, refused) = match checked.accepted() {
            Ok(verified) => (
                json!({
                    "status": "accepted",
                    "profile": verifier.policy.name,
                    "presentations": verified.iter().map(|v| super::super::verify::accepted_json(v)).collect::<Vec<_>>(),
                }),
                None,
            ),
            Err(e) => (
                json!({"status": "rejected", "profile": verifier.policy.name,
                    "error": e.code(), "error_description": e.to_string()}),
                Some(e.clone()),
            ),
        };
        let reply = self.close(id, result, refused.is_none())?;
        match refused {
            Some(e) => Err(ServeError::Verifier(e)),
            None => Ok(reply),
        }
    }

    /// Closes an open request with its result (the holder answered): the JSON reply for the
    /// wallet, with a redirect and a fresh response code when the answer was `accepted` and the
    /// request asked for one. Verification runs outside the lock, so two answers to one request
    /// can both get here: only the first closes it.
    ///
    /// # Errors
    /// [`ServeError::UnknownRequest`], [`ServeError::AlreadyAnswered`].
    fn close(&self, id: &str, result: Value, accepted: bool) -> Result<Value, ServeError> {
        let mut sessions = self.lock();
        let session = sessions.get_mut(id).ok_or(ServeError::UnknownRequest)?;
        if !matches!(session.outcome, Outcome::Pending) {
            // Another answer to the same request won the race.
            return Err(ServeError::AlreadyAnswered);
        }
        let response_code = match (accepted, &session.redirect_uri) {
            (true, Some(_)) => Some(Zeroizing::new(random_text(16))),
            _ => None,
        };
        let reply = match (&response_code, &session.redirect_uri) {
            (Some(code), Some(uri)) => {
                json!({"redirect_uri": format!("{uri}#response_code={}", code.as_str())})
            }
            _ => json!({}),
        };
        session.outcome = Outcome::Answered {
            result,
            response_code,
        };
        Ok(reply)
    }

    /// The result for the bank: `pending`, or the final result (then the request is gone).
    ///
    /// # Errors
    /// [`ServeError::UnknownRequest`], [`ServeError::TokenMissing`], [`ServeError::TokenWrong`],
    /// [`ServeError::ResponseCode`].
    pub fn result(
        &self,
        id: &str,
        authorization: Option<&str>,
        response_code: Option<&str>,
        now: i64,
    ) -> Result<Value, ServeError> {
        let mut sessions = self.lock();
        let session = sessions.get(id).ok_or(ServeError::UnknownRequest)?;
        check_bearer(authorization, &session.secret_hash, "transaction secret")?;
        match &session.outcome {
            Outcome::Pending if session.expires_at < now => {
                sessions.remove(id);
                Err(ServeError::RequestExpired)
            }
            Outcome::Pending => Ok(json!({"status": "pending"})),
            Outcome::Answered {
                response_code: Some(expected),
                ..
            } if !response_code
                .is_some_and(|c| bool::from(c.as_bytes().ct_eq(expected.as_bytes()))) =>
            {
                Err(ServeError::ResponseCode)
            }
            Outcome::Answered { .. } => match sessions.remove(id) {
                Some(Session {
                    outcome: Outcome::Answered { result, .. },
                    ..
                }) => Ok(result),
                _ => Err(ServeError::UnknownRequest),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn app() -> App {
        let config = Config {
            profiles: vec![Policy::from_toml(super::super::super::request::HOTEL).unwrap()],
            sign_key: None,
            api_token: None,
            trust: TrustSource::Files {
                keys: vec![],
                status: vec![],
            },
        };
        App::new(config, "http://127.0.0.1:1".into(), 10)
    }

    #[test]
    fn of_two_answers_verified_at_once_only_the_first_closes_the_request() {
        let app = app();
        let asked = NewRequest {
            profile: None,
            redirect_uri: Some("https://bank.example/done".into()),
        };
        let (id, _) = app.create(asked, 100).unwrap();
        // Both answers passed verification outside the lock; both now try to close.
        let first = app.close(&id, json!({"status": "accepted"}), true).unwrap();
        assert!(first["redirect_uri"]
            .as_str()
            .unwrap()
            .starts_with("https://bank.example/done#response_code="));
        let second = app.close(&id, json!({"status": "accepted"}), true);
        assert!(matches!(second, Err(ServeError::AlreadyAnswered)));
    }

    #[test]
    fn only_https_or_loopback_redirects_are_accepted() {
        assert!(redirect_ok("https://bank.example/done"));
        assert!(redirect_ok("http://127.0.0.1:8080/done"));
        assert!(redirect_ok("http://localhost/done"));
        assert!(!redirect_ok("http://bank.example/done"));
        assert!(!redirect_ok("http://localhost.bank.example/done"));
        assert!(!redirect_ok("javascript:alert(1)"));
    }
}
