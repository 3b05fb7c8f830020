//! `issuer sign` says what it makes: a credential without a status reference can never be
//! revoked, so it is short-lived (72 hours by default and at most), and stderr says so.

use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_issuer");

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// An issuer key and a holder key in a fresh directory.
fn keys() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["issuer", "holder"] {
        let out = run(dir.path(), &["keygen", "--out", &format!("{name}.jwk")]);
        assert!(out.status.success(), "{out:?}");
        std::fs::write(dir.path().join(format!("{name}.pub.jwk")), &out.stdout).unwrap();
    }
    dir
}

fn sign(dir: &std::path::Path, extra: &[&str]) -> Output {
    let claims = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/claims/citizen-basic.json"
    );
    let mut args = vec![
        "sign",
        "--key",
        "issuer.jwk",
        "--holder-jwk",
        "holder.pub.jwk",
        "--claims",
        claims,
        "--type",
        "basic",
    ];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// The issuer-signed JWT's payload.
fn payload(stdout: &[u8]) -> serde_json::Map<String, Value> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let jwt = text.trim().split('~').next().unwrap();
    let body = credential::b64::decode(jwt.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn seconds(p: &serde_json::Map<String, Value>, name: &str) -> i64 {
    p[name].as_i64().unwrap()
}

#[test]
fn sign_without_status_reference_makes_a_72_hour_credential_and_says_it_cannot_be_revoked() {
    let dir = keys();
    let out = sign(dir.path(), &[]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no status reference: this credential can never be revoked"),
        "{stderr}"
    );
    assert!(stderr.contains("(72 hours)"), "{stderr}");
    let p = payload(&out.stdout);
    assert!(!p.contains_key("status"));
    assert_eq!(seconds(&p, "exp") - seconds(&p, "iat"), 72 * 3_600);
}

#[test]
fn sign_without_status_reference_refuses_more_than_3_days() {
    let dir = keys();
    let out = sign(dir.path(), &["--days", "4"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without a status reference can never be revoked")
            && stderr.contains("at most 3 days"),
        "{stderr}"
    );
}

#[test]
fn sign_with_status_reference_names_it_and_keeps_the_long_default() {
    let dir = keys();
    let uri = "https://bureau.example.cn/status/0";
    let out = sign(dir.path(), &["--status-uri", uri, "--status-idx", "98304"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("status reference {uri} index 98304")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("({} hours)", 365 * 24)),
        "{stderr}"
    );
    let p = payload(&out.stdout);
    assert_eq!(p["status"]["status_list"]["uri"], uri);
    assert_eq!(seconds(&p, "exp") - seconds(&p, "iat"), 365 * 86_400);
}
