//! A small OpenID4VCI 1.0 client written from the spec (pre-authorized code flow), plus
//! helpers to run an issuer in a temporary directory.

use std::net::SocketAddr;
use std::sync::Arc;

use credential::b64;
use credential::jose::{sign_compact, Alg, Jws, PublicJwk, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use issuer::config::Config;
use issuer::domain::Role;
use issuer::Issuer;

pub const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A running issuer on loopback.
pub struct TestIssuer {
    pub issuer: Arc<Issuer>,
    pub url: String,
    pub admin_token: String,
    pub officer_token: String,
    pub platform: SigningKey,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn config(dir: &std::path::Path, addr: SocketAddr) -> Config {
    let mut cfg = Config::defaults(dir.to_path_buf());
    cfg.listen = addr;
    cfg.public_url = format!("http://{addr}");
    cfg.public_url_set = true;
    cfg.shard_size = 1024;
    cfg.batch_size = 4;
    // Most tests refresh several times within seconds; the rate-limit tests turn it on.
    cfg.refresh_min_interval = 0;
    cfg
}

/// PostgreSQL tests hold it for reading; the server-restart test holds it for writing, so no
/// other PostgreSQL test runs while the server restarts.
pub static PG_GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Which storage backend a shared test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests use, from `ISSUER_TEST_DATABASE_URL`. When it is not set
/// the PostgreSQL tests print a skip line, unless `CI_REQUIRE_POSTGRES=1`: then they fail.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("ISSUER_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CI_REQUIRE_POSTGRES=1 but ISSUER_TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped: set ISSUER_TEST_DATABASE_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// `base` with its database name replaced by `db`.
pub fn with_database(base: &str, db: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (base, String::new()),
    };
    let (scheme, rest) = main.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    format!("{scheme}://{authority}/{db}{query}")
}

/// A fresh, empty PostgreSQL database for one test (tests run in parallel); its URL.
pub async fn fresh_postgres_database() -> Option<String> {
    let base = postgres_base_url()?;
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to ISSUER_TEST_DATABASE_URL");
    let task = tokio::spawn(conn);
    let mut seed = [0u8; 8];
    rand_core::OsRng.fill_bytes(&mut seed);
    let name = format!(
        "issuer_t_{}_{:016x}",
        std::process::id(),
        u64::from_le_bytes(seed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE (the role needs CREATEDB)");
    drop(client);
    let _ = task.await;
    Some(with_database(&base, &name))
}

impl TestIssuer {
    /// Starts on `backend`; `None` when it is PostgreSQL and no server is configured.
    pub async fn start_on(backend: Backend) -> Option<TestIssuer> {
        TestIssuer::start_on_with(backend, |_| {}).await
    }

    pub async fn start_on_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<TestIssuer> {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut cfg = config(dir.path(), addr);
        if backend == Backend::Postgres {
            let url = fresh_postgres_database().await?;
            cfg.database_url = Some(issuer::config::DatabaseUrl::parse(&url).unwrap());
        }
        tweak(&mut cfg);
        let issuer = Issuer::connect_with_rng(cfg, ChaCha20Rng::seed_from_u64(7))
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
        let platform = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(8));
        issuer
            .add_platform(
                "test",
                "platform",
                &platform.public_jwk().to_bare_value().to_string(),
            )
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = issuer.clone();
        let task = tokio::spawn(async move {
            issuer::server::run(listener, server, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Some(TestIssuer {
            url: format!("http://{addr}"),
            issuer,
            admin_token: admin.to_string(),
            officer_token: officer.to_string(),
            platform,
            http: reqwest::Client::new(),
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.issuer.close();
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Counts rows of a table (to show that a rejected request changed nothing).
    pub async fn count(&self, what: &str) -> i64 {
        self.issuer.store.count_rows(what).await.unwrap()
    }

    pub async fn enrol_high(&self, claims: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}/enrol/high", self.url))
            .bearer_auth(&self.officer_token)
            .json(&json!({"claims": claims}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        r.json().await.unwrap()
    }

    pub fn attestation(&self, id_number: &str, nonce: &str, score: f64, iat: i64) -> String {
        let mut header = Map::new();
        header.insert("kid".into(), json!(self.platform.kid()));
        header.insert("typ".into(), json!("face-match+jwt"));
        let payload = json!({
            "id_number_sha256": b64::encode(Sha256::digest(id_number.as_bytes())),
            "score": score,
            "liveness": true,
            "iat": iat,
            "nonce": nonce,
        });
        sign_compact(header, payload.to_string().as_bytes(), &self.platform)
    }

    pub async fn enrol_basic(&self, claims: &Value) -> Value {
        let nonce: Value = self
            .http
            .post(format!("{}/enrol/nonce", self.url))
            .bearer_auth(&self.officer_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let att = self.attestation(
            claims["id_number"].as_str().unwrap(),
            nonce["nonce"].as_str().unwrap(),
            0.97,
            now(),
        );
        let r = self
            .http
            .post(format!("{}/enrol/basic", self.url))
            .bearer_auth(&self.officer_token)
            .json(&json!({"claims": claims, "attestation": att}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        r.json().await.unwrap()
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An 18-character id number with a valid check digit, born 1990-01-01, odd sequence (male).
pub fn id_number(serial: u32) -> String {
    let body = format!("11010519900101{:03}", (serial * 2 + 1) % 1000);
    let check = credential::citizen::IdNumber::check_character_for(&body).unwrap();
    format!("{body}{check}")
}

const HIGH_EXAMPLE: &str = include_str!("../../../examples/claims/citizen-high.json");

pub fn basic_claims(serial: u32) -> Value {
    json!({
        "family_name": "王",
        "given_name": "小明",
        "birthdate": "1990-01-01",
        "sex": 1,
        "nationality": "CN",
        "id_number": id_number(serial),
    })
}

pub fn high_claims(serial: u32) -> Value {
    let example: Value = serde_json::from_str(HIGH_EXAMPLE).unwrap();
    let mut c = basic_claims(serial);
    for k in ["address", "ethnicity", "portrait", "id_card"] {
        c[k] = example[k].clone();
    }
    c
}

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

/// A key proof JWT (appendix F.1).
pub fn proof(holder: &SigningKey, aud: &str, nonce: &str, iat: i64) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), json!("openid4vci-proof+jwt"));
    header.insert("jwk".into(), holder.public_jwk().to_bare_value());
    let payload = json!({"aud": aud, "iat": iat, "nonce": nonce});
    sign_compact(header, payload.to_string().as_bytes(), holder)
}

pub struct Wallet {
    pub http: reqwest::Client,
    pub rng: ChaCha20Rng,
}

pub struct Redeemed {
    pub access_token: String,
    pub refresh_token: String,
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
        let as_meta: Value = self
            .http
            .get(format!("{issuer}/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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

    pub async fn redeem(&self, offer_uri: &str, tx_code: &str) -> Redeemed {
        let offer = parse_offer_uri(offer_uri);
        let issuer = offer["credential_issuer"].as_str().unwrap();
        let metadata: Value = self
            .http
            .get(format!("{issuer}/.well-known/openid-credential-issuer"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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

    /// Requests `n` copies of `config`, each bound to a fresh key.
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
        let (status, body) = self
            .credential_request(
                &redeemed.metadata,
                &redeemed.access_token,
                &json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}}),
            )
            .await;
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

/// Verifies an issued SD-JWT against the issuer's published keys; returns the JWT payload and
/// the disclosed claims by name.
pub async fn verify_sd_jwt(
    http: &reqwest::Client,
    issuer: &str,
    sd_jwt: &str,
) -> (Value, Map<String, Value>) {
    let meta: Value = http
        .get(format!("{issuer}/.well-known/jwt-vc-issuer"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut parts = sd_jwt.split('~');
    let jwt = Jws::parse(parts.next().unwrap()).unwrap();
    let kid = jwt.header().kid.clone().unwrap();
    let jwk = meta["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("signing key published");
    let mut jwk = jwk.clone();
    jwk.as_object_mut().unwrap().remove("use");
    let key = PublicJwk::from_value(&jwk).unwrap();
    jwt.verify(&key).expect("credential signature verifies");
    // The full RFC 9901 verification of the shared engine: signature, every disclosure digest
    // referenced exactly once, times, cnf.
    use credential::sd_jwt::{KeyBinding, Limits, SdJwt, VerifyOptions};
    let parsed = SdJwt::parse(sd_jwt, &Limits::default()).expect("sd-jwt parses");
    let verified = parsed
        .verify(&key, &VerifyOptions::new(now(), KeyBinding::NotRequired))
        .expect("sd-jwt verifies");
    assert!(verified.holder_key.is_some());
    let payload: Value = serde_json::from_slice(jwt.payload()).unwrap();
    let disclosures: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    let mut referenced = payload.to_string();
    let mut disclosed = Map::new();
    for d in &disclosures {
        let arr: Value = serde_json::from_slice(&b64::decode(d).unwrap()).unwrap();
        referenced.push_str(&arr[2].to_string());
        disclosed.insert(arr[1].as_str().unwrap().to_owned(), arr[2].clone());
    }
    for d in &disclosures {
        let digest = b64::encode(Sha256::digest(d.as_bytes()));
        assert_eq!(
            referenced.matches(&digest).count(),
            1,
            "each disclosure digest is referenced once"
        );
    }
    (payload, disclosed)
}

/// Verifies an issued credential the way a relying party does, with the `verifier` crate:
/// trust from `/.well-known/jwt-vc-issuer`, revocation state from the status-list token the
/// credential points at, and a presentation of `claims` with a KB-JWT by `holder`.
pub async fn verify_with_verifier(
    http: &reqwest::Client,
    issuer: &str,
    sd_jwt: &str,
    holder: &SigningKey,
    claims: &[&str],
) -> Result<verifier::VerifiedPresentation, verifier::VerifierError> {
    use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt};
    let meta = http
        .get(format!("{issuer}/.well-known/jwt-vc-issuer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let trust = verifier::TrustStore::from_json(&meta).unwrap();
    let parsed = SdJwt::parse(sd_jwt, &Limits::default()).unwrap();
    let payload: Value = serde_json::from_slice(
        Jws::parse(sd_jwt.split('~').next().unwrap())
            .unwrap()
            .payload(),
    )
    .unwrap();
    let status_uri = match payload["status"]["status_list"]["uri"].as_str() {
        Some(uri) => uri.to_owned(),
        None => payload["credentialStatus"][0]["statusListCredential"]
            .as_str()
            .unwrap()
            .trim_end_matches("/revocation")
            .to_owned(),
    };
    let token = http
        .get(&status_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut status = verifier::StatusStore::new();
    assert_eq!(status.add_token(&token, &trust, now()).unwrap(), status_uri);
    let policy = verifier::Policy {
        required_claims: claims.iter().map(|c| ClaimPath::parse_dotted(c)).collect(),
        ..Default::default()
    };
    // The W3C form keeps the claims inside `credentialSubject`.
    let requested: Vec<ClaimPath> = claims
        .iter()
        .map(|c| match payload.get("credentialSubject") {
            Some(_) => ClaimPath::parse_dotted(&format!("credentialSubject.{c}")),
            None => ClaimPath::parse_dotted(c),
        })
        .collect();
    let presentation = parsed.select(&requested).unwrap();
    let presentation = add_key_binding(
        &presentation,
        holder,
        "n-issuer-test",
        "https://rp.example",
        now(),
    );
    verifier::Verifier::new(trust, status, policy).verify(
        &presentation,
        "n-issuer-test",
        "https://rp.example",
        now(),
    )
}

/// Runs each named `async fn NAME(backend: Backend)` test on SQLite (`sqlite::NAME`) and on
/// PostgreSQL (`postgres::NAME`, skipped with a message when no server is configured unless
/// `CI_REQUIRE_POSTGRES=1`).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::client::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let _gate = $crate::client::PG_GATE.read().await;
                    if $crate::client::postgres_base_url().is_some() {
                        super::$name($crate::client::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}
