//! Interoperability with independent SD-JWT implementations: presentations made by them verify
//! with ours, and ours with theirs.
//!
//! The OpenWallet Foundation's Python reference (`sd-jwt` 0.10.4) and TypeScript implementation
//! (`@sd-jwt/sd-jwt-vc` 0.19.0) are driven through the harness scripts in `interop/`, installed
//! by `.ci/install`. For ES256 and EdDSA:
//!
//! - theirs -> ours: their issuer and holder make a key-bound presentation; `verifier verify
//!   --generic` accepts it and its processed claims equal what their own verifier extracts;
//! - ours -> theirs: a real citizen credential from `citizen::issue` and a credential from
//!   `SdJwtBuilder` with array elements, presented by `wallet::present`; their verifier accepts
//!   them and extracts the claims ours does;
//! - negatives both ways: a tampered disclosure, and (ours -> theirs) a wrong nonce and a wrong
//!   audience, are rejected by both sides.
//!
//! When Python, node or the pinned packages are missing, each test prints one line saying what
//! is missing and to run `.ci/install`, and passes without running; with `CI_REQUIRE_INTEROP=1`
//! (set by `.ci/run` after `.ci/install`) it fails instead. See `interop/README.md` for the
//! incompatibilities found.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{ClaimPath, PathSegment, RngSalts, SdJwtBuilder};
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Value};
use testkit::now;

const NONCE: &str = "n-interop-7f3a";
const AUD: &str = "https://verifier.interop.example";
const ISSUER: &str = "https://bureau.example.cn";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One independent implementation, reached through its harness script.
#[derive(Clone, Copy, Debug)]
enum Theirs {
    Python,
    Node,
}

impl Theirs {
    const ALL: [Theirs; 2] = [Theirs::Python, Theirs::Node];

    fn name(self) -> &'static str {
        match self {
            Theirs::Python => "python sd-jwt 0.10.4",
            Theirs::Node => "node @sd-jwt/sd-jwt-vc 0.19.0",
        }
    }

    fn command(self) -> Command {
        let mut cmd = match self {
            Theirs::Python => {
                let mut c = Command::new("python3");
                c.arg(root().join("interop/python/sdjwt_interop.py"));
                c
            }
            Theirs::Node => {
                let mut c = Command::new("node");
                c.arg(root().join("interop/node/sdjwt_interop.mjs"));
                c
            }
        };
        cmd.current_dir(root());
        cmd
    }

    /// The holder key algorithm their verifier can check a KB-JWT with, for an issuer key of
    /// `alg`: the Python reference verifies every KB-JWT as ES256 (README).
    fn holder_alg(self, alg: Alg) -> Alg {
        match self {
            Theirs::Python => Alg::Es256,
            Theirs::Node => alg,
        }
    }

    /// Their issuer and holder: writes presentation.txt, issuer.jwk.json and claims.json.
    fn issue(self, alg: Alg, dir: &Path) {
        let out = run(self.command().args([
            "issue",
            "--alg",
            alg.as_str(),
            "--out",
            dir.to_str().unwrap(),
            "--nonce",
            NONCE,
            "--aud",
            AUD,
        ]));
        assert!(
            out.status.success(),
            "{}: issue {alg:?} failed:\n{}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Their verifier: Ok(processed claims) or Err(its reason).
    fn verify(
        self,
        presentation: &str,
        issuer_jwk: &Path,
        nonce: &str,
        aud: &str,
    ) -> Result<Value, String> {
        let out = run_with_stdin(
            self.command().args([
                "verify",
                "--issuer-jwk",
                issuer_jwk.to_str().unwrap(),
                "--nonce",
                nonce,
                "--aud",
                aud,
                "--presentation",
                "-",
            ]),
            presentation,
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(0) => Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "{}: verify printed no JSON ({e}): {}",
                    self.name(),
                    String::from_utf8_lossy(&out.stdout)
                )
            })),
            Some(1) => Err(stderr),
            _ => panic!("{}: verify could not run:\n{stderr}", self.name()),
        }
    }
}

/// Runs a harness command; a missing interpreter or package fails with the fix.
fn run(cmd: &mut Command) -> Output {
    run_with_stdin(cmd, "")
}

