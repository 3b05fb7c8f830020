//! Interoperability of our OpenID4VP 1.0 requests, answers and online verifier with an
//! independent implementation, the npm library `@openid4vc/openid4vp` 0.4.6, driven through
//! `interop/node/openid4vp_interop.mjs` (installed by `.ci/install`'s `npm ci`):
//!
//! - their wallet against `verifier request`: the offline desk's request (unsigned,
//!   `redirect_uri:` client id, direct_post to `offline.invalid`), a signed one by value and a
//!   signed one by reference (`--request-uri`); our `verifier verify` accepts their answers;
//! - their wallet against `verifier serve`: it fetches the signed request object, posts by
//!   direct_post, and the bank's result shows the verified claims;
//! - their relying party against our wallet: the `wallet` CLI (`init`, `import`, `present`),
//!   and the wallet library (`wallet::resolve_request`, `wallet::present`, `wallet::send`); it
//!   accepts our direct_post answer.
//!
//! When node or the pinned packages are missing, each test prints one line saying what is
//! missing and passes without running; with `CI_REQUIRE_INTEROP=1` it fails instead.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod rp_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use rp_support::{Fixture, Status};
use serde_json::{json, Value};

const LIBRARY: &str = "@openid4vc/openid4vp";
const VERSION: &str = "0.4.6";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn harness() -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(root().join("interop/node/openid4vp_interop.mjs"))
        .current_dir(root());
    cmd
}

/// Whether node and the pinned library are installed; else one line on stderr (or a failure
/// under `CI_REQUIRE_INTEROP=1`).
fn installed() -> bool {
    let node = Command::new("node").arg("--version").output();
    let pkg = root().join(format!("interop/node/node_modules/{LIBRARY}/package.json"));
    let version = std::fs::read_to_string(pkg)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    let missing = match (node, version.as_deref()) {
        (Ok(out), Some(VERSION)) if out.status.success() => return true,
        (Ok(out), found) if out.status.success() => format!(
            "{LIBRARY} {VERSION} in interop/node (found {})",
            found.unwrap_or("none")
        ),
        _ => "node".to_owned(),
    };
    assert!(
        std::env::var("CI_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "CI_REQUIRE_INTEROP=1 but {missing} is missing; run .ci/install"
    );
    let _ = writeln!(
        std::io::stderr(),
        "skipped: openid4vp interop tests: missing {missing}; install with .ci/install"
    );
    false
}

fn verifier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .output()
        .unwrap()
}

