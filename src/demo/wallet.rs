//! The citizen's side, written from the specs for the demo and the end-to-end tests:
//! OpenID4VCI 1.0 pre-authorized code flow with `tx_code` and `jwt` proofs, and an OpenID4VP
//! 1.0 answer to a DCQL request (the claims asked for, nothing more, with a KB-JWT).

use anyhow::Context as _;
use credential::jose::{sign_compact, Alg, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, KeyBinding, Limits, PathSegment, SdJwt, VerifyOptions,
};
use rand_core::OsRng;
use serde_json::{json, Map, Value};
use verifier::request::PresentationRequest;
use verifier::TrustStore;

use super::now;

const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A credential the wallet holds, with the key it is bound to.
pub struct Held {
    /// The SD-JWT as issued (`<jwt>~<disclosure>~...~`).
    pub sd_jwt: String,
    /// The holder key (`cnf.jwk`).
    pub key: SigningKey,
    /// `vct`.
    pub vct: String,
    /// Every claim, as the holder sees it.
    pub claims: Map<String, Value>,
}

/// Why a wallet step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The issuer answered with an OAuth / OpenID4VCI error code.
    #[error("issuer refused: {code}")]
    Issuer {
        /// `error` of the answer (`invalid_grant`, `invalid_proof`, ...).
        code: String,
    },
    /// A received credential did not verify against the issuer's published keys.
    #[error("received credential does not verify: {code}")]
    Unverified {
        /// The failed check.
        code: &'static str,
    },
    /// The request asks for a claim no held credential has.
    #[error("no held credential has the requested claim {path}")]
    MissingClaim {
        /// The claim.
        path: String,
    },
    /// No held credential is of a requested type.
    #[error("no held credential of a requested type")]
    NoMatchingCredential,
    /// Anything else (transport, malformed answers).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The demo wallet: an HTTP client and the held credentials.
pub struct DemoWallet {
    http: reqwest::Client,
    /// The credentials received so far.
    pub held: Vec<Held>,
}

impl Default for DemoWallet {
    fn default() -> DemoWallet {
        DemoWallet::new()
    }
}

async fn json_of(r: reqwest::Response) -> Result<Value, WalletError> {
    let status = r.status();
    let v: Value = r.json().await.context("answer is not json")?;
    if !status.is_success() {
        return Err(WalletError::Issuer {
            code: v["error"].as_str().unwrap_or("unknown").to_owned(),
        });
    }
    Ok(v)
}

impl DemoWallet {
    /// An empty wallet.
    pub fn new() -> DemoWallet {
        DemoWallet {
            http: reqwest::Client::new(),
            held: Vec::new(),
        }
    }

