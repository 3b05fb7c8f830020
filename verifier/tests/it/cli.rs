//! The real `verifier` binary on files in a temporary directory: exit codes, the `--json`
//! shape, one stderr line per rejection, `--now`, `--generic`, `--batch`, and `verifier status`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use credential::citizen::{Format, Level};
use credential::jose::Alg;
use credential::status_list::{Bits, StatusList};
use serde_json::{json, Value};

use crate::fixtures::*;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // The binary may exit before reading its input (a usage error, an unreadable trust
        // file); a broken pipe then is expected.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Each line of `text` as JSON (`--batch` prints one result a line).
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Exit 1 with exactly one stderr line, starting `rejected: <code>: `.
fn assert_rejected(out: &Output, code: &str) {
    assert_rejected_with(out, &format!("rejected: {code}: "));
}

/// Exit 1 with exactly one stderr line, starting with `start`.
fn assert_rejected_with(out: &Output, start: &str) {
    assert_eq!(out.code, 1, "stdout: {} stderr: {}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {:?}", out.stderr);
    assert!(lines[0].starts_with(start), "stderr: {:?}", out.stderr);
}

/// A temporary directory with the hotel's files: the issuer's JWKS, the shard's status token
/// (entries as given), the hotel and bank policies.
struct Desk {
    dir: tempfile::TempDir,
    keys: Keys,
}

impl Desk {
    fn new(alg: Alg, entries: &[(u64, u8)]) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::new(alg);
        let desk = Desk { dir, keys };
        desk.write(
            "jwks.json",
            &json!({"keys": [desk.keys.issuer.public_jwk().to_value()]}).to_string(),
        );
        desk.write(
            "status-3.jwt",
            &status_token(
                &desk.keys.issuer,
                STATUS_URI,
                NOW - 3_600,
                Some(NOW + 86_400),
                entries,
            ),
        );
        desk.write(
            "hotel.toml",
            "name = \"hotel\"\nrequired_claims = [\"family_name\", \"given_name\", \"id_number\"]\n",
        );
        desk.write("bank.toml", "name = \"bank\"\nmin_level = \"high\"\n");
        desk
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        self.path(name)
    }

    /// `verify --trust jwks.json --status status-3.jwt --policy <policy> --nonce --aud --now`.
    fn verify_args(&self, policy: &str) -> Vec<String> {
        vec![
            "verify".into(),
            "--trust".into(),
            self.path("jwks.json"),
            "--status".into(),
            self.path("status-3.jwt"),
            "--policy".into(),
            self.path(policy),
            "--nonce".into(),
            NONCE.into(),
            "--aud".into(),
            AUD.into(),
            "--now".into(),
            NOW.to_string(),
        ]
    }

    fn verify(&self, policy: &str, extra: &[&str], stdin: Option<&str>) -> Output {
        let mut args = self.verify_args(policy);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, stdin)
    }
}

/// The processed payload of the hotel presentation, written out by hand from
/// `docs/credential-format.md` sections 8.3 and 8.4: disclosed claims in place, nothing else.
fn expected_claims(keys: &Keys, format: Format) -> Value {
    let cnf = json!({"jwk": keys.holder.public_jwk().to_bare_value()});
    match format {
        Format::DcSdJwt => json!({
            "iss": ISSUER,
            "iat": IAT,
            "exp": EXP,
            "vct": "urn:cn:citizen-id:basic:1",
            "cnf": cnf,
            "status": {"status_list": {"idx": IDX, "uri": STATUS_URI}},
            "family_name": "李",
            "given_name": "雪梅",
            "id_number": "110105199205179985"
        }),
        _ => json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "CitizenIdCredential", "urn:cn:citizen-id:basic:1"],
            "issuer": ISSUER,
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2031-01-01T00:00:00Z",
            "credentialSchema": {"id": "https://citizen-id.example/schemas/vcdm-citizen-id.schema.json", "type": "JsonSchema"},
            "credentialStatus": [
                {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": IDX.to_string(), "statusListCredential": format!("{STATUS_URI}/revocation")},
                {"type": "BitstringStatusListEntry", "statusPurpose": "suspension", "statusListIndex": IDX.to_string(), "statusListCredential": format!("{STATUS_URI}/suspension")}
            ],
            "evidence": [{"type": "CitizenIdProofing", "proofingMethod": "remote_face_match"}],
            "cnf": cnf,
            "credentialSubject": {
                "family_name": "李",
                "given_name": "雪梅",
                "id_number": "110105199205179985"
            }
        }),
    }
}