/// `verifier request --profile hotel --json` with extra arguments: the printed JSON.
fn request(f: &Fixture, extra: &[&str]) -> Value {
    let data = f.data();
    let mut args = vec!["request", "--profile", "hotel", "--json", "--data"];
    args.push(data.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = verifier(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs their wallet on `request_uri`.
fn run_their_wallet(f: &Fixture, request_uri: &str, extra: &[&str]) -> Output {
    let credential = f.file("credential.txt", &f.credential);
    let holder = f.file("holder.jwk", &f.holder.to_private_jwk());
    harness()
        .args(["wallet", "--request", request_uri])
        .args(["--credential", &credential, "--holder-jwk", &holder])
        .args(extra)
        .output()
        .unwrap()
}

/// Their wallet answers `request_uri`: its JSON output (a refusal fails the test).
fn their_wallet(f: &Fixture, request_uri: &str, extra: &[&str]) -> Value {
    let out = run_their_wallet(f, request_uri, extra);
    assert!(
        out.status.success(),
        "their wallet refused our request: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `verifier verify --data` of their answer (the response payload as JSON): the JSON result.
fn verify_answer(f: &Fixture, response: &Value) -> Value {
    let data = f.data();
    let answer = f.file("answer.json", &response.to_string());
    let mut args = vec!["verify", "--json", "--data", data.to_str().unwrap()];
    args.extend(f.trust_args.iter().map(String::as_str));
    args.push(&answer);
    let out = verifier(&args);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "verify printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{result}");
    result
}

#[test]
fn their_wallet_accepts_the_offline_desk_request_and_we_accept_its_answer() {
    if !installed() {
        return;
    }
    let f = Fixture::new(Status::None);
    let made = request(&f, &[]);
    let theirs = their_wallet(&f, made["request_uri"].as_str().unwrap(), &[]);
    assert_eq!(theirs["client_prefix"], "redirect_uri");
    assert_eq!(theirs["client_id"], made["client_id"]);
    assert_eq!(theirs["response_mode"], "direct_post");
    assert_eq!(
        theirs["response_uri"],
        "https://offline.invalid/hotel.example"
    );
    // Their library dates the request to OpenID4VP 1.0 final (100).
    assert_eq!(theirs["version"], 100);
    assert_eq!(theirs["response"]["state"], made["state"]);
    let result = verify_answer(&f, &theirs["response"]);
    assert_eq!(result["accepted"], true);
    assert_eq!(result["profile"], "hotel");
    assert!(result["claims"]["family_name"].is_string());
}

#[test]
fn their_wallet_refuses_the_older_request_form() {
    if !installed() {
        return;
    }
    // What `verifier request` wrote before: no response_mode, no response_uri, and a client
    // id without a 1.0 prefix. The library refuses it, which is why the form changed.
    let f = Fixture::new(Status::None);
    let dcql = r#"{"credentials":[{"id":"citizen_id","format":"dc+sd-jwt"}]}"#;
    let old = format!(
        "openid4vp://?{}",
        serde_urlencoded::to_string([
            ("client_id", "https://hotel.example"),
            ("response_type", "vp_token"),
            ("nonce", "n-old-form-1"),
            ("dcql_query", dcql),
        ])
        .unwrap()
    );
    let out = run_their_wallet(&f, &old, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("redirect_uri' or 'response_uri"),
        "{stderr}"
    );
}

#[test]
fn their_wallet_accepts_signed_requests_by_value_and_by_reference() {
    if !installed() {
        return;
    }
    let f = Fixture::new(Status::None);
    let (_, key) = f.rp_key();
    let made = request(&f, &["--sign-key", &key]);
    let theirs = their_wallet(&f, made["request_uri"].as_str().unwrap(), &[]);
    assert_eq!(theirs["client_prefix"], "decentralized_identifier");
    assert_eq!(theirs["client_id"], made["client_id"]);
    assert_eq!(verify_answer(&f, &theirs["response"])["accepted"], true);

    let object = f.dir.path().join("request.jwt");
    let made = request(
        &f,
        &[
            "--sign-key",
            &key,
            "--request-uri",
            "https://hotel.example/requests/1",
            "--request-object",
            object.to_str().unwrap(),
        ],
    );
    let uri = made["request_uri"].as_str().unwrap();
    assert!(uri.contains("request_uri=https%3A%2F%2Fhotel.example%2Frequests%2F1"));
    let theirs = their_wallet(&f, uri, &["--request-object", object.to_str().unwrap()]);
    assert_eq!(theirs["client_prefix"], "decentralized_identifier");
    assert_eq!(verify_answer(&f, &theirs["response"])["accepted"], true);
}

#[tokio::test]
async fn their_wallet_answers_verifier_serve_by_direct_post() {
    if !installed() {
        return;
    }
    let f = Fixture::new(Status::Valid);
    for signed in [true, false] {
        let server = f.serve(signed);
        let created = server.create(json!({"profile": "hotel"})).await;
        let uri = created["request_uri"].as_str().unwrap().to_owned();
        // The server is another process: blocking here on the harness is fine.
        let theirs = their_wallet(&f, &uri, &["--submit", "yes"]);
        let prefix = if signed {
            "decentralized_identifier"
        } else {
            "redirect_uri"
        };
        assert_eq!(theirs["client_prefix"], prefix);
        assert_eq!(theirs["submitted"]["status"], 200, "{theirs}");
        let secret = created["transaction_secret"].as_str();
        let (status, result) = server.result(&created, secret, None).await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["status"], "accepted");
        assert!(result["presentations"][0]["claims"]["given_name"].is_string());
    }
}

/// Their relying party, started: it printed its request URI and waits for one answer.
struct TheirRp {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
    uri: String,
}

impl TheirRp {
    /// Starts it, trusting the fixture's issuer key.
    fn start(f: &Fixture) -> TheirRp {
        let issuer_jwk = f.file(
            "issuer.jwk.json",
            &f.bureau.public_jwk().to_bare_value().to_string(),
        );
        let mut child = harness()
            .args(["rp", "--issuer-jwk", &issuer_jwk])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut uri = String::new();
        stdout.read_line(&mut uri).unwrap();
        assert!(uri.starts_with("openid4vp://"), "their rp printed {uri:?}");
        TheirRp {
            child,
            stdout,
            uri: uri.trim().to_owned(),
        }
    }

    /// What it decided about the answer it received; checks it accepted exactly what it asked.
    fn accepted(mut self) {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        let result: Value = serde_json::from_str(rest.trim()).unwrap();
        assert!(status.success(), "{result}");
        assert_eq!(result["accepted"], true);
        assert!(result["claims"]["family_name"].is_string());
        // Only what was asked: the DCQL query named family_name and given_name.
        assert!(result["claims"].get("id_number").is_none());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn their_relying_party_accepts_our_wallets_direct_post_answer() {
    if !installed() {
        return;
    }
    let f = Fixture::new(Status::None);
    let rp = TheirRp::start(&f);
    let (request, answer) = f.wallet_answer(&rp.uri).await;
    // Their request: an unsigned redirect_uri: client id, answered online.
    assert!(matches!(
        request.client_identity,
        wallet::ClientIdentity::RedirectUri { .. }
    ));
    let http = wallet::http_client().unwrap();
    let outcome = wallet::send(&http, &answer).await.unwrap();
    assert_eq!(outcome.status, 200);
    rp.accepted();
}

/// The `wallet` binary `cargo test --workspace` builds beside this test (as `tests/readme.rs`
/// finds it), or why it cannot be used.
fn wallet_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("wallet");
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(|_| format!("{} is not built", path.display()))?;
    let newest = ["wallet/src", "wallet-core/src"]
        .iter()
        .flat_map(|d| walk(&root().join(d)))
        .max()
        .unwrap();
    if built < newest {
        return Err(format!("{} is older than its sources", path.display()));
    }
    Ok(path)
}

fn walk(dir: &std::path::Path) -> Vec<std::time::SystemTime> {
    let mut times = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            times.extend(walk(&path));
        } else {
            times.push(entry.metadata().unwrap().modified().unwrap());
        }
    }
    times
}

#[test]
fn their_relying_party_accepts_the_wallet_clis_direct_post_answer() {
    if !installed() {
        return;
    }
    let wallet = match wallet_binary() {
        Ok(path) => path,
        Err(why) => {
            let hint = "build it with `cargo build -p wallet` (cargo test --workspace does)";
            assert!(
                std::env::var("CI_REQUIRE_INTEROP").as_deref() != Ok("1"),
                "{why}; {hint}"
            );
            eprintln!("skipped: the wallet CLI interop test: {why}; {hint}");
            return;
        }
    };
    let f = Fixture::new(Status::None);
    let data = f.dir.path().join("wallet-data");
    let run = |args: &[&str]| {
        let out = Command::new(&wallet)
            .args(args)
            .arg("--data")
            .arg(&data)
            .env("WALLET_PASSPHRASE", "correct horse battery staple")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "wallet {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&["init"]);
    let credential = f.file("credential.txt", &f.credential);
    let trust = f.file(
        "trust.json",
        &f.bureau.public_jwk().to_bare_value().to_string(),
    );
    let holder = f.file("holder.jwk", &f.holder.to_private_jwk());
    run(&[
        "import",
        &credential,
        "--trust",
        &trust,
        "--holder-key",
        &holder,
    ]);
    let rp = TheirRp::start(&f);
    let out = run(&["present", &rp.uri, "--yes", "--json"]);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(printed.to_string().contains("/response"), "{printed}");
    rp.accepted();
}
