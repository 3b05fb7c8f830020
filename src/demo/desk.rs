//! A relying party's desk (the hotel, the bank) on the `verifier` library: it syncs the
//! bureau's keys and status list while it has a network, then makes OpenID4VP requests and
//! checks answers offline, each nonce answered once.

use std::collections::HashMap;

use anyhow::Context as _;
use rand_core::OsRng;
use verifier::request::{new_nonce, query_ids, PresentationRequest, ResponseMode};
use verifier::{Policy, StatusStore, TrustStore, VerifiedPresentation, Verifier};

use super::now;

/// Why the desk refused an answer: the stable code of the failed check and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// `nonce_unknown_or_used`, `level_too_low`, `revoked`, a credential check's code, ...
    pub code: String,
    /// The message.
    pub message: String,
}

impl Rejection {
    fn new(code: &str, message: impl Into<String>) -> Rejection {
        Rejection {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

struct PendingRequest {
    expires_at: i64,
    query_ids: Vec<String>,
}

/// A relying party: its policy, its client id, its synced trust and status, its open requests.
pub struct Desk {
    /// The client id (the KB-JWT `aud`).
    pub client_id: String,
    /// The local verifier.
    pub verifier: Verifier,
    pending: HashMap<String, PendingRequest>,
}

impl Desk {
    /// A desk with a policy file's text; the client id is the `redirect_uri:` of the offline
    /// response URI the profile's `[request] client_id` names (`docs/relying-party.md`).
    ///
    /// # Errors
    /// A malformed policy or one without a client id.
    pub fn new(profile: &str) -> anyhow::Result<Desk> {
        let policy = Policy::from_toml(profile)?;
        let desk = policy
            .request
            .client_id
            .clone()
            .context("profile has no [request] client_id")?;
        let client_id = verifier::request::redirect_uri_client_id(
            &verifier::request::offline_response_uri(&desk),
        );
        Ok(Desk {
            client_id,
            verifier: Verifier::new(TrustStore::new(), StatusStore::new(), policy),
            pending: HashMap::new(),
        })
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.verifier.policy.name
    }

    /// Fetches the bureau's keys (`/.well-known/jwt-vc-issuer`) and the status-list tokens at
    /// `status_uris` while a network exists. Returns the number of lists known.
    ///
    /// # Errors
    /// Transport errors, untrusted or malformed material.
    pub async fn sync(
        &mut self,
        http: &reqwest::Client,
        issuer_url: &str,
        status_uris: &[String],
    ) -> anyhow::Result<usize> {
        let jwks = http
            .get(format!("{issuer_url}/.well-known/jwt-vc-issuer"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        self.verifier.trust = TrustStore::from_json(&jwks)?;
        for uri in status_uris {
            let token = http
                .get(uri)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?;
            self.verifier
                .status
                .add_token(&token, &self.verifier.trust, now())
                .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
        }
        Ok(self.verifier.status.lists().len())
    }

    /// A fresh request for this desk's policy, shown as a QR code; its nonce is remembered
    /// until answered or expired.
    pub fn request(&mut self) -> String {
        let nonce = new_nonce(&mut OsRng);
        let request = PresentationRequest::for_policy(
            &self.verifier.policy,
            &self.client_id,
            &nonce,
            ResponseMode::Shown,
        );
        let validity =
            i64::try_from(self.verifier.policy.request.validity.as_secs()).unwrap_or(600);
        self.pending.insert(
            nonce,
            PendingRequest {
                expires_at: now() + validity,
                query_ids: query_ids(&request.dcql_query),
            },
        );
        request.to_uri()
    }

    /// Checks a wallet's answer against the open requests, offline. The nonce is used up once
    /// the holder's signature checked out, whatever the policy decides.
    ///
    /// # Errors
    /// The [`Rejection`] naming the failed check.
    pub fn check(&mut self, answer: &str) -> Result<VerifiedPresentation, Rejection> {
        let answer =
            verifier::answer::parse(answer).map_err(|e| Rejection::new(e.code(), e.to_string()))?;
        let unknown = || {
            Rejection::new(
                "nonce_unknown_or_used",
                "the answer's nonce matches no open request",
            )
        };
        let nonce = answer.nonce_hint().ok_or_else(unknown)?;
        let pending = self.pending.get(&nonce).ok_or_else(unknown)?;
        if pending.expires_at < now() {
            self.pending.remove(&nonce);
            return Err(Rejection::new("request_expired", "the request has expired"));
        }
        answer
            .check_query_ids(&pending.query_ids)
            .map_err(|e| Rejection::new(e.code(), e.to_string()))?;
        let first = answer.presentations.first().ok_or_else(unknown)?;
        let result = self
            .verifier
            .verify(&first.presentation, &nonce, &self.client_id, now());
        if !matches!(result, Err(verifier::VerifierError::Credential(_))) {
            self.pending.remove(&nonce);
        }
        result.map_err(|e| Rejection::new(e.code(), e.to_string()))
    }
}
