//! A real issuer on loopback: its storage in a temporary directory (or a fresh PostgreSQL
//! database), served by [`issuer::server::spawn`] on 127.0.0.1:0.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use credential::citizen::{CitizenClaims, Level};
use credential::jose::SigningKey;
use issuer::config::{Config, DatabaseUrl};
use issuer::domain::Role;
use issuer::server::ServerHandle;
use issuer::service::simulate::DirectCredential;
use issuer::Issuer;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use crate::http::post_json;
use crate::platform::Platform;
use crate::postgres::{fresh_postgres_database, postgres_base_url, Backend};

/// The test configuration of an issuer in `dir` listening on `addr`: `public_url` is
/// `http://ADDR`, status shards of 1024 entries, batches of 4 copies, and no minimum interval
/// between refreshes (most tests refresh several times within seconds; the rate-limit tests
/// set one).
pub fn config(dir: &Path, addr: SocketAddr) -> Config {
    let mut cfg = Config::defaults(dir.to_path_buf());
    cfg.listen = addr;
    cfg.public_url = format!("http://{addr}");
    cfg.public_url_set = true;
    cfg.shard_size = 1024;
    cfg.batch_size = 4;
    cfg.refresh_min_interval = 0;
    cfg
}

type Tweak<'a> = Box<dyn FnOnce(&mut Config) + 'a>;

/// How to start a [`TestIssuer`]: the backend, the seed of its CSPRNG and changes to
/// [`config`].
pub struct Builder<'a> {
    backend: Backend,
    seed: u64,
    tweaks: Vec<Tweak<'a>>,
}