fn run_with_stdin(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {cmd:?}: {e}. Run .ci/install (needs python3 and node)")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for missing in [
        "ModuleNotFoundError",
        "ERR_MODULE_NOT_FOUND",
        "Cannot find package",
    ] {
        assert!(
            !stderr.contains(missing),
            "interop packages are missing; run .ci/install\n{stderr}"
        );
    }
    out
}

/// What of the pinned implementations is not installed (empty when everything is).
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    match Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('sd-jwt'), m.version('jwcrypto'))",
        ])
        .output()
    {
        Err(_) => missing.push("python3".to_owned()),
        Ok(py) => {
            let versions = String::from_utf8_lossy(&py.stdout);
            if !py.status.success() || !versions.starts_with("0.10.4 ") {
                let found = versions.split_whitespace().next().unwrap_or("none");
                missing.push(format!("python sd-jwt 0.10.4 and jwcrypto (found {found})"));
            }
        }
    }
    match Command::new("node").arg("--version").output() {
        Ok(node) if node.status.success() => {}
        _ => missing.push("node".to_owned()),
    }
    let pkg = root().join("interop/node/node_modules/@sd-jwt/sd-jwt-vc/package.json");
    let version = std::fs::read_to_string(&pkg)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    if version.as_deref() != Some("0.19.0") {
        let found = version.as_deref().unwrap_or("none");
        missing.push(format!(
            "node @sd-jwt/sd-jwt-vc 0.19.0 in interop/node (found {found})"
        ));
    }
    missing
}

/// Whether the interop tests can run. When a pinned implementation is missing: one line on
/// stderr (written past the test harness's capture, once per run) and `false`; under
/// `CI_REQUIRE_INTEROP=1` a failure instead.
fn interop_tools_installed() -> bool {
    static SKIP_LINE: std::sync::Once = std::sync::Once::new();
    let missing = missing_tools();
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    assert!(
        std::env::var("CI_REQUIRE_INTEROP").as_deref() != Ok("1"),
        "CI_REQUIRE_INTEROP=1 but the interop tools are missing: {what}; run .ci/install"
    );
    SKIP_LINE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: interop tests: missing {what}; install with .ci/install (needs python3, pip, node and npm)"
        );
    });
    false
}

