//! What the relying-party tests share: a citizen credential issued with
//! `credential::citizen::issue`, the trust files, a running `verifier serve`, and our wallet's
//! answer to a request (`wallet::resolve_request`, `wallet::present`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use credential::status_list::StatusReference;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use testkit::{now, status_token};

const ISSUER: &str = "https://bureau.example.cn";
const BASIC: &str = include_str!("../../../examples/claims/citizen-basic.json");
const STATUS_URI: &str = "https://bureau.example.cn/status/0";
/// The bank backend's token for `POST /requests`.
pub const API_TOKEN: &str = "bank-backend-token-0123456789";

/// The credential's status reference, and its entry in the status token beside it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No status reference (the hotel accepts a short-lived credential without one).
    None,
    /// Referenced, and valid in `status.jwt`.
    Valid,
    /// Referenced, and revoked in `status.jwt`.
    Revoked,
}

/// A holder, their basic credential and the verifier's trust files (`trust.json`, and
/// `status.jwt` with a status reference), in a temporary directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub holder: SigningKey,
    pub bureau: SigningKey,
    pub credential: String,
    /// `--trust` and (with a status reference) `--status` arguments.
    pub trust_args: Vec<String>,
}

impl Fixture {
    /// A basic credential valid for 24 hours, with `status`.
    pub fn new(status: Status) -> Fixture {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let bureau = SigningKey::generate(Alg::Es256, &mut rng);
        let holder = SigningKey::generate(Alg::Es256, &mut rng);
        let claims = CitizenClaims::from_json(BASIC, Level::Basic).unwrap();
        let t = now();
        let reference = StatusReference {
            idx: 5,
            uri: STATUS_URI.into(),
        };
        let credential = issue(
            &IssueRequest {
                claims: &claims,
                level: Level::Basic,
                format: Format::DcSdJwt,
                issuer: ISSUER,
                holder: holder.public_jwk(),
                status: (status != Status::None).then_some(&reference),
                issued_at: t,
                expires_at: t + 86_400,
            },
            &bureau,
            &mut rng,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut fixture = Fixture {
            dir,
            holder,
            bureau,
            credential,
            trust_args: vec![],
        };
        let trust = fixture.file(
            "trust.json",
            &fixture.bureau.public_jwk().to_bare_value().to_string(),
        );
        fixture.trust_args = vec!["--trust".into(), trust];
        if status != Status::None {
            let revoked = status == Status::Revoked;
            let token = status_token(
                &fixture.bureau,
                (STATUS_URI, ISSUER),
                (t, t + 3600),
                5,
                revoked,
            );
            let status = fixture.file("status.jwt", &token);
            fixture.trust_args.extend(["--status".into(), status]);
        }
        fixture
    }

    /// Writes a file in the fixture's directory; its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// The verifier's data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A relying party's request-signing key, written as a private JWK: (key, file).
    pub fn rp_key(&self) -> (SigningKey, String) {
        let key = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(8));
        let file = self.file("rp.jwk", &key.to_private_jwk());
        (key, file)
    }

    /// Starts `verifier serve` for the hotel and bank profiles (`--sign-key` when `signed`).
    pub fn serve(&self, signed: bool) -> Server {
        let mut args = vec![
            "--profile".to_owned(),
            "hotel".into(),
            "--profile".into(),
            "bank".into(),
        ];
        if signed {
            args.extend(["--sign-key".into(), self.rp_key().1]);
        }
        self.serve_with(&args)
    }

    /// Starts `verifier serve` with these arguments besides the listener, API token, trust and
    /// data directory.
    pub fn serve_with(&self, args: &[String]) -> Server {
        let token = self.file("api-token", API_TOKEN);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verifier"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--api-token-file",
            &token,
        ])
        .args(&self.trust_args)
        .args(args)
        .arg("--data")
        .arg(self.data());
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_owned();
        Server { child, base }
    }

    /// Our wallet reads the request (fetching a request object by reference) and answers it
    /// with the hotel's claims: the request, and the answer it would post (not sent).
    pub async fn wallet_answer(
        &self,
        request_uri: &str,
    ) -> (wallet::AuthorizationRequest, wallet::Answer) {
        let http = wallet::http_client().unwrap();
        let request = wallet::resolve_request(&http, request_uri).await.unwrap();
        let query = &request.dcql_query.credentials[0];
        let disclose: Vec<ClaimPath> = query
            .claims
            .iter()
            .flatten()
            .map(|c| c.path.clone())
            .collect();
        let presentation = wallet::present(
            &self.credential,
            &self.holder,
            &disclose,
            &request.nonce,
            &request.client_id,
            now(),
        )
        .unwrap();
        let answer = wallet::Answer {
            vp_token: json!({ query.id.clone(): [presentation] }),
            state: request.state.clone(),
            response_mode: request.response_mode.clone(),
            copies_used: vec![],
            reused: vec![],
        };
        (request, answer)
    }
}

/// A running `verifier serve`, stopped on drop.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `POST /requests` from the bank's backend (201 expected).
    pub async fn create(&self, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/requests", self.base))
            .bearer_auth(API_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// `GET` of the request's result_uri: (status, JSON).
    pub async fn result(
        &self,
        created: &Value,
        secret: Option<&str>,
        code: Option<&str>,
    ) -> (u16, Value) {
        let mut url = created["result_uri"].as_str().unwrap().to_owned();
        if let Some(code) = code {
            url = format!("{url}?response_code={code}");
        }
        let mut req = reqwest::Client::new().get(url);
        if let Some(secret) = secret {
            req = req.bearer_auth(secret);
        }
        let response = req.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}
