//! The `VP2:` compact form on real answers: credentials issued at both levels with both
//! algorithms, presented with key binding, packed, unpacked byte for byte and verified.

use credential::citizen::{issue, Format, Level};
use credential::compact::{self, CompactError};

use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, KeyBinding, SdJwt, TypPolicy, VerifyOptions};
use credential::status_list::StatusReference;
use rand_chacha::rand_core::SeedableRng;

use crate::support::{issue_request, sample_claims, IAT, ISSUER};

const NONCE: &str = "q6Jv3nE0Yx1sR8bT2mLk9w";
const HOTEL: &str = "x509_san_dns:hotel.example.cn";

const HOTEL_CLAIMS: [&str; 3] = ["family_name", "given_name", "id_number"];
const BANK_CLAIMS: [&str; 5] = [
    "family_name",
    "given_name",
    "birthdate",
    "id_number",
    "address",
];

/// One answer as the wallet sends it: `{"citizen_id":["<sd-jwt+kb>"]}`, with what verifies it.
struct Answer {
    vp_token: String,
    issuer: SigningKey,
    format: Format,
}

fn answer(alg: Alg, level: Level, format: Format, wanted: &[&str], seed: u64) -> Answer {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let issuer = SigningKey::generate(alg, &mut rng);
    let holder = SigningKey::generate(alg, &mut rng);
    let claims = sample_claims(level);
    let status = StatusReference {
        idx: 412_771,
        uri: format!("{ISSUER}/status/3"),
    };
    let credential = issue(
        &issue_request(&claims, level, format, holder.public_jwk(), Some(&status)),
        &issuer,
        &mut rng,
    )
    .unwrap();
    let prefix = match format {
        Format::VcSdJwt => "credentialSubject.",
        _ => "",
    };
    let wanted: Vec<ClaimPath> = wanted
        .iter()
        .map(|c| ClaimPath::parse_dotted(&format!("{prefix}{c}")))
        .collect();
    let selected = SdJwt::parse(&credential, &Default::default())
        .unwrap()
        .select(&wanted)
        .unwrap();
    let presentation = add_key_binding(&selected, &holder, NONCE, HOTEL, IAT + 60);
    Answer {
        vp_token: serde_json::json!({ "citizen_id": [presentation] }).to_string(),
        issuer,
        format,
    }
}

fn verify(answer: &Answer, vp_token: &str) {
    let value: serde_json::Value = serde_json::from_str(vp_token).unwrap();
    let presentation = value["citizen_id"][0].as_str().unwrap();
    let options = VerifyOptions {
        typ: TypPolicy::OneOf(vec![answer.format.as_str().into()]),
        ..VerifyOptions::new(
            IAT + 90,
            KeyBinding::Required {
                nonce: NONCE.into(),
                aud: HOTEL.into(),
                max_age: 300,
            },
        )
    };
    SdJwt::parse(presentation, &Default::default())
        .unwrap()
        .verify(answer.issuer.public_jwk(), &options)
        .unwrap();
}

fn every_answer() -> Vec<(String, Answer)> {
    let mut out = Vec::new();
    let mut seed = 0;
    for alg in Alg::ALL {
        for level in Level::ALL {
            for format in [Format::DcSdJwt, Format::VcSdJwt] {
                let wanted: &[&str] = match level {
                    Level::Basic => &HOTEL_CLAIMS,
                    _ => &BANK_CLAIMS,
                };
                seed += 1;
                let name = format!("{alg:?} {level:?} {format:?}");
                out.push((name, answer(alg, level, format, wanted, seed)));
            }
        }
    }
    out
}

