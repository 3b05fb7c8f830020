//! The workspace's command-line tools as the tests run them.

use std::process::{Command, Output};

use serde_json::Value;

/// `bin keygen ARGS` (the issuer's and the wallet's key generator); its output.
pub fn keygen(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).arg("keygen").args(args).output().unwrap()
}

/// What `bin keygen` promises about its two outputs: an EdDSA pair is written (the public
/// file without the private part); an existing private key, or an existing public-key file,
/// is refused with exit code `refused` ("exists already") before anything is written, and
/// the files already there are left as they were. Returns the directory it worked in.
pub fn keygen_checks_both_outputs_before_writing_anything(
    bin: &str,
    refused: i32,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private.jwk");
    let public = dir.path().join("public.jwk");
    let (p, q) = (private.to_str().unwrap(), public.to_str().unwrap());
    // The algorithm flag is `--alg`, any case.
    let out = keygen(bin, &["--alg", "EdDSA", "--out", p, "--public-out", q]);
    assert!(out.status.success(), "{out:?}");
    let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&public).unwrap()).unwrap();
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(jwk.get("d").is_none());
    let private_before = std::fs::read(&private).unwrap();
    // The private key exists: refused, and the public-key file is left as it was.
    std::fs::write(&public, "keep me").unwrap();
    let out = keygen(bin, &["--out", p, "--public-out", q]);
    assert_eq!(out.status.code(), Some(refused), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exists already"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&public).unwrap(), "keep me");
    assert_eq!(std::fs::read(&private).unwrap(), private_before);
    let other = dir.path().join("other.pub.jwk");
    let out = keygen(bin, &["--out", p, "--public-out", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(refused), "{out:?}");
    assert!(!other.exists());
    // The public-key file exists: refused before the private key is written.
    let fresh = dir.path().join("fresh.jwk");
    let out = keygen(bin, &["--out", fresh.to_str().unwrap(), "--public-out", q]);
    assert_eq!(out.status.code(), Some(refused), "{out:?}");
    assert!(!fresh.exists());
    dir
}