impl<'a> Builder<'a> {
    /// Storage on `backend` (SQLite by default).
    pub fn backend(mut self, backend: Backend) -> Builder<'a> {
        self.backend = backend;
        self
    }

    /// The seed of the issuer's CSPRNG (7 by default): issuers with different seeds have
    /// different keys.
    pub fn seed(mut self, seed: u64) -> Builder<'a> {
        self.seed = seed;
        self
    }

    /// Changes the configuration (after [`config`] and the backend's settings).
    pub fn config(mut self, tweak: impl FnOnce(&mut Config) + 'a) -> Builder<'a> {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// Starts the issuer; `None` on PostgreSQL when no test server is configured.
    pub async fn try_start(self) -> Option<TestIssuer> {
        if self.backend == Backend::Postgres {
            postgres_base_url()?;
        }
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut cfg = config(dir.path(), addr);
        if self.backend == Backend::Postgres {
            let url = fresh_postgres_database().await?;
            cfg.database_url = Some(DatabaseUrl::parse(&url).unwrap());
        }
        for tweak in self.tweaks {
            tweak(&mut cfg);
        }
        let issuer = Issuer::connect_with_rng(cfg, ChaCha20Rng::seed_from_u64(self.seed))
            .await
            .unwrap();
        let (_, admin) = issuer
            .add_officer("test", "admin", Role::Admin)
            .await
            .unwrap();
        let (_, officer) = issuer
            .add_officer("test", "officer", Role::Officer)
            .await
            .unwrap();
        let platform = Platform::generate(&mut ChaCha20Rng::seed_from_u64(self.seed + 1));
        issuer
            .add_platform("test", "platform", &platform.public_jwk_json())
            .await
            .unwrap();
        let server = issuer::server::spawn(listener, issuer.clone()).unwrap();
        Some(TestIssuer {
            addr,
            url: server.url(),
            issuer,
            admin_token: admin.to_string(),
            officer_token: officer.to_string(),
            platform,
            http: reqwest::Client::new(),
            dir,
            server: Some(server),
        })
    }

    /// Starts the issuer.
    ///
    /// # Panics
    /// On PostgreSQL when no test server is configured, and when any step fails.
    pub async fn start(self) -> TestIssuer {
        self.try_start()
            .await
            .expect("ISSUER_TEST_DATABASE_URL names the PostgreSQL test server")
    }
}

/// A running issuer on loopback with an admin, an officer and a registered messaging platform.
pub struct TestIssuer {
    /// The service.
    pub issuer: Arc<Issuer>,
    /// Where the server listens (`url` is the same; the configured `public_url`, which offers
    /// and metadata carry, may name a proxy in front of it).
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub url: String,
    /// An admin's bearer token.
    pub admin_token: String,
    /// A counter officer's bearer token.
    pub officer_token: String,
    /// The registered messaging platform.
    pub platform: Platform,
    /// A client for the tests' requests.
    pub http: reqwest::Client,
    dir: tempfile::TempDir,
    server: Option<ServerHandle>,
}

impl TestIssuer {
    /// How to start one, from the defaults (SQLite, seed 7, [`config`]).
    pub fn builder<'a>() -> Builder<'a> {
        Builder {
            backend: Backend::Sqlite,
            seed: 7,
            tweaks: Vec::new(),
        }
    }

    /// Starts with the defaults on SQLite.
    pub async fn start() -> TestIssuer {
        TestIssuer::builder().start().await
    }

    /// Starts on SQLite with the configuration changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestIssuer {
        TestIssuer::builder().config(tweak).start().await
    }

    /// Starts on `backend`; `None` when it is PostgreSQL and no server is configured.
    pub async fn start_on(backend: Backend) -> Option<TestIssuer> {
        TestIssuer::builder().backend(backend).try_start().await
    }

    /// [`TestIssuer::start_on`] with the configuration changed by `tweak`.
    pub async fn start_on_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<TestIssuer> {
        TestIssuer::builder()
            .backend(backend)
            .config(tweak)
            .try_start()
            .await
    }

    /// Stops serving (in-flight requests finish); the issuer stays open.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
    }

    /// Stops serving and closes the issuer's storage.
    pub async fn stop(mut self) {
        self.stop_server().await;
        self.issuer.close();
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Counts rows of a table (to show that a rejected request changed nothing).
    pub async fn count(&self, what: &str) -> i64 {
        self.issuer.store.count_rows(what).await.unwrap()
    }

    /// `GET path` of the issuer; the body as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        crate::http::get_json(&self.http, &format!("{}{path}", self.url)).await
    }

    /// `GET path` of the issuer; the body as text.
    pub async fn get_text(&self, path: &str) -> String {
        crate::http::get_text(&self.http, &format!("{}{path}", self.url)).await
    }

    /// `GET /.well-known/jwt-vc-issuer` as text: the issuer's signing keys.
    pub async fn jwt_vc_issuer(&self) -> String {
        self.get_text("/.well-known/jwt-vc-issuer").await
    }

    /// `POST path` with the officer's token; the status and JSON body.
    pub async fn post_as_officer(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(&self.officer_token, path, body).await
    }

    /// `POST path` with the admin's token; the status and JSON body.
    pub async fn post_as_admin(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(&self.admin_token, path, body).await
    }

    /// `POST path` with bearer `token`; the status and JSON body.
    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        post_json(&self.http, &format!("{}{path}", self.url), token, body).await
    }

    /// The status of `GET /offers/{id}` for an enrolment answer's offer.
    pub async fn offer_status(&self, enrolment: &Value) -> u16 {
        let id = enrolment["offer_id"].as_str().unwrap();
        self.http
            .get(format!("{}/offers/{id}", self.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// `POST /admin/status/{shard}/{idx}/{action}` (no body) with bearer `token`: the status
    /// and JSON body.
    pub async fn entry_action(
        &self,
        token: &str,
        shard: impl std::fmt::Display,
        idx: impl std::fmt::Display,
        action: &str,
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/admin/status/{shard}/{idx}/{action}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// `POST /admin/citizens/{action}` (`suspend`, `reinstate`, `revoke`) for citizen
    /// `serial` as admin; status and body.
    pub async fn citizen(&self, action: &str, serial: u32) -> (u16, Value) {
        self.post_as_admin(
            &format!("/admin/citizens/{action}"),
            &json!({"id_number": crate::id_number(serial)}),
        )
        .await
    }

    /// [`TestIssuer::citizen`], which must succeed.
    pub async fn citizen_ok(&self, action: &str, serial: u32) {
        let (status, body) = self.citizen(action, serial).await;
        assert_eq!(status, 200, "{action}: {body}");
    }

    /// Enrols a citizen at high level (in person, by the officer); the enrolment answer
    /// (offer URIs and tx_code).
    pub async fn enrol_high(&self, claims: &Value) -> Value {
        let (status, body) = self
            .post_as_officer("/enrol/high", &json!({"claims": claims}))
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// The basic example claims (`examples/claims/citizen-basic.json`) issued directly to
    /// `holder`, without the OpenID4VCI flow.
    pub async fn credential(&self, holder: &SigningKey) -> DirectCredential {
        let claims = CitizenClaims::from_json(crate::BASIC_EXAMPLE, Level::Basic).unwrap();
        self.issuer
            .issue_direct(&claims, Level::Basic, holder.public_jwk())
            .await
            .unwrap()
    }

    /// A face-match attestation by the registered platform.
    pub fn attestation(&self, id_number: &str, nonce: &str, score: f64, iat: i64) -> String {
        self.platform.attestation(id_number, nonce, score, iat)
    }

    /// Enrols a citizen at basic level (remote, with the platform's attestation of a 0.97
    /// face match); the enrolment answer.
    pub async fn enrol_basic(&self, claims: &Value) -> Value {
        let (_, nonce) = self.post_as_officer("/enrol/nonce", &json!({})).await;
        let att = self.attestation(
            claims["id_number"].as_str().unwrap(),
            nonce["nonce"].as_str().unwrap(),
            0.97,
            crate::now(),
        );
        let (status, body) = self
            .post_as_officer(
                "/enrol/basic",
                &json!({"claims": claims, "attestation": att}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }
}
