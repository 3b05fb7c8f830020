//! The data directory against the real binary: `issuer serve` records the URL it serves under
//! in `DATA/issuer.toml`, the operator commands on that directory name the same issuer, a
//! different `--public-url` later is refused, and every command but `serve` refuses a `--data`
//! that does not exist instead of creating a second bureau.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_issuer");
const PUBLIC_URL: &str = "https://id.bureau.example";

fn claims_file() -> String {
    format!(
        "{}/../examples/claims/citizen-high.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The binary without any `ISSUER_*` setting from the environment the tests run in.
fn issuer() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("ISSUER_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// Runs `issuer COMMAND --out FILE --data DATA`, which must succeed; what it wrote to `file`.
fn written_by(command: &str, file: &Path, data: &Path) -> String {
    let out = run(issuer()
        .args([command, "--out"])
        .arg(file)
        .arg("--data")
        .arg(data));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(file).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `issuer serve` on `dir` until its start lines are printed; returns the child and its
/// `issuer url:` line.
fn serve(dir: &Path, extra: &[&str]) -> (Child, String) {
    let mut child = issuer()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("issuer url: ") {
            url = Some(u.to_owned());
        }
        if line.starts_with("root key fingerprint: ") {
            break;
        }
    }
    (child, url.expect("serve printed its url"))
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The JSON payload of a compact JWS.
fn jws_payload(jws: &str) -> Value {
    let payload = jws.trim().split('.').nth(1).unwrap();
    serde_json::from_slice(&credential::b64::decode(payload).unwrap()).unwrap()
}

/// The query parameters of an `openid-credential-offer://?...` URI.
fn offer_query(uri: &str) -> Vec<(String, String)> {
    let (_, query) = uri.split_once('?').unwrap();
    serde_urlencoded::from_str(query).unwrap()
}

#[test]
fn serve_records_its_public_url_and_operator_commands_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bureau");
    let (child, url) = serve(&data, &["--public-url", PUBLIC_URL]);
    assert_eq!(url, PUBLIC_URL);
    let toml = std::fs::read_to_string(data.join("issuer.toml")).unwrap();
    assert!(
        toml.contains(&format!("public_url = \"{PUBLIC_URL}\"")),
        "{toml}"
    );

    // No --public-url and no ISSUER_PUBLIC_URL: the operator commands read the recorded one.
    let out = run(issuer()
        .args(["enroll", "--level", "high", "--json", "--claims"])
        .arg(claims_file())
        .arg("--data")
        .arg(&data));
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["credential_offer"]["credential_issuer"], PUBLIC_URL);
    let by_value = offer_query(answer["offer_uri"].as_str().unwrap());
    let offer: Value = serde_json::from_str(&by_value[0].1).unwrap();
    assert_eq!(offer["credential_issuer"], PUBLIC_URL, "{answer}");
    let by_reference = offer_query(answer["credential_offer_uri"].as_str().unwrap());
    assert!(
        by_reference[0]
            .1
            .starts_with(&format!("{PUBLIC_URL}/offers/")),
        "{answer}"
    );

    let bundle = written_by("trust-bundle", &dir.path().join("bundle.jwt"), &data);
    let bundle = jws_payload(&bundle);
    assert_eq!(bundle["iss"], PUBLIC_URL, "{bundle}");

    let did = written_by("did-doc", &dir.path().join("did.json"), &data);
    let did: Value = serde_json::from_str(&did).unwrap();
    assert_eq!(did["id"], "did:web:id.bureau.example", "{did}");
    stop(child);

    // A later start without --public-url serves under the recorded URL.
    let (child, url) = serve(&data, &[]);
    assert_eq!(url, PUBLIC_URL);
    stop(child);
}

/// A public URL other than [`PUBLIC_URL`].
const OTHER_URL: &str = "https://other.bureau.example";

/// A data directory whose bureau was served once with `--public-url` [`PUBLIC_URL`], which
/// `issuer.toml` now records.
fn bureau_with_recorded_url() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = serve(dir.path(), &["--public-url", PUBLIC_URL]);
    stop(child);
    dir
}

/// The command failed as misconfigured (exit code 2); its standard error.
fn usage_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    stderr(out)
}

#[test]
fn serve_refuses_a_public_url_other_than_the_recorded_one() {
    let dir = bureau_with_recorded_url();
    let other = OTHER_URL;
    let out = run(issuer()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            other,
            "--data",
        ])
        .arg(dir.path()));
    let err = usage_error(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(other) && err.contains(PUBLIC_URL) && err.contains("issuer.toml"),
        "{err}"
    );
    // The record is unchanged.
    let toml = std::fs::read_to_string(dir.path().join("issuer.toml")).unwrap();
    assert!(!toml.contains(other), "{toml}");
}

#[test]
fn an_operator_command_refuses_an_environment_public_url_other_than_the_recorded_one() {
    let dir = bureau_with_recorded_url();
    let other = OTHER_URL;
    let out = run(issuer()
        .env("ISSUER_PUBLIC_URL", other)
        .args(["enroll", "--level", "high", "--claims"])
        .arg(claims_file())
        .arg("--data")
        .arg(dir.path()));
    let err = usage_error(&out);
    assert!(err.contains(other) && err.contains(PUBLIC_URL), "{err}");
    assert!(out.stdout.is_empty(), "an offer was made");
}

#[test]
fn a_url_derived_from_an_ephemeral_port_is_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = serve(dir.path(), &[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    stop(child);
    let toml = std::fs::read_to_string(dir.path().join("issuer.toml")).unwrap_or_default();
    assert!(!toml.contains("public_url"), "{toml}");
}

#[test]
fn every_operator_command_refuses_a_data_directory_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("issuer-dta");
    let claims = claims_file();
    let out_file = dir.path().join("out").to_string_lossy().into_owned();
    let commands: Vec<Vec<&str>> = vec![
        vec!["enroll", "--level", "high", "--claims", &claims],
        vec!["enroll", "--new-nonce"],
        vec!["officers", "add", "--name", "Desk", "--role", "officer"],
        vec!["officers", "list"],
        vec!["officers", "remove", "some-id"],
        vec!["platforms", "list"],
        vec!["platforms", "remove", "some-id"],
        vec!["revoke", "--citizen", "110101199003071234"],
        vec!["suspend", "--citizen", "110101199003071234"],
        vec!["reinstate", "--citizen", "110101199003071234"],
        vec!["keys", "list"],
        vec!["keys", "rotate"],
        vec!["trust-bundle", "--out", &out_file],
        vec!["did-doc", "--out", &out_file],
        vec!["sweep"],
        vec!["audit"],
    ];
    for args in commands {
        let out = run(issuer().args(&args).arg("--data").arg(&missing));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "data directory {} does not exist",
                missing.display()
            )) && err.contains("--data"),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} created the directory");
        assert!(!Path::new(&out_file).exists(), "{args:?} wrote its output");
    }

    // A file where the directory should be is refused the same way.
    std::fs::write(&missing, "").unwrap();
    let out = run(issuer().args(["keys", "list", "--data"]).arg(&missing));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_default_data_directory_is_refused_when_missing_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(issuer().args(["officers", "list"]).current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("issuer-data does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("issuer-data").exists());
}
