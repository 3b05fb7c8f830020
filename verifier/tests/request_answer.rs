//! `verifier request` and `verifier verify` of its answer as a relying party runs them: the
//! real binary, a data directory, a credential issued with `credential::citizen::issue`, the
//! wallet's side written here from OpenID4VP 1.0.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use testkit::now;
use verifier::request::PresentationRequest;

mod rp_support;

use rp_support::{Fixture, Status};

struct Setup {
    dir: tempfile::TempDir,
    holder: SigningKey,
    credential: String,
}

impl Setup {
    fn new(revoked: bool) -> Setup {
        let status = if revoked {
            Status::Revoked
        } else {
            Status::Valid
        };
        let f = Fixture::new(status);
        Setup {
            dir: f.dir,
            holder: f.holder,
            credential: f.credential,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn verifier(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_verifier"))
            .args(args)
            .output()
            .unwrap()
    }

    /// `verifier request --json`; returns (request uri, nonce, client id).
    fn request(&self, profile: &str) -> (String, String, String) {
        let state = self.path("state");
        let out = self.verifier(&["request", "--profile", profile, "--data", &state, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["request_uri"].as_str().unwrap().to_owned(),
            v["nonce"].as_str().unwrap().to_owned(),
            v["client_id"].as_str().unwrap().to_owned(),
        )
    }

    /// The wallet's side: the requested claims, nothing more, with a KB-JWT for the request.
    fn answer(&self, request_uri: &str) -> String {
        let request = PresentationRequest::from_uri(request_uri).unwrap();
        self.answer_to(&request.dcql_query, &request.nonce, &request.client_id)
    }

    /// The wallet's answer to a request's DCQL query, nonce and client id.
    fn answer_to(&self, dcql_query: &Value, nonce: &str, client_id: &str) -> String {
        let query = &dcql_query["credentials"][0];
        let paths: Vec<ClaimPath> = query["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| ClaimPath::from_json(&c["path"]).unwrap())
            .collect();
        let sd_jwt = SdJwt::parse(&self.credential, &Limits::default()).unwrap();
        let selected = sd_jwt.select(&paths).unwrap();
        add_key_binding(&selected, &self.holder, nonce, client_id, now())
    }

    /// `verifier verify` of an answer to a stored request: no --nonce, no --aud (the stored
    /// request supplies both).
    fn verify(&self, answer: &str) -> (i32, Value, String) {
        self.verify_with_aud(None, answer)
    }

    /// The wallet's answer to a new request of the hotel's profile.
    fn hotel_answer(&self) -> String {
        let (uri, _, _) = self.request("hotel");
        self.answer(&uri)
    }

    /// [`Setup::verify`], which must accept (exit 0): its JSON.
    fn accepted(&self, answer: &str) -> Value {
        let (code, json, err) = self.verify(answer);
        assert_eq!(code, 0, "{err}");
        json
    }

    /// [`Setup::verify`], which must refuse (exit 1): its JSON.
    fn refused(&self, answer: &str) -> Value {
        let (code, json, err) = self.verify(answer);
        assert_eq!(code, 1, "{err}");
        json
    }

    fn verify_with_aud(&self, aud: Option<&str>, answer: &str) -> (i32, Value, String) {
        let state = self.path("state");
        let trust = self.path("trust.json");
        let status = self.path("status.jwt");
        let mut args = vec![
            "verify", "--data", &state, "--trust", &trust, "--status", &status, "--json",
        ];
        if let Some(aud) = aud {
            args.extend(["--aud", aud]);
        }
        args.push(answer);
        let out = self.verifier(&args);
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap(),
            json,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn write_qr_png(text: &str, path: &Path) {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).unwrap();
    let n = code.width();
    let (scale, quiet) = (4, 4);
    let side = (n + 2 * quiet) * scale;
    let colors = code.to_colors();
    // RGB, as a phone screenshot would be.
    let mut pixels = vec![255u8; side * side * 3];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n, i / n);
            for dy in 0..scale {
                for dx in 0..scale {
                    let p = (((y + quiet) * scale + dy) * side + (x + quiet) * scale + dx) * 3;
                    pixels[p..p + 3].fill(0);
                }
            }
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(file, side as u32, side as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&pixels).unwrap();
    w.finish().unwrap();
}

#[test]
fn request_answer_as_vp_token_is_accepted_once() {
    let s = Setup::new(false);
    let (uri, nonce, client_id) = s.request("hotel");
    // An unsigned offline request: the redirect_uri: client id of the desk's offline
    // response_uri (OpenID4VP 1.0 section 5.9.3).
    assert_eq!(
        client_id,
        "redirect_uri:https://offline.invalid/hotel.example"
    );
    // The request the binary printed reads back with its nonce and the hotel's DCQL.
    let request = PresentationRequest::from_uri(&uri).unwrap();
    assert_eq!(request.nonce, nonce);
    assert_eq!(
        request.dcql_query["credentials"][0]["claims"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let presentation = s.answer(&uri);
    let vp_token = verifier::answer::vp_token("citizen_id", &presentation).to_string();
    let json = s.accepted(&vp_token);
    assert_eq!(json["accepted"], true);
    assert_eq!(json["profile"], "hotel");
    assert_eq!(json["claims"]["family_name"], "李");
    assert!(json["claims"].get("birthdate").is_none());
    // The same answer again: the nonce is used up.
    let (code, json, err) = s.verify(&vp_token);
    assert_eq!(code, 1);
    assert_eq!(json["error"], "nonce_unknown_or_used");
    assert!(err.starts_with("rejected: nonce_unknown_or_used"), "{err}");
}

#[test]
fn answer_from_a_png_of_its_qr_code() {
    let s = Setup::new(false);
    let presentation = s.hotel_answer();
    let png = s.dir.path().join("answer.png");
    write_qr_png(&presentation, &png);
    let json = s.accepted(&png.to_string_lossy());
    assert_eq!(json["level"], "basic");
}

#[test]
fn a_forged_answer_leaves_the_request_open_for_the_holder() {
    let s = Setup::new(false);
    let presentation = s.hotel_answer();
    // Someone who saw the QR code answers with a key-binding JWT signed by another key.
    let (body, kb) = presentation.rsplit_once('~').unwrap();
    let other = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(9));
    let payload = kb.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&credential::b64::decode(payload).unwrap()).unwrap();
    let forged_kb = credential::jose::sign_compact(
        serde_json::json!({"typ": "kb+jwt"})
            .as_object()
            .unwrap()
            .clone(),
        claims.to_string().as_bytes(),
        &other,
    );
    let forged = format!("{body}~{forged_kb}");
    let json = s.refused(&forged);
    assert_eq!(json["error"], "kb_signature");
    s.accepted(&presentation);
}

#[test]
fn policy_rejections_use_the_nonce_up() {
    let s = Setup::new(false);
    // The bank's profile requires high; it asks for address, which a basic credential lacks,
    // so the wallet here answers with what it has.
    let (uri, _, client_id) = s.request("bank");
    assert_eq!(
        client_id,
        "redirect_uri:https://offline.invalid/bank.example"
    );
    let request = PresentationRequest::from_uri(&uri).unwrap();
    assert_eq!(
        request.dcql_query["credentials"][0]["meta"]["vct_values"],
        serde_json::json!(["urn:cn:citizen-id:high:1"])
    );
    let presentation = s.answer(&uri);
    let json = s.refused(&presentation);
    assert_eq!(json["error"], "level_too_low");
    let (_, json, _) = s.verify(&presentation);
    assert_eq!(json["error"], "nonce_unknown_or_used");
}

#[test]
fn revoked_and_misaddressed_answers() {
    let s = Setup::new(true);
    let (uri, _, client_id) = s.request("hotel");
    let presentation = s.answer(&uri);
    // An --aud given anyway must be the client id the request was made with.
    let (code, _, err) = s.verify_with_aud(Some("https://elsewhere.example"), &presentation);
    assert_eq!(code, 2, "{err}");
    let (code, json, _) = s.verify_with_aud(Some(&client_id), &presentation);
    assert_eq!(code, 1);
    assert_eq!(json["error"], "revoked");
    // An answer to no request at all.
    let json = s.refused("not an answer");
    assert_eq!(json["error"], "answer_unknown_form");
}

#[test]
fn request_prints_a_qr_code_and_writes_a_png() {
    let s = Setup::new(false);
    let state = s.path("state");
    let png = s.path("request.png");
    let out = s.verifier(&[
        "request",
        "--profile",
        "hotel",
        "--data",
        &state,
        "--png",
        &png,
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let uri = stdout.lines().last().unwrap();
    assert!(uri.starts_with("openid4vp://?client_id="));
    assert!(stdout.contains('█') || stdout.contains('▀') || stdout.contains('▄'));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    // An unknown profile is "could not run".
    let out = s.verifier(&["request", "--profile", "casino", "--data", &state]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compact_answer_from_a_png_is_accepted() {
    let s = Setup::new(false);
    let presentation = s.hotel_answer();
    let vp_token = verifier::answer::vp_token("citizen_id", &presentation).to_string();
    let compact = credential::compact::encode(&vp_token);
    assert!(compact.len() < vp_token.len());
    let png = s.dir.path().join("compact.png");
    write_qr_png(&compact, &png);
    let json = s.accepted(&png.to_string_lossy());
    assert_eq!(json["claims"]["id_number"].as_str().map(str::len), Some(18));
}

#[test]
fn vp2_answer_is_accepted_as_text_and_from_a_png() {
    let s = Setup::new(false);
    for as_png in [false, true] {
        let presentation = s.hotel_answer();
        let vp_token = verifier::answer::vp_token("citizen_id", &presentation).to_string();
        let vp2 = credential::compact::encode_v2(&vp_token);
        assert!(vp2.starts_with("VP2:"));
        assert!(vp2.len() < credential::compact::encode(&vp_token).len());
        let arg = if as_png {
            let png = s.dir.path().join("vp2.png");
            write_qr_png(&vp2, &png);
            png.to_string_lossy().into_owned()
        } else {
            vp2
        };
        let (code, json, err) = s.verify(&arg);
        assert_eq!(code, 0, "png {as_png}: {err}");
        assert_eq!(json["claims"]["id_number"].as_str().map(str::len), Some(18));
    }
}

#[test]
fn two_presentations_for_a_query_without_multiple_are_refused() {
    let s = Setup::new(false);
    let (uri, _, _) = s.request("hotel");
    let p = s.answer(&uri);
    let two = serde_json::json!({"citizen_id": [p.clone(), p]}).to_string();
    let json = s.refused(&two);
    assert_eq!(json["error"], "answer_not_multiple");
    // Refused before any holder check: the request stays open for a proper answer.
    let vp_token = verifier::answer::vp_token("citizen_id", &s.answer(&uri)).to_string();
    s.accepted(&vp_token);
}

#[test]
fn an_answer_without_key_binding_is_refused_when_the_request_required_it() {
    let s = Setup::new(false);
    let p = s.hotel_answer();
    // Strip the KB-JWT: `<jwt>~<disclosures>~`. Its nonce cannot be read, so the request is
    // not even found; with the nonce the policy and the request both require binding.
    let unbound = format!("{}~", p.rsplit_once('~').unwrap().0);
    let vp_token = verifier::answer::vp_token("citizen_id", &unbound).to_string();
    let json = s.refused(&vp_token);
    assert_eq!(json["error"], "nonce_unknown_or_used");
}

#[test]
fn an_answer_to_a_signed_request_verifies_without_retyping_its_client_id() {
    let s = Setup::new(false);
    let key = SigningKey::generate(Alg::EdDsa, &mut ChaCha20Rng::seed_from_u64(11));
    std::fs::write(s.path("rp.jwk"), key.to_private_jwk().as_bytes()).unwrap();
    let out = s.verifier(&[
        "request",
        "--profile",
        "hotel",
        "--data",
        &s.path("state"),
        "--sign-key",
        &s.path("rp.jwk"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let request: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client_id = request["client_id"].as_str().unwrap();
    assert!(client_id.starts_with("decentralized_identifier:did:jwk:"));
    let presentation = s.answer_to(
        &request["dcql_query"],
        request["nonce"].as_str().unwrap(),
        client_id,
    );
    // No --aud: the stored request supplies its client id (and nonce and profile).
    let json = s.accepted(&presentation);
    assert_eq!(json["key_binding"]["aud"], client_id);
    assert_eq!(json["profile"], "hotel");
}