    /// Reads an `openid-credential-offer://` URI, by value or by reference (section 4.1).
    async fn offer(&self, offer_uri: &str) -> Result<Value, WalletError> {
        let query = offer_uri
            .strip_prefix("openid-credential-offer://")
            .map(|q| q.trim_start_matches('/').trim_start_matches('?'))
            .context("not an openid-credential-offer:// uri")?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).context("offer query")?;
        let find = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let Some(offer) = find("credential_offer") {
            return Ok(serde_json::from_str(&offer).context("credential_offer")?);
        }
        let uri = find("credential_offer_uri").context("offer has no credential_offer")?;
        json_of(self.http.get(uri).send().await.context("offer uri")?).await
    }

    /// Receives `copies` credentials of the offered configuration whose id ends in `format`
    /// (`dc_sd_jwt` or `vc_sd_jwt`): metadata, token (pre-authorized code + `tx_code`), nonce,
    /// one holder key and `jwt` proof per copy, credential request. Every credential is
    /// verified against the issuer's published keys before it is kept. Returns how many were
    /// kept.
    ///
    /// # Errors
    /// [`WalletError::Issuer`] with the issuer's error code (a wrong `tx_code` is
    /// `invalid_grant`), [`WalletError::Unverified`] when a credential does not verify.
    pub async fn receive(
        &mut self,
        offer_uri: &str,
        tx_code: &str,
        format: &str,
        copies: usize,
    ) -> Result<usize, WalletError> {
        let offer = self.offer(offer_uri).await?;
        let issuer = offer["credential_issuer"]
            .as_str()
            .context("offer has no credential_issuer")?
            .to_owned();
        let config = offer["credential_configuration_ids"]
            .as_array()
            .and_then(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .find(|id| id.ends_with(format))
            })
            .context("offer has no configuration of that format")?
            .to_owned();
        let code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
            .as_str()
            .context("offer has no pre-authorized code")?;
        let get = |path: String| self.http.get(path).send();
        let meta = json_of(
            get(format!("{issuer}/.well-known/openid-credential-issuer"))
                .await
                .context("issuer metadata")?,
        )
        .await?;
        let as_meta = json_of(
            get(format!("{issuer}/.well-known/oauth-authorization-server"))
                .await
                .context("as metadata")?,
        )
        .await?;
        let token = json_of(
            self.http
                .post(
                    as_meta["token_endpoint"]
                        .as_str()
                        .context("token_endpoint")?,
                )
                .form(&[
                    ("grant_type", PRE_AUTH),
                    ("pre-authorized_code", code),
                    ("tx_code", tx_code),
                ])
                .send()
                .await
                .context("token request")?,
        )
        .await?;
        let access_token = token["access_token"].as_str().context("access_token")?;
        let nonce = json_of(
            self.http
                .post(meta["nonce_endpoint"].as_str().context("nonce_endpoint")?)
                .send()
                .await
                .context("nonce request")?,
        )
        .await?;
        let c_nonce = nonce["c_nonce"].as_str().context("c_nonce")?;
        let keys: Vec<SigningKey> = (0..copies)
            .map(|_| SigningKey::generate(Alg::Es256, &mut OsRng))
            .collect();
        let proofs: Vec<String> = keys
            .iter()
            .map(|k| {
                let mut header = Map::new();
                header.insert("typ".into(), json!("openid4vci-proof+jwt"));
                header.insert("jwk".into(), k.public_jwk().to_bare_value());
                let payload = json!({"aud": issuer, "iat": now(), "nonce": c_nonce});
                sign_compact(header, payload.to_string().as_bytes(), k)
            })
            .collect();
        let answer = json_of(
            self.http
                .post(
                    meta["credential_endpoint"]
                        .as_str()
                        .context("credential_endpoint")?,
                )
                .bearer_auth(access_token)
                .json(&json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}}))
                .send()
                .await
                .context("credential request")?,
        )
        .await?;
        let credentials: Vec<String> = answer["credentials"]
            .as_array()
            .context("credentials")?
            .iter()
            .filter_map(|c| c["credential"].as_str().map(str::to_owned))
            .collect();
        let jwks = get(format!("{issuer}/.well-known/jwt-vc-issuer"))
            .await
            .context("issuer keys")?
            .text()
            .await
            .context("issuer keys")?;
        let trust = TrustStore::from_json(&jwks).context("issuer keys")?;
        // Verify all before keeping any.
        let mut received = Vec::new();
        for (sd_jwt, key) in credentials.into_iter().zip(keys) {
            received.push(DemoWallet::check(&trust, sd_jwt, key)?);
        }
        let n = received.len();
        self.held.extend(received);
        Ok(n)
    }

    /// Verifies a received credential and builds the holder's view of it.
    ///
    /// # Errors
    /// [`WalletError::Unverified`] naming the failed check.
    pub fn check(trust: &TrustStore, sd_jwt: String, key: SigningKey) -> Result<Held, WalletError> {
        let unverified =
            |e: credential::sd_jwt::VerifyError| WalletError::Unverified { code: e.code() };
        let parsed = SdJwt::parse(&sd_jwt, &Limits::default()).map_err(unverified)?;
        let verified = parsed
            .verify(trust, &VerifyOptions::new(now(), KeyBinding::NotRequired))
            .map_err(unverified)?;
        if verified.holder_key.as_ref() != Some(key.public_jwk()) {
            return Err(WalletError::Unverified {
                code: "cnf_mismatch",
            });
        }
        let claims = verified.claims;
        let vct = claims
            .get("vct")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                claims
                    .get("type")?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| t.starts_with("urn:cn:citizen-id:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let holder = parsed.holder_view().map_err(unverified)?;
        Ok(Held {
            sd_jwt,
            key,
            vct,
            claims: holder.claims,
        })
    }

    /// Answers an `openid4vp://` request with the first held credential of a requested type
    /// that has every requested claim. Returns the `vp_token` JSON text.
    ///
    /// # Errors
    /// [`WalletError::MissingClaim`] when a credential of the right type lacks a requested
    /// claim, [`WalletError::NoMatchingCredential`] when none is of a requested type.
    pub fn answer(&self, request_uri: &str) -> Result<String, WalletError> {
        let request = PresentationRequest::from_uri(request_uri).context("request")?;
        let query = &request.dcql_query["credentials"][0];
        let types: Vec<&str> = query["meta"]["vct_values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut missing = None;
        for (i, held) in self.held.iter().enumerate() {
            if !types.is_empty() && !types.contains(&held.vct.as_str()) {
                continue;
            }
            match self.answer_with(request_uri, i, false) {
                Err(WalletError::MissingClaim { path }) => missing = Some(path),
                other => return other,
            }
        }
        Err(match missing {
            Some(path) => WalletError::MissingClaim { path },
            None => WalletError::NoMatchingCredential,
        })
    }

    /// Answers with held credential `index`, whatever its type (a wallet would not offer a
    /// credential of another type; the demo does it to show the relying party refuse). With
    /// `partial`, requested claims the credential lacks are left out instead of refusing.
    ///
    /// # Errors
    /// [`WalletError::MissingClaim`] when the credential lacks a requested claim and not
    /// `partial`.
    pub fn answer_with(
        &self,
        request_uri: &str,
        index: usize,
        partial: bool,
    ) -> Result<String, WalletError> {
        let request = PresentationRequest::from_uri(request_uri).context("request")?;
        let held = self.held.get(index).context("no such credential")?;
        let query = &request.dcql_query["credentials"][0];
        let id = query["id"].as_str().context("credential query id")?;
        let holder_value = Value::Object(held.claims.clone());
        let subject = held.claims.get("credentialSubject");
        let mut paths = Vec::new();
        for claim in query["claims"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let path = ClaimPath::from_json(&claim["path"]).context("claim path")?;
            // The W3C form keeps the claims inside credentialSubject.
            let (path, found) = match subject {
                Some(s) => (
                    ClaimPath(
                        std::iter::once(PathSegment::Key("credentialSubject".into()))
                            .chain(path.0.iter().cloned())
                            .collect(),
                    ),
                    !path.lookup(s).is_empty(),
                ),
                None => (path.clone(), !path.lookup(&holder_value).is_empty()),
            };
            if !found && partial {
                continue;
            }
            if !found {
                return Err(WalletError::MissingClaim {
                    path: path.to_string(),
                });
            }
            paths.push(path);
        }
        let parsed = SdJwt::parse(&held.sd_jwt, &Limits::default())
            .map_err(|e| WalletError::Unverified { code: e.code() })?;
        let selected = parsed
            .select(&paths)
            .map_err(|e| WalletError::Unverified { code: e.code() })?;
        let presentation = add_key_binding(
            &selected,
            &held.key,
            &request.nonce,
            &request.client_id,
            now(),
        );
        Ok(verifier::answer::vp_token(id, &presentation).to_string())
    }
}
