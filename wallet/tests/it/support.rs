//! A real issuer on loopback, and a wallet in a temporary directory.

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use issuer::domain::Role;
use issuer::Issuer;
use wallet::{StorageKey, Store};

pub struct TestIssuer {
    pub issuer: Arc<Issuer>,
    /// Where the server listens (`url` is the same; the configured `public_url`, which offers
    /// and metadata carry, may name a proxy in front of it).
    pub addr: std::net::SocketAddr,
    pub url: String,
    pub officer_token: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestIssuer {
    pub async fn start() -> TestIssuer {
        TestIssuer::start_with(|_| {}).await
    }

    /// Starts with the configuration changed by `tweak` (after the defaults below).
    pub async fn start_with(tweak: impl FnOnce(&mut issuer::config::Config)) -> TestIssuer {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut cfg = issuer::config::Config::defaults(dir.path().to_path_buf());
        cfg.listen = addr;
        cfg.public_url = format!("http://{addr}");
        cfg.public_url_set = true;
        cfg.shard_size = 1024;
        cfg.batch_size = 10;
        // Tests refresh several times within seconds; the issuer's own tests cover the limit.
        cfg.refresh_min_interval = 0;
        tweak(&mut cfg);
        let issuer = Issuer::open_with_rng(cfg, ChaCha20Rng::seed_from_u64(1)).unwrap();
        let (_, officer) = issuer
            .add_officer("test", "officer", Role::Officer)
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
        TestIssuer {
            addr,
            url: format!("http://{addr}"),
            issuer,
            officer_token: officer.to_string(),
            http: reqwest::Client::new(),
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        }
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

    /// Enrols a citizen at high level (in person, officer); returns the offer answer.
    pub async fn enrol_high(&self, serial: u32) -> Value {
        let r = self
            .http
            .post(format!("{}/enrol/high", self.url))
            .bearer_auth(&self.officer_token)
            .json(&json!({"claims": high_claims(serial)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    }

    pub async fn jwt_vc_issuer(&self) -> String {
        self.http
            .get(format!("{}/.well-known/jwt-vc-issuer", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

pub fn id_number(serial: u32) -> String {
    let body = format!("11010519900101{:03}", (serial * 2 + 1) % 1000);
    let check = credential::citizen::IdNumber::check_character_for(&body).unwrap();
    format!("{body}{check}")
}

pub fn high_claims(serial: u32) -> Value {
    let mut c: Value =
        serde_json::from_str(include_str!("../../../examples/claims/citizen-high.json")).unwrap();
    c["id_number"] = json!(id_number(serial));
    c["birthdate"] = json!("1990-01-01");
    c["sex"] = json!(1);
    c
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn open_store(dir: &std::path::Path) -> Store {
    Store::open(dir, &StorageKey::from_bytes([7; 32])).unwrap()
}

/// A holder-key RNG that never repeats a stream in this process: the issuer binds each
/// holder key to one credential only.
pub fn holder_rng() -> ChaCha20Rng {
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ChaCha20Rng::seed_from_u64(42 ^ (n << 32))
}
