//! The bureau: the issuer service started in-process on a loopback port, with a registered
//! messaging-platform key (for face-match attestations) and an officer and an admin token.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use issuer::config::Config;
use issuer::domain::Role;
use issuer::server::ServerHandle;
use issuer::Issuer;
use rand_core::OsRng;
use serde_json::{json, Value};
use testkit::Platform;

use super::now;

/// A credential offer as the bureau hands it out.
#[derive(Debug, Clone)]
pub struct Offer {
    /// `openid-credential-offer://?credential_offer=...` (by value).
    pub offer_uri: String,
    /// `openid-credential-offer://?credential_offer_uri=...` (by reference; a smaller QR code).
    pub offer_uri_by_reference: String,
    /// The PIN sent on another channel.
    pub tx_code: String,
}

/// The issuer service running on 127.0.0.1 with its data in `data`.
pub struct Bureau {
    /// The service.
    pub issuer: Arc<Issuer>,
    /// Its base URL (`http://127.0.0.1:PORT`), also its issuer identifier.
    pub url: String,
    officer_token: String,
    admin_token: String,
    platform: Platform,
    http: reqwest::Client,
    server: ServerHandle,
}

impl Bureau {
    /// Opens the issuer on `data` (keys and SQLite created on first start), registers a test
    /// messaging platform, creates an officer and an admin, and serves on 127.0.0.1:0.
    ///
    /// # Errors
    /// Storage, key or listener errors.
    pub async fn start(data: &Path) -> anyhow::Result<Bureau> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut cfg = Config::defaults(data.to_path_buf());
        cfg.listen = addr;
        cfg.public_url = format!("http://{addr}");
        cfg.public_url_set = true;
        let issuer = Issuer::open(cfg).map_err(|e| anyhow::anyhow!("issuer: {e}"))?;
        let (_, officer) = issuer
            .add_officer("demo", "counter officer", Role::Officer)
            .await
            .map_err(|e| anyhow::anyhow!("officer: {e}"))?;
        let (_, admin) = issuer
            .add_officer("demo", "bureau admin", Role::Admin)
            .await
            .map_err(|e| anyhow::anyhow!("admin: {e}"))?;
        let platform = Platform::generate(&mut OsRng);
        issuer
            .add_platform(
                "demo",
                "test messaging platform",
                &platform.public_jwk_json(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("platform: {e}"))?;
        let server = issuer::server::spawn(listener, issuer.clone())?;
        Ok(Bureau {
            issuer,
            url: server.url(),
            officer_token: officer.to_string(),
            admin_token: admin.to_string(),
            platform,
            http: reqwest::Client::new(),
            server,
        })
    }

    /// The thumbprint of the test platform's key.
    pub fn platform_kid(&self) -> &str {
        self.platform.kid()
    }

    /// A face-match attestation as the messaging platform signs it: the SHA-256 of the
    /// `id_number`, the score, liveness, `iat` and the issuer's nonce.
    pub fn attestation(&self, id_number: &str, nonce: &str, score: f64) -> String {
        self.platform.attestation(id_number, nonce, score, now())
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.context("issuer answer is not json")?;
        if !status.is_success() {
            anyhow::bail!("{path}: {status}: {}", v["error"].as_str().unwrap_or("?"));
        }
        Ok(v)
    }

    fn offer(v: &Value) -> anyhow::Result<Offer> {
        let text = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("enrolment answer has no {k}"))
        };
        Ok(Offer {
            offer_uri: text("offer_uri")?,
            offer_uri_by_reference: text("credential_offer_uri")?,
            tx_code: text("tx_code")?,
        })
    }

    /// Remote enrolment at basic: gets an attestation nonce, has the platform attest a face
    /// match with `score`, and enrols.
    ///
    /// # Errors
    /// The issuer's error (for example a score below its minimum).
    pub async fn enrol_basic(&self, claims: &Value, score: f64) -> anyhow::Result<Offer> {
        let nonce = self
            .post("/enrol/nonce", &self.officer_token, &json!({}))
            .await?;
        let nonce = nonce["nonce"].as_str().unwrap_or_default();
        let id_number = claims["id_number"].as_str().unwrap_or_default();
        let attestation = self.attestation(id_number, nonce, score);
        self.enrol(
            "/enrol/basic",
            &json!({"claims": claims, "attestation": attestation}),
        )
        .await
    }

    /// In-person enrolment at high by the counter officer.
    ///
    /// # Errors
    /// The issuer's error.
    pub async fn enrol_high(&self, claims: &Value) -> anyhow::Result<Offer> {
        self.enrol("/enrol/high", &json!({"claims": claims})).await
    }

    /// Posts an enrolment as the counter officer and reads the offer from the answer.
    async fn enrol(&self, path: &str, body: &Value) -> anyhow::Result<Offer> {
        let v = self.post(path, &self.officer_token, body).await?;
        Bureau::offer(&v)
    }

    /// Revokes every credential of the citizen with `id_number` (admin API). Returns how many
    /// credentials changed.
    ///
    /// # Errors
    /// The issuer's error.
    pub async fn revoke_citizen(&self, id_number: &str) -> anyhow::Result<usize> {
        let v = self
            .post(
                "/admin/citizens/revoke",
                &self.admin_token,
                &json!({"id_number": id_number}),
            )
            .await?;
        Ok(v["changed"].as_array().map_or(0, Vec::len))
    }

    /// Stops the server and closes storage.
    pub async fn stop(self) {
        let _ = self.server.shutdown().await;
        self.issuer.close();
    }
}