#[test]
fn accepts_and_prints_the_processed_payload_as_json() {
    for alg in Alg::ALL {
        let desk = Desk::new(alg, &[]);
        for format in FORMATS {
            let credential = credential(&desk.keys, &Spec::new(Level::Basic, format));
            let presentation = hotel_presentation(&credential, &desk.keys, format);
            let file = desk.write("presentation.txt", &format!("{presentation}\n"));
            for (input, stdin) in [(file.as_str(), None), ("-", Some(presentation.as_str()))] {
                let out = desk.verify("hotel.toml", &["--json", input], stdin);
                assert_eq!(out.code, 0, "{alg:?} {format:?} {input}: {}", out.stderr);
                assert_eq!(out.stderr, "");
                assert_eq!(out.stdout.lines().count(), 1);
                let v: Value = serde_json::from_str(&out.stdout).unwrap();
                assert_eq!(v["accepted"], true);
                assert_eq!(v["issuer"], ISSUER);
                assert_eq!(v["type"], "urn:cn:citizen-id:basic:1");
                assert_eq!(v["level"], "basic");
                assert_eq!(v["format"], format.as_str());
                assert_eq!(
                    v["status"],
                    json!({"state": "valid", "uri": STATUS_URI, "idx": IDX, "list_issued_at": NOW - 3_600})
                );
                assert_eq!(v["claims"], expected_claims(&desk.keys, format));
                assert_eq!(
                    v["holder_key"],
                    desk.keys.holder.public_jwk().to_bare_value()
                );
                assert_eq!(v["key_binding"]["nonce"], NONCE);
            }
        }
    }
}

#[test]
fn human_output_names_issuer_level_and_status() {
    let desk = Desk::new(Alg::Es256, &[]);
    let credential = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let presentation = hotel_presentation(&credential, &desk.keys, Format::DcSdJwt);
    let out = desk.verify("hotel.toml", &["-"], Some(&presentation));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("accepted\n"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("issuer:  {ISSUER}")));
    assert!(out.stdout.contains("level:   basic"));
    assert!(out.stdout.contains(&format!("valid (index {IDX})")));
}

#[test]
fn rejections_exit_1_with_one_line_naming_the_check() {
    let desk = Desk::new(Alg::Es256, &[(IDX, 1)]);
    for format in FORMATS {
        // Revoked.
        let credential = credential(&desk.keys, &Spec::new(Level::Basic, format));
        let presentation = hotel_presentation(&credential, &desk.keys, format);
        let file = desk.write("revoked.txt", &presentation);
        let out = desk.verify("hotel.toml", &[&file], None);
        assert_rejected(&out, "revoked");
        assert_eq!(out.stdout, "");
        // With --json the rejection is also a JSON object on stdout.
        let out = desk.verify("hotel.toml", &["--json", &file], None);
        assert_rejected(&out, "revoked");
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["accepted"], false);
        assert_eq!(v["error"], "revoked");

        // Not revoked, but for another nonce.
        let mut spec = Spec::new(Level::Basic, format);
        spec.status = Some((STATUS_URI.into(), IDX + 1));
        let good = crate::fixtures::credential(&desk.keys, &spec);
        let other_nonce = present_at(
            &good,
            &desk.keys,
            format,
            HOTEL_CLAIMS,
            "n-replayed",
            AUD,
            NOW - 10,
        );
        let out = desk.verify("hotel.toml", &["-"], Some(&other_nonce));
        assert_rejected(&out, "nonce_mismatch");

        // A basic credential at the bank.
        let basic = hotel_presentation(&good, &desk.keys, format);
        let out = desk.verify("bank.toml", &["-"], Some(&basic));
        assert_rejected(&out, "level_too_low");
        assert!(out.stderr.contains("basic") && out.stderr.contains("high"));
        // The message carries no claim value.
        assert!(!out.stderr.contains("110105"));
    }
}

