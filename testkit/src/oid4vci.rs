//! A small OpenID4VCI 1.0 client written from the specification (pre-authorized code flow):
//! the steps the tests repeat, each returning what the issuer answered.

use credential::jose::{sign_compact, Alg, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Map, Value};

use crate::http::get_json;
use crate::now;

/// The pre-authorized code grant type (section 4.1.1).
pub const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A credential offer parsed from an `openid-credential-offer://` URI (section 4.1).
pub fn parse_offer_uri(uri: &str) -> Value {
    let query = uri
        .strip_prefix("openid-credential-offer://?")
        .expect("offer uri scheme");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let (name, value) = &pairs[0];
    assert_eq!(name, "credential_offer");
    serde_json::from_str(value).unwrap()
}

/// The pre-authorized code of an enrolment answer's offer (by value).
pub fn pre_authorized_code(enrolment: &Value) -> String {
    let offer = parse_offer_uri(enrolment["offer_uri"].as_str().unwrap());
    offer["grants"][PRE_AUTH]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A key proof JWT (appendix F.1).
pub fn proof(holder: &SigningKey, aud: &str, nonce: &str, iat: i64) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), json!("openid4vci-proof+jwt"));
    header.insert("jwk".into(), holder.public_jwk().to_bare_value());
    let payload = json!({"aud": aud, "iat": iat, "nonce": nonce});
    sign_compact(header, payload.to_string().as_bytes(), holder)
}

/// The client side of the flow, with its own holder keys.
pub struct Wallet {
    /// Its HTTP client.
    pub http: reqwest::Client,
    /// Where its holder keys come from.
    pub rng: ChaCha20Rng,
}

/// An offer redeemed at the token endpoint.
pub struct Redeemed {
    /// The access token for the credential endpoint.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The credential issuer metadata.
    pub metadata: Value,
}

impl Wallet {
    /// A wallet whose keys come from `seed` and a process-wide counter: two wallets never
    /// draw the same holder key, which the issuer refuses to bind twice.
    pub fn new(seed: u64) -> Wallet {
        static WALLETS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WALLETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Wallet {
            http: reqwest::Client::new(),
            rng: ChaCha20Rng::seed_from_u64(seed ^ (n << 32)),
        }
    }

    /// Token request (section 6.1). Returns the status and body.
    pub async fn token(&self, issuer: &str, code: &str, tx_code: &str) -> (u16, Value) {
        let as_meta = get_json(
            &self.http,
            &format!("{issuer}/.well-known/oauth-authorization-server"),
        )
        .await;
        let r = self
            .http
            .post(as_meta["token_endpoint"].as_str().unwrap())
            .form(&[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", code),
                ("tx_code", tx_code),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Resolves an offer by value, reads the issuer's metadata and redeems the code with
    /// `tx_code`; the token request must succeed.
    pub async fn redeem(&self, offer_uri: &str, tx_code: &str) -> Redeemed {
        let offer = parse_offer_uri(offer_uri);
        let issuer = offer["credential_issuer"].as_str().unwrap();
        let metadata = get_json(
            &self.http,
            &format!("{issuer}/.well-known/openid-credential-issuer"),
        )
        .await;
        let code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
            .as_str()
            .unwrap();
        let (status, body) = self.token(issuer, code, tx_code).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        Redeemed {
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
            metadata,
        }
    }

    /// [`Wallet::redeem`] of an enrolment answer: its `offer_uri` with its `tx_code`.
    pub async fn redeem_offer(&self, enrolment: &Value) -> Redeemed {
        self.redeem(
            enrolment["offer_uri"].as_str().unwrap(),
            enrolment["tx_code"].as_str().unwrap(),
        )
        .await
    }

    /// Refresh grant (RFC 6749 section 6). Returns the status and body.
    pub async fn refresh(&self, issuer: &str, refresh_token: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{issuer}/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store");
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A fresh `c_nonce` from the nonce endpoint (section 7).
    pub async fn nonce(&self, metadata: &Value) -> String {
        let r = self
            .http
            .post(metadata["nonce_endpoint"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: Value = r.json().await.unwrap();
        v["c_nonce"].as_str().unwrap().to_owned()
    }

    /// Credential request (section 8.2). Returns status and body.
    pub async fn credential_request(
        &self,
        metadata: &Value,
        access_token: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(metadata["credential_endpoint"].as_str().unwrap())
            .bearer_auth(access_token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Credential request for `config` with these key proofs. Returns status and body.
    pub async fn request_with_proofs(
        &self,
        redeemed: &Redeemed,
        config: &str,
        proofs: &[String],
    ) -> (u16, Value) {
        self.credential_request(
            &redeemed.metadata,
            &redeemed.access_token,
            &json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}}),
        )
        .await
    }

    /// One copy of `config` proved over `nonce` with a fresh key. Returns status and body.
    pub async fn one_copy_with_nonce(
        &mut self,
        redeemed: &Redeemed,
        config: &str,
        nonce: &str,
    ) -> (u16, Value) {
        let aud = redeemed.metadata["credential_issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = SigningKey::generate(Alg::Es256, &mut self.rng);
        let proofs = [proof(&key, &aud, nonce, now())];
        self.request_with_proofs(redeemed, config, &proofs).await
    }

    /// One copy of `config` over a fresh `c_nonce` with a fresh key. Returns status and body.
    pub async fn one_copy(&mut self, redeemed: &Redeemed, config: &str) -> (u16, Value) {
        let nonce = self.nonce(&redeemed.metadata).await;
        self.one_copy_with_nonce(redeemed, config, &nonce).await
    }

    /// Requests `n` copies of `config`, each bound to a fresh key; the request must succeed.
    pub async fn credentials(
        &mut self,
        redeemed: &Redeemed,
        config: &str,
        n: usize,
    ) -> (Vec<SigningKey>, Vec<String>) {
        let aud = redeemed.metadata["credential_issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        let nonce = self.nonce(&redeemed.metadata).await;
        let keys: Vec<SigningKey> = (0..n)
            .map(|_| SigningKey::generate(Alg::Es256, &mut self.rng))
            .collect();
        let proofs: Vec<String> = keys.iter().map(|k| proof(k, &aud, &nonce, now())).collect();
        let (status, body) = self.request_with_proofs(redeemed, config, &proofs).await;
        assert_eq!(status, 200, "{body}");
        let creds = body["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["credential"].as_str().unwrap().to_owned())
            .collect();
        (keys, creds)
    }
}