#[test]
fn vp2_rebuilds_real_answers_byte_for_byte_and_they_verify_unchanged() {
    for (name, answer) in every_answer() {
        let packed = compact::encode_v2(&answer.vp_token);
        assert!(packed.starts_with("VP2:"), "{name}");
        assert!(compact::is_compact(&packed));
        assert!(!packed.ends_with(' '), "{name}");
        let back = compact::decode(&packed, 1 << 16).unwrap();
        assert_eq!(back, answer.vp_token, "{name}");
        verify(&answer, &back);
        // Smaller than VP1 for the same answer.
        let v1 = compact::encode(&answer.vp_token);
        assert!(
            packed.len() < v1.len(),
            "{name}: {} vs {}",
            packed.len(),
            v1.len()
        );
        eprintln!("{name}: VP1 {} VP2 {} chars", v1.len(), packed.len());
    }
}

/// QR version 20 at level L holds 1,249 alphanumeric characters; version 25, 1,853.
#[test]
fn vp2_hotel_answer_fits_qr_version_20_and_bank_answer_version_25() {
    for alg in Alg::ALL {
        let hotel = answer(alg, Level::Basic, Format::DcSdJwt, &HOTEL_CLAIMS, 40);
        let bank = answer(alg, Level::High, Format::DcSdJwt, &BANK_CLAIMS, 41);
        let hotel_len = compact::encode_v2(&hotel.vp_token).len();
        let bank_len = compact::encode_v2(&bank.vp_token).len();
        assert!(hotel_len <= 1_249, "{alg:?} hotel: {hotel_len}");
        assert!(bank_len <= 1_853, "{alg:?} bank: {bank_len}");
    }
}

#[test]
fn vp1_answers_still_read() {
    let answer = answer(Alg::Es256, Level::Basic, Format::DcSdJwt, &HOTEL_CLAIMS, 50);
    let v1 = compact::encode(&answer.vp_token);
    assert!(v1.starts_with("VP1:"));
    assert_eq!(compact::decode(&v1, 1 << 16).unwrap(), answer.vp_token);
}

fn hotel_vp2() -> String {
    compact::encode_v2(
        &answer(Alg::Es256, Level::Basic, Format::DcSdJwt, &HOTEL_CLAIMS, 60).vp_token,
    )
}

/// The fuzz seed `vp2_answer` was packed by `fuzz/seeds/make_seeds.py` with Python's zlib and
/// the dictionary read from `credential/src/compact/dictionary.rs`: another implementation's
/// `VP2:` decodes, so the form is the documented one and not only this encoder's.
#[test]
fn vp2_packed_by_another_implementation_decodes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds/compact_v2_decode/vp2_answer");
    let seed = std::fs::read(path).unwrap();
    let text = std::str::from_utf8(&seed[1..]).unwrap();
    let answer = compact::decode(text, 1 << 16).unwrap();
    assert!(answer.starts_with(r#"{"citizen_id":["eyJ"#), "{answer}");
    assert!(answer.contains("~eyJ0eXAiOiJrYitqd3QiLCJhbGciOiJFUzI1NiJ9."));
}

#[test]
fn vp2_rejects_an_unknown_version() {
    let packed = hotel_vp2().replacen("VP2:", "VP3:", 1);
    assert!(compact::is_compact(&packed));
    assert_eq!(
        compact::decode(&packed, 1 << 16),
        Err(CompactError::UnknownVersion { version: 3 })
    );
}

#[test]
fn vp2_refuses_an_oversized_answer_at_the_limit() {
    let packed = hotel_vp2();
    let len = compact::decode(&packed, 1 << 16).unwrap().len();
    assert_eq!(
        compact::decode(&packed, len - 1),
        Err(CompactError::TooLarge { limit: len - 1 })
    );
    assert!(compact::decode(&packed, len).is_ok());
}

#[test]
fn vp2_refuses_a_deflate_bomb_before_allocating_it() {
    // A megabyte of punctuation packs into a few hundred characters.
    let bomb = compact::encode_v2(&"~".repeat(1 << 20));
    assert!(bomb.len() < 4096, "{}", bomb.len());
    assert_eq!(
        compact::decode(&bomb, 64 * 1024),
        Err(CompactError::TooLarge { limit: 64 * 1024 })
    );
}
