//! Real citizen-ID credentials, issued in both forms at both levels with real keys, verified,
//! presented, and validated against the JSON Schemas in `schemas/`.

use std::path::PathBuf;

use credential::citizen::{issue, Format, IssueError, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, KeyBinding, SdJwt, TypPolicy, VerifyOptions, SD_JWT_VC_RESERVED,
};
use credential::status_list::StatusReference;
use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;

use crate::support::{issue_request, sample_claims, IAT, ISSUER};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(name)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_for(format: Format, level: Level) -> &'static str {
    match (format, level) {
        (Format::VcSdJwt, _) => "vcdm-citizen-id.schema.json",
        (_, Level::Basic) => "citizen-id-basic.schema.json",
        _ => "citizen-id-high.schema.json",
    }
}

#[test]
fn issued_credentials_verify_and_match_their_schemas() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    for alg in Alg::ALL {
        let issuer = SigningKey::generate(alg, &mut rng);
        let holder = SigningKey::generate(alg, &mut rng);
        for level in Level::ALL {
            let claims = sample_claims(level);
            for format in [Format::DcSdJwt, Format::VcSdJwt] {
                let status = StatusReference {
                    idx: 412_771,
                    uri: format!("{ISSUER}/status/3"),
                };
                let request = IssueRequest {
                    issued_at: IAT + 3_600,
                    ..issue_request(&claims, level, format, holder.public_jwk(), Some(&status))
                };
                let credential = issue(&request, &issuer, &mut rng).unwrap();
                let sd_jwt = SdJwt::parse(&credential, &Default::default()).unwrap();
                assert_eq!(sd_jwt.jws().header().typ.as_deref(), Some(format.as_str()));

                // Everything disclosed: the processed payload matches the schema.
                let options = VerifyOptions {
                    typ: TypPolicy::OneOf(vec![format.as_str().into()]),
                    reserved_claims: SD_JWT_VC_RESERVED.iter().map(|s| s.to_string()).collect(),
                    ..VerifyOptions::new(IAT + 7_200, KeyBinding::NotRequired)
                };
                let verified = sd_jwt.verify(issuer.public_jwk(), &options).unwrap();
                let payload = Value::Object(verified.claims.clone());
                let schema = validator(schema_for(format, level));
                let errors: Vec<String> = schema
                    .iter_errors(&payload)
                    .map(|e| format!("{e} at {}", e.instance_path))
                    .collect();
                assert!(errors.is_empty(), "{format:?} {level:?}: {errors:#?}");

                // Times are truncated to the day.
                if format == Format::DcSdJwt {
                    assert_eq!(payload["iat"], IAT);
                    assert_eq!(payload["vct"], level.vct());
                } else {
                    assert_eq!(payload["validFrom"], "2026-01-01T00:00:00Z");
                }

                // A hotel presentation: three claims, nothing else.
                let prefix = if format == Format::VcSdJwt {
                    "credentialSubject."
                } else {
                    ""
                };
                let wanted: Vec<ClaimPath> = ["family_name", "given_name", "id_number"]
                    .iter()
                    .map(|c| ClaimPath::parse_dotted(&format!("{prefix}{c}")))
                    .collect();
                let presentation = add_key_binding(
                    &sd_jwt.select(&wanted).unwrap(),
                    &holder,
                    "n-1",
                    "https://hotel.example",
                    IAT + 7_000,
                );
                let kb = KeyBinding::Required {
                    nonce: "n-1".into(),
                    aud: "https://hotel.example".into(),
                    max_age: 300,
                };
                let shown = SdJwt::parse(&presentation, &Default::default())
                    .unwrap()
                    .verify(
                        issuer.public_jwk(),
                        &VerifyOptions {
                            key_binding: kb,
                            ..options.clone()
                        },
                    )
                    .unwrap();
                assert_eq!(shown.disclosed, wanted);
                let subject = match format {
                    Format::VcSdJwt => shown.claims["credentialSubject"].clone(),
                    _ => Value::Object(shown.claims.clone()),
                };
                assert!(subject.get("birthdate").is_none());
                assert!(subject.get("age_equal_or_over").is_none());
                assert_eq!(subject["id_number"], claims.id_number().as_str());
                let errors: Vec<String> = schema
                    .iter_errors(&Value::Object(shown.claims))
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{errors:#?}");
            }
        }
    }
}

#[test]
fn every_credential_of_a_type_has_the_same_shape_and_no_more_digests_than_it_can_hold() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
    let issuer = SigningKey::generate(Alg::Es256, &mut rng);
    let holder = SigningKey::generate(Alg::Es256, &mut rng);
    // The subject's `_sd` holds one digest per claim the level can carry: six claims and
    // `age_equal_or_over` at basic, four more at high; nested objects one per possible member.
    for (level, subject_len) in [(Level::Basic, 7), (Level::High, 11)] {
        let claims = sample_claims(level);
        for format in [Format::DcSdJwt, Format::VcSdJwt] {
            let request = issue_request(&claims, level, format, holder.public_jwk(), None);
            let credential = issue(&request, &issuer, &mut rng).unwrap();
            let sd_jwt = SdJwt::parse(&credential, &Default::default()).unwrap();
            let sd_len = |v: &Value| v["_sd"].as_array().map(Vec::len);
            let payload = Value::Object(sd_jwt.payload().clone());
            let subject = match format {
                Format::VcSdJwt => &payload["credentialSubject"],
                _ => &payload,
            };
            assert_eq!(sd_len(subject), Some(subject_len), "{level:?} {format:?}");
            let nested = |name: &str| {
                sd_jwt
                    .disclosures()
                    .iter()
                    .find(|d| d.name() == Some(name))
                    .map(|d| sd_len(d.value()))
            };
            assert_eq!(nested("age_equal_or_over"), Some(Some(3)));
            if level == Level::High {
                assert_eq!(nested("address"), Some(Some(6)));
                assert_eq!(nested("id_card"), Some(Some(2)));
            } else {
                assert_eq!(nested("address"), None);
            }
        }
    }
}

#[test]
fn refuses_a_level_mismatch_and_an_empty_window() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let issuer = SigningKey::generate(Alg::Es256, &mut rng);
    let claims = sample_claims(Level::Basic);
    let mut request = issue_request(
        &claims,
        Level::High,
        Format::DcSdJwt,
        issuer.public_jwk(),
        None,
    );
    assert_eq!(
        issue(&request, &issuer, &mut rng),
        Err(IssueError::LevelMismatch {
            claims: Level::Basic,
            requested: Level::High
        })
    );
    request.level = Level::Basic;
    request.expires_at = IAT + 60;
    assert_eq!(
        issue(&request, &issuer, &mut rng),
        Err(IssueError::InvalidValidity)
    );
}