#[test]
fn could_not_run_exits_2() {
    let desk = Desk::new(Alg::Es256, &[]);
    let missing = desk.path("no-such-presentation.txt");
    // An unreadable presentation file.
    let out = desk.verify("hotel.toml", &[&missing], None);
    assert_eq!(out.code, 2, "{} {}", out.stdout, out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    // An unreadable trust file.
    let out = run(
        &[
            "verify",
            "--trust",
            &desk.path("missing-jwks.json"),
            "--nonce",
            NONCE,
            "--aud",
            AUD,
            "-",
        ],
        Some("x~"),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("missing-jwks.json"), "{}", out.stderr);
    // A trust file that is not a key.
    let junk = desk.write("junk.json", "{\"hello\": 1}");
    let out = run(
        &[
            "verify", "--trust", &junk, "--nonce", NONCE, "--aud", AUD, "-",
        ],
        Some("x~"),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    // A policy file with an unknown field.
    let bad_policy = desk.write("bad.toml", "colour = \"blue\"\n");
    let out = desk.verify("bad.toml", &["-"], Some("x~"));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&bad_policy), "{}", out.stderr);
    // Usage errors: no --trust and no synced state; an unknown flag; no subcommand.
    let out = run(&["verify", "--nonce", NONCE, "--aud", AUD, "-"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = desk.verify("hotel.toml", &["--frobnicate", "-"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run(&[], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // A bad --now.
    let out = run(
        &[
            "verify",
            "--trust",
            &desk.path("jwks.json"),
            "--nonce",
            NONCE,
            "--aud",
            AUD,
            "--now",
            "yesterday",
            "-",
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn now_verifies_as_of_an_earlier_time() {
    let desk = Desk::new(Alg::Es256, &[]);
    let mut spec = Spec::new(Level::Basic, Format::DcSdJwt);
    spec.expires_at = IAT + 30 * 86_400; // expired 2026-01-31
    let credential = credential(&desk.keys, &spec);
    let audit_time = IAT + 10 * 86_400; // 2026-01-11T00:00:00Z
    let presentation = present_at(
        &credential,
        &desk.keys,
        Format::DcSdJwt,
        HOTEL_CLAIMS,
        NONCE,
        AUD,
        audit_time - 30,
    );
    let file = desk.write("old.txt", &presentation);
    desk.write(
        "status-old.jwt",
        &status_token(&desk.keys.issuer, STATUS_URI, audit_time - 600, None, &[]),
    );
    let verify_at = |now: &str| {
        run(
            &[
                "verify",
                "--trust",
                &desk.path("jwks.json"),
                "--status",
                &desk.path("status-old.jwt"),
                "--policy",
                &desk.path("hotel.toml"),
                "--nonce",
                NONCE,
                "--aud",
                AUD,
                "--now",
                now,
                "--json",
                &file,
            ],
            None,
        )
    };
    let today = verify_at(&NOW.to_string());
    assert_rejected(&today, "expired");
    for then in ["2026-01-11T00:00:00Z", &audit_time.to_string()] {
        let out = verify_at(then);
        assert_eq!(out.code, 0, "{then}: {}", out.stderr);
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["claims"]["exp"], IAT + 30 * 86_400);
    }
}

fn rfc9901(example: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../credential/tests/vectors/sd-jwt/rfc9901-examples")
        .join(example)
        .join(file)
}

/// The issuer's public key from `settings.yml` (`key_settings.issuer_keys[0]`, less `d`).
fn rfc9901_issuer_jwk() -> Value {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../credential/tests/vectors/sd-jwt/rfc9901-examples/settings.yml"),
    )
    .unwrap();
    let settings: Value = serde_yaml::from_str(&text).unwrap();
    let key = &settings["key_settings"]["issuer_keys"][0];
    json!({"kty": key["kty"], "crv": key["crv"], "x": key["x"], "y": key["y"]})
}

#[test]
fn generic_verifies_the_rfc9901_simple_example() {
    let dir = tempfile::tempdir().unwrap();
    let jwk = dir.path().join("issuer.jwk");
    std::fs::write(&jwk, rfc9901_issuer_jwk().to_string()).unwrap();
    let jwk = jwk.to_string_lossy().into_owned();
    // The compact `simple` example, and the flattened JSON serialization (RFC 9901 8.1).
    for (example, file) in [
        ("simple", "sd_jwt_presentation.txt"),
        ("json_serialization_flattened", "sd_jwt_presentation.json"),
    ] {
        let presentation = rfc9901(example, file).to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&presentation).unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(rfc9901(example, "verified_contents.json")).unwrap(),
        )
        .unwrap();
        let verify = |extra: &[&str], input: &str, stdin: Option<&str>| {
            let mut args = vec!["verify", "--trust", &jwk];
            args.extend(KB);
            args.extend(["--now", "1748537243", "--json"]);
            args.extend_from_slice(extra);
            args.push(input);
            run(&args, stdin)
        };
        for (extra, input, stdin) in [
            (
                &["--generic", "--no-key-binding"][..],
                presentation.as_str(),
                None,
            ),
            (
                &["--generic", "--no-key-binding"][..],
                "-",
                Some(text.as_str()),
            ),
            // Its KB-JWT checks out too.
            (&["--generic"][..], presentation.as_str(), None),
        ] {
            let out = verify(extra, input, stdin);
            assert_eq!(out.code, 0, "{example} {extra:?} {input}: {}", out.stderr);
            let v: Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(v["claims"], expected, "{example}");
            // Member for member, in the same order.
            assert_eq!(
                v["claims"].to_string(),
                expected.to_string(),
                "{example}: member order"
            );
            assert_eq!(v["issuer"], "https://issuer.example.com");
            assert_eq!(v["type"], Value::Null);
            assert_eq!(v["level"], Value::Null);
            assert_eq!(v["status"], json!({"state": "no_status"}));
            assert_eq!(v["format"], "sd-jwt");
            assert_eq!(v["key_binding"]["nonce"], "1234567890");
        }
        // A citizen-ID verifier refuses its `typ` (example+sd-jwt).
        assert_rejected(
            &verify(&["--no-key-binding"], &presentation, None),
            "wrong_typ",
        );
    }
    // The compact presentation given inline as the argument.
    let inline = std::fs::read_to_string(rfc9901("simple", "sd_jwt_presentation.txt")).unwrap();
    let mut args = vec!["verify", "--trust", &jwk, "--generic"];
    args.extend(KB);
    args.extend(["--now", "1748537243", inline.trim()]);
    let out = run(&args, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("accepted\n"));
}

/// `verifier verify --generic --trust TRUST --now <the examples' KB time> --json` plus `extra`
/// on an RFC 9901 example's presentation.
fn verify_rfc9901(trust: &Value, example: &str, file: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let trust_file = dir.path().join("trust.json");
    std::fs::write(&trust_file, trust.to_string()).unwrap();
    let presentation = rfc9901(example, file);
    let mut args = vec![
        "verify",
        "--generic",
        "--trust",
        trust_file.to_str().unwrap(),
        "--now",
        "1748537243",
        "--json",
    ];
    args.extend_from_slice(extra);
    args.push(presentation.to_str().unwrap());
    run(&args, None)
}

/// [`verify_rfc9901`], which must accept; its JSON output.
fn verified_rfc9901(trust: &Value, example: &str, file: &str, extra: &[&str]) -> Value {
    let out = verify_rfc9901(trust, example, file, extra);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

const KB: [&str; 4] = [
    "--nonce",
    "1234567890",
    "--aud",
    "https://verifier.example.org",
];

/// The public keys (with their `kid`s) of the `json_serialization_general` example.
fn rfc9901_general_jwks() -> Value {
    let text = std::fs::read_to_string(rfc9901("json_serialization_general", "specification.yml"))
        .unwrap();
    let spec: Value = serde_yaml::from_str(&text).unwrap();
    let keys: Vec<Value> = spec["settings_override"]["key_settings"]["issuer_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| json!({"kty": k["kty"], "crv": k["crv"], "x": k["x"], "y": k["y"], "kid": k["kid"]}))
        .collect();
    json!({ "keys": keys })
}

#[test]
fn generic_tries_a_trusted_key_without_kid_when_the_header_kid_names_none() {
    // The general JSON serialization's signatures carry `kid: issuer-key-1` and
    // `issuer-key-2`; the trusted key (settings.yml) has no `kid` and is issuer-key-1.
    let v = verified_rfc9901(
        &rfc9901_issuer_jwk(),
        "json_serialization_general",
        "sd_jwt_presentation.json",
        &KB,
    );
    assert_eq!(v["claims"]["given_name"], "John");
    // A key WITH a kid that the header does not name is still not tried.
    let mut named = rfc9901_issuer_jwk();
    named["kid"] = json!("another-key");
    assert_rejected(
        &verify_rfc9901(
            &named,
            "json_serialization_general",
            "sd_jwt_presentation.json",
            &KB,
        ),
        "unknown_issuer_key",
    );
}

#[test]
fn generic_finds_the_key_named_by_the_unprotected_header_kid() {
    // Only issuer-key-2 trusted: the second signature, named in its unprotected header.
    let mut jwks = rfc9901_general_jwks();
    jwks["keys"].as_array_mut().unwrap().remove(0);
    let v = verified_rfc9901(
        &jwks,
        "json_serialization_general",
        "sd_jwt_presentation.json",
        &KB,
    );
    assert_eq!(v["claims"]["family_name"], "Doe");
    assert_eq!(v["key_binding"]["aud"], "https://verifier.example.org");
}

#[test]
fn generic_without_key_binding_accepts_a_credential_without_cnf() {
    // address_only_flat: no `cnf`, no KB-JWT; no --nonce or --aud needed.
    let v = verified_rfc9901(
        &rfc9901_issuer_jwk(),
        "address_only_flat",
        "sd_jwt_presentation.txt",
        &["--no-key-binding"],
    );
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(rfc9901("address_only_flat", "verified_contents.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["claims"], expected);
    assert_eq!(v["holder_key"], Value::Null);
    assert_eq!(v["key_binding"], Value::Null);
}

#[test]
fn citizen_profiles_keep_their_strictness_on_the_rfc9901_shapes() {
    // Without --generic the same inputs are refused as before: `typ` first.
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, rfc9901_issuer_jwk().to_string()).unwrap();
    let presentation = rfc9901("address_only_flat", "sd_jwt_presentation.txt");
    let out = run(
        &[
            "verify",
            "--no-key-binding",
            "--trust",
            trust.to_str().unwrap(),
            "--now",
            "1748537243",
            presentation.to_str().unwrap(),
        ],
        None,
    );
    assert_rejected(&out, "wrong_typ");
}

fn batch_line(presentation: &str, nonce: &str) -> String {
    json!({"presentation": presentation, "nonce": nonce, "aud": AUD}).to_string()
}

#[test]
fn batch_prints_one_result_per_line_in_order() {
    let desk = Desk::new(Alg::Es256, &[(IDX, 1)]);
    let mut good_spec = Spec::new(Level::Basic, Format::DcSdJwt);
    good_spec.status = Some((STATUS_URI.into(), IDX + 1));
    let good = credential(&desk.keys, &good_spec);
    let good = hotel_presentation(&good, &desk.keys, Format::DcSdJwt);
    let mut vc_spec = Spec::new(Level::Basic, Format::VcSdJwt);
    vc_spec.status = Some((STATUS_URI.into(), IDX + 2));
    let vc = credential(&desk.keys, &vc_spec);
    let vc = hotel_presentation(&vc, &desk.keys, Format::VcSdJwt);
    let revoked = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let revoked = hotel_presentation(&revoked, &desk.keys, Format::DcSdJwt);

    let mut lines = Vec::new();
    let mut expected: Vec<(bool, Option<&str>)> = Vec::new();
    for i in 0..40 {
        match i % 5 {
            0 => {
                lines.push(batch_line(&good, NONCE));
                expected.push((true, None));
            }
            1 => {
                lines.push(batch_line(&revoked, NONCE));
                expected.push((false, Some("revoked")));
            }
            2 => {
                lines.push(batch_line(&vc, NONCE));
                expected.push((true, None));
            }
            3 => {
                lines.push(batch_line(&good, "n-wrong"));
                expected.push((false, Some("nonce_mismatch")));
            }
            _ => {
                lines.push("{\"presentation\": 5}".into());
                expected.push((false, Some("malformed_batch_line")));
            }
        }
    }
    // A blank line after the tenth entry is skipped; `line` stays the file's line number.
    let text = format!("{}\n\n{}\n", lines[..10].join("\n"), lines[10..].join("\n"));
    let file = desk.write("batch.jsonl", &text);
    // --nonce and --aud come from each line.
    let args = batch_args(&desk, file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None);
    assert_rejected_with(&out, "rejected: 24 of 40");
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), expected.len());
    for (i, (result, (accepted, code))) in results.iter().zip(&expected).enumerate() {
        assert_eq!(result["line"], if i < 10 { i + 1 } else { i + 2 });
        assert_eq!(result["accepted"], *accepted, "line {}: {result}", i + 1);
        match code {
            Some(code) => assert_eq!(result["error"], *code),
            None => {
                assert_eq!(result["error"], Value::Null);
                assert_eq!(result["issuer"], ISSUER);
            }
        }
    }
    assert_eq!(results[0]["claims"]["id_number"], "110105199205179985");
    assert_eq!(
        results[2]["claims"]["credentialSubject"]["id_number"],
        "110105199205179985"
    );

    // All good: exit 0.
    let all_good = desk.write(
        "good.jsonl",
        &[batch_line(&good, NONCE), batch_line(&vc, NONCE)].join("\n"),
    );
    let args = batch_args(&desk, all_good);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2);
}

/// The `--batch` arguments: the hotel desk without --nonce and --aud (each line has its own).
fn batch_args(desk: &Desk, file: String) -> Vec<String> {
    let mut args = desk.verify_args("hotel.toml");
    args.drain(7..11);
    args.extend(["--batch".to_owned(), file]);
    args
}

#[test]
fn batch_streams_a_file_larger_than_the_old_whole_file_limit() {
    let desk = Desk::new(Alg::Es256, &[]);
    let good = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let good = hotel_presentation(&good, &desk.keys, Format::DcSdJwt);
    // 20 lines of 0.9 MiB each (padded with a member the verifier ignores): 18 MiB, past the
    // 16 MiB a whole file was once limited to, each line under the 1 MiB line limit.
    let pad = "x".repeat(900 * 1024);
    let line = json!({"presentation": good, "nonce": NONCE, "aud": AUD, "pad": pad}).to_string();
    let lines = vec![line; 20].join("\n");
    assert!(lines.len() > 16 * 1024 * 1024);
    let file = desk.write("big.jsonl", &lines);
    let args = batch_args(&desk, file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 20);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["line"], i + 1);
        assert_eq!(r["accepted"], true, "{r}");
    }
}

#[test]
fn batch_answers_an_over_long_line_with_its_own_error_and_goes_on() {
    let desk = Desk::new(Alg::Es256, &[]);
    let good = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let good = hotel_presentation(&good, &desk.keys, Format::DcSdJwt);
    let over = json!({"presentation": good, "nonce": NONCE, "aud": AUD,
        "pad": "y".repeat(1024 * 1024 + 1)})
    .to_string();
    let text = [
        batch_line(&good, NONCE),
        over,
        batch_line(&good, NONCE),
        "\u{ff}not text".to_owned(),
        batch_line(&good, NONCE),
    ]
    .join("\n");
    // A line that is not UTF-8 text.
    let mut bytes = text.into_bytes();
    let bad = bytes
        .windows(2)
        .position(|w| w == "\u{ff}".as_bytes())
        .unwrap();
    bytes.splice(bad..bad + 2, [0xffu8]);
    std::fs::write(desk.dir.path().join("long.jsonl"), bytes).unwrap();
    let args = batch_args(&desk, desk.path("long.jsonl"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stderr, "rejected: 2 of 5 presentations\n");
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 5);
    assert_eq!(results[1]["line"], 2);
    assert_eq!(results[1]["error"], "batch_line_too_long");
    assert_eq!(results[3]["line"], 4);
    assert_eq!(results[3]["error"], "malformed_batch_line");
    for i in [0, 2, 4] {
        assert_eq!(results[i]["line"], i + 1);
        assert_eq!(results[i]["accepted"], true, "{}", results[i]);
    }
}

#[test]
fn batch_into_a_closed_pipe_stops_without_panicking() {
    let desk = Desk::new(Alg::Es256, &[]);
    let good = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let good = hotel_presentation(&good, &desk.keys, Format::DcSdJwt);
    // Far more output than a pipe buffers.
    let lines = vec![batch_line(&good, NONCE); 400].join("\n");
    let file = desk.write("many.jsonl", &lines);
    let args = batch_args(&desk, file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take()); // like `| head -c 16`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: cannot write"), "{stderr}");
}

fn list_json(entries: &[(u64, u8)]) -> String {
    let mut list = StatusList::new(Bits::Two, LIST_LEN).unwrap();
    for (idx, value) in entries {
        list.set(*idx, *value).unwrap();
    }
    list.to_json().to_string()
}

fn status_cmd(list: &str, idx: u64, extra: &[&str]) -> Output {
    let idx = idx.to_string();
    let mut args = vec!["status", list, "--idx", &idx];
    args.extend_from_slice(extra);
    run(&args, None)
}

fn assert_prints(out: &Output, value: &str) {
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{value}\n"));
    assert_eq!(out.stderr, "");
}

#[test]
fn status_prints_the_value_from_a_json_list_and_a_token() {
    let desk = Desk::new(Alg::Es256, &[(IDX, 1), (IDX + 1, 2)]);
    let list = desk.write("list.json", &list_json(&[(IDX, 1), (IDX + 1, 2)]));
    assert_prints(&status_cmd(&list, IDX, &[]), "1");
    assert_prints(&status_cmd(&list, IDX + 1, &[]), "2");
    assert_prints(&status_cmd(&list, 0, &[]), "0");

    let token = desk.path("status-3.jwt");
    let now = NOW.to_string();
    let jwks = desk.path("jwks.json");
    // Unverified, and verified with the issuer's JWKS.
    assert_prints(&status_cmd(&token, IDX, &["--now", &now]), "1");
    assert_prints(
        &status_cmd(&token, IDX + 1, &["--trust", &jwks, "--now", &now]),
        "2",
    );
    // From standard input.
    let text = std::fs::read_to_string(&token).unwrap();
    let out = run(
        &[
            "status",
            "-",
            "--idx",
            &IDX.to_string(),
            "--trust",
            &jwks,
            "--now",
            &now,
        ],
        Some(&text),
    );
    assert_prints(&out, "1");
    // Trust from the issuer's DID document.
    let did = desk.write(
        "did.json",
        &json!({
            "id": "did:web:citizen-id.example",
            "verificationMethod": [{
                "id": "did:web:citizen-id.example#key-1",
                "type": "JsonWebKey2020",
                "controller": "did:web:citizen-id.example",
                "publicKeyJwk": desk.keys.issuer.public_jwk().to_bare_value()
            }]
        })
        .to_string(),
    );
    assert_prints(
        &status_cmd(&token, IDX, &["--trust", &did, "--now", &now]),
        "1",
    );
    // A key that did not sign it.
    let stranger = Keys::new(Alg::EdDsa);
    let other = desk.write(
        "other.jwk",
        &stranger.issuer.public_jwk().to_value().to_string(),
    );
    assert_rejected(
        &status_cmd(&token, IDX, &["--trust", &other, "--now", &now]),
        "bad_signature",
    );
}

#[test]
fn status_rejects_out_of_range_and_malformed_lists() {
    let desk = Desk::new(Alg::Es256, &[]);
    let list = desk.write("list.json", &list_json(&[]));
    let out = status_cmd(&list, LIST_LEN, &[]);
    assert_rejected(&out, "index_out_of_range");
    assert_eq!(out.stdout, "");
    let token = desk.path("status-3.jwt");
    assert_rejected(
        &status_cmd(&token, LIST_LEN + 7, &["--now", &NOW.to_string()]),
        "index_out_of_range",
    );

    for (name, text, code) in [
        (
            "bits.json",
            r#"{"bits": 3, "lst": "eNrbuRgAAhcBXQ"}"#,
            "unsupported_bits",
        ),
        (
            "lst.json",
            r#"{"bits": 1, "lst": "not base64!"}"#,
            "lst_not_base64url",
        ),
        ("zlib.json", r#"{"bits": 1, "lst": "AAAA"}"#, "not_zlib"),
        ("shape.json", r#"{"bits": 1}"#, "malformed_list"),
        ("json.json", "{not json", "malformed_list"),
        ("jwt.txt", "eyJhbGciOiJub25lIn0.e30.", "unsupported_alg"),
    ] {
        let file = desk.write(name, text);
        let out = status_cmd(&file, 0, &[]);
        assert_rejected_with(&out, "rejected: ");
        assert!(
            out.stderr.contains(code),
            "{name}: expected {code}, got {}",
            out.stderr
        );
    }
    // An unreadable list file cannot run.
    let out = status_cmd(&desk.path("nope.json"), 0, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn nonce_and_aud_are_needed_only_while_key_binding_is_required() {
    let desk = Desk::new(Alg::Es256, &[]);
    let good = credential(&desk.keys, &Spec::new(Level::Basic, Format::DcSdJwt));
    let presentation = desk.write(
        "p.txt",
        &hotel_presentation(&good, &desk.keys, Format::DcSdJwt),
    );
    let mut args = desk.verify_args("hotel.toml");
    args.drain(7..11); // no --nonce, no --aud
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Key binding required, own policy, no stored request: could not run, and says why.
    let mut required = args.clone();
    required.push(&presentation);
    let out = run(&required, None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("key binding is required: give --nonce and --aud"),
        "{}",
        out.stderr
    );
    // Without key binding neither is needed (the KB-JWT present is still checked).
    let mut optional = args.clone();
    optional.extend(["--no-key-binding", &presentation]);
    let out = run(&optional, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn help_documents_exit_codes() {
    let out = run(&["verify", "--help"], None);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Exit codes: 0 accepted, 1 rejected"));
}