/// Our verifier, the CLI a relying party runs: Ok(processed claims) or Err(error code).
fn ours_verify(
    presentation: &str,
    trust: &Path,
    nonce: &str,
    aud: &str,
    generic: bool,
) -> Result<Value, String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_verifier"));
    cmd.args([
        "verify",
        "--json",
        "--trust",
        trust.to_str().unwrap(),
        "--nonce",
        nonce,
        "--aud",
        aud,
    ]);
    if generic {
        cmd.arg("--generic");
    } else {
        // The citizen credential here carries no status reference; revocation is not what
        // this test is about (the default policy refuses such a credential).
        let policy =
            std::env::temp_dir().join(format!("interop-policy-{}.toml", std::process::id()));
        std::fs::write(&policy, "require_status = false\n").unwrap();
        cmd.arg("--policy").arg(policy);
    }
    cmd.arg("-");
    let out = run_with_stdin(&mut cmd, presentation);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "verifier printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match out.status.code() {
        Some(0) => {
            assert_eq!(result["accepted"], true);
            Ok(result["claims"].clone())
        }
        Some(1) => Err(result["error"].as_str().unwrap_or_default().to_owned()),
        _ => panic!(
            "verifier could not run: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Replaces the value of the first disclosure that carries a string, keeping its salt and
/// name: the forged disclosure's digest is in no `_sd`, and `sd_hash` no longer matches.
fn tamper(presentation: &str) -> String {
    use credential::b64;
    let mut parts: Vec<String> = presentation.split('~').map(str::to_owned).collect();
    let last = parts.len() - 1;
    for part in &mut parts[1..last] {
        let mut d: Vec<Value> =
            serde_json::from_slice(&b64::decode(part.as_bytes()).unwrap()).unwrap();
        let value = d.last_mut().unwrap();
        if let Value::String(s) = value {
            *s = format!("{s} (forged)");
            *part = b64::encode(serde_json::to_vec(&d).unwrap());
            return parts.join("~");
        }
    }
    panic!("no string disclosure to tamper with in {presentation}");
}

fn key(alg: Alg, seed: u64) -> SigningKey {
    SigningKey::generate(alg, &mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------- theirs -> ours

#[test]
fn their_presentations_verify_with_ours() {
    if !interop_tools_installed() {
        return;
    }
    for theirs in Theirs::ALL {
        for alg in Alg::ALL {
            let dir = tempfile::tempdir().unwrap();
            theirs.issue(alg, dir.path());
            let presentation =
                std::fs::read_to_string(dir.path().join("presentation.txt")).unwrap();
            let jwk = dir.path().join("issuer.jwk.json");
            let theirs_claims: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.path().join("claims.json")).unwrap(),
            )
            .unwrap();
            let label = format!("{} {alg:?} -> ours", theirs.name());

            let ours_claims =
                ours_verify(&presentation, &jwk, NONCE, AUD, true).unwrap_or_else(|e| {
                    panic!("{label}: our verifier rejected it: {e}\n{presentation}")
                });
            assert_eq!(
                ours_claims, theirs_claims,
                "{label}: processed claims differ"
            );
            // Nested and array-element disclosures were really exercised.
            assert_eq!(
                ours_claims["address"],
                json!({"country": "DE", "locality": "Köln"}),
                "{label}"
            );
            assert_eq!(ours_claims["nationalities"], json!(["DE", "US"]), "{label}");
            assert_eq!(
                ours_claims["age_equal_or_over"],
                json!({"18": true}),
                "{label}"
            );
            assert!(
                ours_claims.get("family_name").is_none(),
                "{label}: undisclosed claim shown"
            );

            // Wrong audience and wrong nonce: ours rejects.
            assert_eq!(
                ours_verify(&presentation, &jwk, NONCE, "https://other.example", true),
                Err("audience_mismatch".into()),
                "{label}"
            );
            assert!(
                ours_verify(&presentation, &jwk, "other-nonce", AUD, true).is_err(),
                "{label}"
            );

            // Tampered: both reject. Their verifier checks only key-bound presentations for
            // the KB-JWT algorithm it knows (Python: ES256).
            let forged = tamper(&presentation);
            let ours = ours_verify(&forged, &jwk, NONCE, AUD, true);
            assert!(
                ours.is_err(),
                "{label}: our verifier accepted a tampered disclosure"
            );
            if theirs.holder_alg(alg) == alg {
                assert!(
                    theirs.verify(&forged, &jwk, NONCE, AUD).is_err(),
                    "{label}: their verifier accepted a tampered disclosure"
                );
                // Control: their verifier accepts the untampered one through the same path.
                assert_eq!(
                    theirs.verify(&presentation, &jwk, NONCE, AUD),
                    Ok(theirs_claims.clone()),
                    "{label}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- ours -> theirs

/// A real citizen credential (high level, dc+sd-jwt), issued by `citizen::issue`.
fn citizen_credential(issuer: &SigningKey, holder: &SigningKey) -> String {
    let text = std::fs::read_to_string(root().join("examples/claims/citizen-high.json")).unwrap();
    let claims = CitizenClaims::from_json(&text, Level::High).unwrap();
    let request = IssueRequest {
        claims: &claims,
        level: Level::High,
        format: Format::DcSdJwt,
        issuer: ISSUER,
        holder: holder.public_jwk(),
        status: None,
        issued_at: now() - 60,
        expires_at: now() + 365 * 86_400,
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    issue(&request, issuer, &mut rng).unwrap()
}

/// A credential from `SdJwtBuilder` with disclosable array elements and recursive disclosure,
/// shapes the citizen credential does not have.
fn builder_credential(issuer: &SigningKey, holder: &SigningKey) -> String {
    let Value::Object(claims) = json!({
        "iss": ISSUER,
        "iat": now() - 60,
        "exp": now() + 3600,
        "vct": "https://credentials.example/interop",
        "cnf": {"jwk": holder.public_jwk().to_bare_value()},
        "given_name": "Erika",
        "nationalities": ["DE", "FR", "US"],
        "address": {"street_address": "Heidestraße 17", "locality": "Köln", "country": "DE"},
    }) else {
        unreachable!()
    };
    let path = |segments: &[PathSegment]| ClaimPath(segments.to_vec());
    let key = |k: &str| PathSegment::Key(k.into());
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    SdJwtBuilder::new(claims)
        .typ("dc+sd-jwt")
        .disclosable(&path(&[key("given_name")]))
        .disclosable(&path(&[key("nationalities"), PathSegment::Index(0)]))
        .disclosable(&path(&[key("nationalities"), PathSegment::Index(1)]))
        .disclosable(&path(&[key("address")]))
        .disclosable(&path(&[key("address"), key("street_address")]))
        .disclosable(&path(&[key("address"), key("locality")]))
        .decoys(1, 3)
        .issue(issuer, &mut RngSalts(&mut rng))
        .unwrap()
        .to_compact()
}

struct Case {
    name: &'static str,
    credential: String,
    disclose: Vec<ClaimPath>,
    generic: bool,
}

#[test]
fn our_presentations_verify_with_theirs() {
    if !interop_tools_installed() {
        return;
    }
    for theirs in Theirs::ALL {
        for alg in Alg::ALL {
            let holder_alg = theirs.holder_alg(alg);
            let issuer = key(alg, 1);
            let holder = key(holder_alg, 2);
            let dir = tempfile::tempdir().unwrap();
            let jwk = write(
                dir.path(),
                "issuer.jwk.json",
                &issuer.public_jwk().to_value().to_string(),
            );
            let cases = [
                Case {
                    name: "citizen::issue high dc+sd-jwt",
                    credential: citizen_credential(&issuer, &holder),
                    disclose: [
                        "given_name",
                        "birthdate",
                        "address.locality",
                        "age_equal_or_over.18",
                    ]
                    .into_iter()
                    .map(ClaimPath::parse_dotted)
                    .collect(),
                    generic: false,
                },
                Case {
                    name: "SdJwtBuilder arrays",
                    credential: builder_credential(&issuer, &holder),
                    disclose: vec![
                        ClaimPath::parse_dotted("given_name"),
                        ClaimPath(vec![
                            PathSegment::Key("nationalities".into()),
                            PathSegment::Index(0),
                        ]),
                        ClaimPath::parse_dotted("address.locality"),
                    ],
                    generic: true,
                },
            ];
            for case in cases {
                let label = format!(
                    "ours ({}, issuer {alg:?}, holder {holder_alg:?}) -> {}",
                    case.name,
                    theirs.name()
                );
                let presentation =
                    wallet::present(&case.credential, &holder, &case.disclose, NONCE, AUD, now())
                        .unwrap();
                let ours_claims = ours_verify(&presentation, &jwk, NONCE, AUD, case.generic)
                    .unwrap_or_else(|e| panic!("{label}: our own verifier rejected it: {e}"));
                let theirs_claims = theirs
                    .verify(&presentation, &jwk, NONCE, AUD)
                    .unwrap_or_else(|e| {
                        panic!("{label}: their verifier rejected it: {e}\n{presentation}")
                    });
                assert_eq!(
                    theirs_claims, ours_claims,
                    "{label}: processed claims differ"
                );
                for path in &case.disclose {
                    assert!(
                        !path.lookup(&theirs_claims).is_empty(),
                        "{label}: {path} not disclosed"
                    );
                }
                assert!(
                    theirs_claims.get("family_name").is_none(),
                    "{label}: undisclosed claim shown"
                );

                // Negatives: a tampered disclosure, a wrong nonce, a wrong audience.
                let forged = tamper(&presentation);
                assert!(
                    theirs.verify(&forged, &jwk, NONCE, AUD).is_err(),
                    "{label}: they accepted a forgery"
                );
                assert!(
                    ours_verify(&forged, &jwk, NONCE, AUD, case.generic).is_err(),
                    "{label}: we accepted a forgery"
                );
                assert!(
                    theirs
                        .verify(&presentation, &jwk, "other-nonce", AUD)
                        .is_err(),
                    "{label}: wrong nonce"
                );
                assert!(
                    theirs
                        .verify(&presentation, &jwk, NONCE, "https://other.example")
                        .is_err(),
                    "{label}: wrong aud"
                );
            }
        }
    }
}
