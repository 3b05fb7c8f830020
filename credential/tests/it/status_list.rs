//! Token Status List (draft-ietf-oauth-status-list): every vector in
//! `tests/vectors/status-list/`, one test per rejection path, and property tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use credential::b64;
use credential::jose::{Alg, JoseError, PublicJwk, SigningKey};
use credential::status_list::{
    Bits, Limits, Status, StatusList, StatusListError, StatusListToken, StatusReference, Validation,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/status-list")
}

/// Every `*.json` vector, by file name.
fn vectors() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(vector_dir()).expect("vector directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable vector");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        out.insert(name, serde_json::from_str(&text).expect("json vector"));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `{"0": 1, "1993": 1, ...}` as index -> value.
fn statuses(value: &Value) -> BTreeMap<u64, u8> {
    value
        .as_object()
        .expect("statuses object")
        .iter()
        .map(|(k, v)| {
            let idx = k.parse().expect("numeric index");
            let value = u8::try_from(v.as_u64().expect("integer status")).expect("u8 status");
            (idx, value)
        })
        .collect()
}

/// Every entry equals the listed value, or 0 when not listed.
fn assert_entries(list: &StatusList, expected: &BTreeMap<u64, u8>, name: &str) {
    for idx in 0..list.len() {
        let want = expected.get(&idx).copied().unwrap_or(0);
        assert_eq!(list.get(idx).unwrap(), want, "{name}: index {idx}");
    }
}

#[test]
fn every_status_list_vector() {
    let vectors = vectors();
    let mut lists = 0;
    let mut tokens = 0;
    for (name, v) in &vectors {
        if v.get("token").is_some() {
            tokens += 1;
            check_token_vector(name, v);
        } else if v.get("json_status_list").is_some() {
            lists += 1;
            check_list_vector(name, v);
        } else {
            panic!("{name}: a vector of unknown shape; teach this test to read it");
        }
    }
    // 1bit_16, 2bit_12 and the four 2^20 appendix vectors; the JWT vector.
    assert!(lists >= 6, "only {lists} list vectors found");
    assert!(tokens >= 1, "no token vector found");
}

fn check_list_vector(name: &str, v: &Value) {
    let limits = Limits::default();
    let list = StatusList::from_json(&v["json_status_list"], &limits)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        u64::from(list.bits().as_u8()),
        v["bits"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        list.as_bytes().len() as u64,
        v["uncompressed_byte_array_len"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(list.len(), v["size_entries"].as_u64().unwrap(), "{name}");
    assert_eq!(
        hex(&Sha256::digest(list.as_bytes())),
        v["uncompressed_byte_array_sha256_hex"].as_str().unwrap(),
        "{name}"
    );
    if let Some(want) = v.get("uncompressed_byte_array_hex").and_then(Value::as_str) {
        assert_eq!(hex(list.as_bytes()), want, "{name}");
    }
    let expected = statuses(&v["statuses"]);
    assert_entries(&list, &expected, name);

    // Rebuild from the listed statuses, encode, decode: the same byte array. (Byte-exact `lst`
    // equality needs C zlib; the default backend emits different valid DEFLATE.)
    let mut rebuilt = StatusList::new(list.bits(), list.len()).unwrap();
    for (idx, value) in &expected {
        rebuilt.set(*idx, *value).unwrap();
    }
    assert_eq!(rebuilt.as_bytes(), list.as_bytes(), "{name}");
    let again = StatusList::from_json(&rebuilt.to_json(), &limits).unwrap();
    assert_eq!(again.as_bytes(), list.as_bytes(), "{name}");
    assert_eq!(again.bits(), list.bits(), "{name}");
}

fn check_token_vector(name: &str, v: &Value) {
    let token = v["token"].as_str().unwrap();
    let key = PublicJwk::from_value(&v["issuer_public_jwk"]).unwrap();
    let claims = &v["expected_claims"];
    let sub = claims["sub"].as_str().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    let verified = StatusListToken::verify(token, &key, &Validation::new(sub, iat + 3600))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(verified.sub(), sub);
    assert_eq!(verified.iat(), iat);
    assert_eq!(verified.exp(), claims["exp"].as_i64());
    assert_eq!(verified.ttl().map(NonZeroU64::get), claims["ttl"].as_u64());
    assert_eq!(verified.claims().iss.as_deref(), claims["iss"].as_str());
    let header = verified.header();
    assert_eq!(header.alg.as_str(), v["expected_header"]["alg"]);
    assert_eq!(header.kid.as_deref(), v["expected_header"]["kid"].as_str());
    let expected = statuses(&v["expected_statuses"]);
    assert_eq!(verified.list().len(), 16);
    assert_entries(verified.list(), &expected, name);

    // The sample Referenced Token claim points at entry 0 of this list: INVALID.
    let payload = match &v["referenced_token_status_claim_example"] {
        Value::Object(map) => map.clone(),
        _ => panic!("{name}: referenced token example is not an object"),
    };
    let reference = StatusReference::from_payload(&payload).unwrap().unwrap();
    assert_eq!(reference.uri, sub);
    assert_eq!(verified.status_of(&reference).unwrap(), Status::Invalid);
    let next = StatusReference {
        idx: 1,
        uri: reference.uri.clone(),
    };
    assert_eq!(verified.status_of(&next).unwrap(), Status::Valid);

    // The same token, unverified, shows the same claims.
    let unverified = StatusListToken::parse_unverified(token, &Limits::default()).unwrap();
    assert_eq!(unverified.claims(), verified.claims());
}

// --- The spec's JWT example, rejected on each check ---------------------------------------

fn spec_token() -> (String, PublicJwk, String) {
    let v = &vectors()["status_list_token_jwt.json"];
    (
        v["token"].as_str().unwrap().to_owned(),
        PublicJwk::from_value(&v["issuer_public_jwk"]).unwrap(),
        v["expected_claims"]["sub"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn spec_token_expired() {
    let (token, key, sub) = spec_token();
    // exp 2291720170; one second past it with no skew, and past the default skew.
    let at_exp = Validation::new(&sub, 2_291_720_170).with_skew(0);
    assert_eq!(
        StatusListToken::verify(&token, &key, &at_exp).unwrap_err(),
        StatusListError::Expired {
            exp: 2_291_720_170,
            now: 2_291_720_170
        }
    );
    let later = Validation::new(&sub, 2_291_720_170 + 61);
    assert!(matches!(
        StatusListToken::verify(&token, &key, &later),
        Err(StatusListError::Expired { .. })
    ));
}

#[test]
fn spec_token_issued_in_future() {
    let (token, key, sub) = spec_token();
    // iat 1686920170: a verifier whose clock is two minutes behind.
    let early = Validation::new(&sub, 1_686_920_170 - 120);
    assert_eq!(
        StatusListToken::verify(&token, &key, &early).unwrap_err(),
        StatusListError::IssuedInFuture {
            iat: 1_686_920_170,
            now: 1_686_920_050
        }
    );
}

#[test]
fn spec_token_sub_mismatch() {
    let (token, key, _) = spec_token();
    let other = Validation::new("https://example.com/statuslists/2", 1_700_000_000);
    let err = StatusListToken::verify(&token, &key, &other).unwrap_err();
    assert_eq!(
        err,
        StatusListError::SubjectMismatch {
            expected: "https://example.com/statuslists/2".into(),
            found: "https://example.com/statuslists/1".into(),
        }
    );
    assert_eq!(err.code(), "subject_mismatch");
}

#[test]
fn spec_token_bad_signature() {
    let (token, key, sub) = spec_token();
    let validation = Validation::new(&sub, 1_700_000_000);
    // Flip one bit of the signature.
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = b64::decode(sig).unwrap();
    sig[10] ^= 0x01;
    let tampered = format!("{input}.{}", b64::encode(&sig));
    assert_eq!(
        StatusListToken::verify(&tampered, &key, &validation).unwrap_err(),
        StatusListError::Signature(JoseError::BadSignature)
    );
    // Change the payload (entry 1 flipped to INVALID), keep the signature.
    let (header, rest) = token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let payload = json!({
        "exp": 2291720170u64, "iat": 1686920170, "iss": "https://example.com",
        "status_list": {"bits": 1, "lst": StatusList::from_bytes(Bits::One, vec![0xbb, 0xa3]).unwrap().lst()},
        "sub": sub, "ttl": 43200
    });
    let swapped = format!("{header}.{}.{sig}", b64::encode(payload.to_string()));
    assert_eq!(
        StatusListToken::verify(&swapped, &key, &validation).unwrap_err(),
        StatusListError::Signature(JoseError::BadSignature)
    );
    // A valid signature by a key the caller did not choose.
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let stranger = SigningKey::generate(Alg::Es256, &mut rng);
    let forged = StatusListToken::parse_unverified(&token, &Limits::default())
        .unwrap()
        .claims()
        .sign(&stranger);
    assert_eq!(
        StatusListToken::verify(&forged, &key, &validation).unwrap_err(),
        StatusListError::Signature(JoseError::BadSignature)
    );
}

// --- Our own tokens ----------------------------------------------------------------------

const URI: &str = "https://bureau.example/status/7";

fn issuer_key() -> SigningKey {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    SigningKey::generate(Alg::Es256, &mut rng)
}

fn sign_with_header(header: Value, claims: Value, key: &SigningKey) -> String {
    let Value::Object(header) = header else {
        panic!("header must be an object")
    };
    credential::jose::sign_compact(header, claims.to_string().as_bytes(), key)
}

#[test]
fn issued_token_round_trip() {
    let key = issuer_key();
    let mut list = StatusList::new(Bits::Two, 1 << 20).unwrap();
    list.set(917_311, Status::Invalid.into()).unwrap();
    list.set(5, Status::Suspended.into()).unwrap();
    list.set_aggregation_uri(Some("https://bureau.example/status/".into()));
    let claims = StatusListToken {
        sub: URI.into(),
        iat: 1_800_000_000,
        exp: Some(1_800_086_400),
        ttl: NonZeroU64::new(3600),
        iss: None,
        status_list: list,
    };
    let jwt = claims.sign(&key);
    let verified =
        StatusListToken::verify(&jwt, key.public_jwk(), &Validation::new(URI, 1_800_000_100))
            .unwrap();
    assert_eq!(verified.claims(), &claims);
    assert_eq!(verified.header().kid.as_deref(), Some(key.kid()));
    assert_eq!(
        verified.list().aggregation_uri(),
        Some("https://bureau.example/status/")
    );
    let reference = |idx| StatusReference {
        idx,
        uri: URI.into(),
    };
    assert_eq!(
        verified.status_of(&reference(917_311)).unwrap(),
        Status::Invalid
    );
    assert_eq!(
        verified.status_of(&reference(5)).unwrap(),
        Status::Suspended
    );
    assert_eq!(verified.status_of(&reference(6)).unwrap(), Status::Valid);
    // The Referenced Token side: insert the claim, read it back.
    let mut payload = Map::new();
    reference(917_311).insert_into(&mut payload);
    assert_eq!(
        StatusReference::from_payload(&payload).unwrap(),
        Some(reference(917_311))
    );
}

#[test]
fn rejects_wrong_typ() {
    let key = issuer_key();
    let claims = json!({"sub": URI, "iat": 1_800_000_000,
        "status_list": StatusList::new(Bits::One, 8).unwrap().to_json()});
    let validation = Validation::new(URI, 1_800_000_000);
    for typ in ["kb+jwt", "JWT", "dc+sd-jwt", "statuslist+cwt"] {
        let jwt = sign_with_header(json!({ "typ": typ }), claims.clone(), &key);
        let err = StatusListToken::verify(&jwt, key.public_jwk(), &validation).unwrap_err();
        assert_eq!(
            err,
            StatusListError::WrongTyp {
                typ: Some(typ.into())
            }
        );
        assert_eq!(err.code(), "wrong_typ");
    }
    let untyped = sign_with_header(json!({}), claims, &key);
    assert_eq!(
        StatusListToken::verify(&untyped, key.public_jwk(), &validation).unwrap_err(),
        StatusListError::WrongTyp { typ: None }
    );
}

#[test]
fn rejects_unsupported_alg() {
    let key = issuer_key();
    let claims = json!({"sub": URI, "iat": 1, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}});
    let validation = Validation::new(URI, 2);
    for alg in ["none", "HS256", "RS256"] {
        let jwt = format!(
            "{}.{}.AAAA",
            b64::encode(json!({"alg": alg, "typ": "statuslist+jwt"}).to_string()),
            b64::encode(claims.to_string())
        );
        let err = StatusListToken::verify(&jwt, key.public_jwk(), &validation).unwrap_err();
        assert!(matches!(err, StatusListError::Alg(_)), "{alg}: {err:?}");
        assert_eq!(err.code(), "unsupported_alg");
    }
}

// --- Status List decoding rejections --------------------------------------------------------

#[test]
fn rejects_unsupported_bits() {
    for bits in [0, 3, 5, 6, 7, 16, 32] {
        let err = StatusList::from_json(
            &json!({"bits": bits, "lst": "eNrbuRgAAhcBXQ"}),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(err, StatusListError::UnsupportedBits { bits });
        assert_eq!(err.code(), "unsupported_bits");
    }
}

#[test]
fn rejects_index_out_of_range() {
    let list = StatusList::from_json(
        &json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(list.get(15).unwrap(), 1);
    let err = list.get(16).unwrap_err();
    assert_eq!(err, StatusListError::IndexOutOfRange { idx: 16, len: 16 });
    assert_eq!(err.code(), "index_out_of_range");
    assert!(matches!(
        list.status(u64::MAX),
        Err(StatusListError::IndexOutOfRange { .. })
    ));
}

#[test]
fn rejects_garbage_base64() {
    for lst in [
        "not base64!",
        "eNrbuRgAAhcBXQ==",
        "eNrb+RgAAhcBXQ",
        "eNrbuRgAAhcBXR",
        "e",
    ] {
        let err =
            StatusList::from_json(&json!({"bits": 1, "lst": lst}), &Limits::default()).unwrap_err();
        assert_eq!(err, StatusListError::LstNotBase64url, "{lst}");
        assert_eq!(err.code(), "lst_not_base64url");
    }
}

#[test]
fn rejects_non_zlib_data() {
    for bytes in [
        &b"plain bytes, not compressed"[..],
        &[0x1f, 0x8b, 0x08, 0x00, 0x00][..], // a gzip header
        &[0xdb, 0xb9, 0x18, 0x00, 0x02, 0x17, 0x01, 0x5d][..], // raw DEFLATE, no wrapper
        &[0x78, 0xda][..],                   // a ZLIB header and nothing else
    ] {
        let lst = b64::encode(bytes);
        let err =
            StatusList::from_json(&json!({"bits": 1, "lst": lst}), &Limits::default()).unwrap_err();
        assert_eq!(err, StatusListError::NotZlib, "{}", hex(bytes));
        assert_eq!(err.code(), "not_zlib");
    }
}

/// 64 MiB of zeros, ZLIB level 9: about 64 KiB, well under the compressed limit.
fn zlib_bomb() -> String {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&chunk).unwrap();
    }
    b64::encode(encoder.finish().unwrap())
}

#[test]
fn zlib_bomb_hits_the_decompression_cap() {
    let bomb = zlib_bomb();
    assert!(bomb.len() < 200_000, "bomb is {} chars", bomb.len());
    let limits = Limits::default();
    let err = StatusList::from_json(&json!({"bits": 1, "lst": bomb}), &limits).unwrap_err();
    assert_eq!(
        err,
        StatusListError::DecompressionLimit {
            max: limits.max_decompressed_bytes
        }
    );
    assert_eq!(err.code(), "decompression_limit");
    // A stricter caller cap stops it earlier.
    let mut tight = Limits::default();
    tight.max_decompressed_bytes = 1 << 16;
    assert_eq!(
        StatusList::from_lst(Bits::One, &bomb, &tight).unwrap_err(),
        StatusListError::DecompressionLimit { max: 1 << 16 }
    );
    // Inside a validly signed token it is still a typed error.
    let key = issuer_key();
    let jwt = sign_with_header(
        json!({"typ": "statuslist+jwt"}),
        json!({"sub": URI, "iat": 1, "status_list": {"bits": 1, "lst": bomb}}),
        &key,
    );
    assert_eq!(
        StatusListToken::verify(&jwt, key.public_jwk(), &Validation::new(URI, 2)).unwrap_err(),
        StatusListError::DecompressionLimit {
            max: limits.max_decompressed_bytes
        }
    );
}

#[test]
fn rejects_oversized_compressed_input_before_decoding() {
    let mut limits = Limits::default();
    limits.max_compressed_bytes = 1024;
    let lst = "A".repeat(4096);
    let err = StatusList::from_lst(Bits::One, &lst, &limits).unwrap_err();
    assert_eq!(
        err,
        StatusListError::CompressedTooLarge {
            len: 3072,
            max: 1024
        }
    );
    assert_eq!(err.code(), "compressed_too_large");
}

// --- Property tests ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// set / get agree with a plain vector model, and encode / decode keeps every entry.
    #[test]
    fn set_get_encode_decode_round_trip(
        bits in prop::sample::select(Bits::ALL.to_vec()),
        len in 1u64..4096,
        writes in prop::collection::vec((any::<u64>(), any::<u8>()), 0..256),
    ) {
        let mut list = StatusList::new(bits, len).unwrap();
        let mut model = vec![0u8; usize::try_from(len).unwrap()];
        for (idx, value) in writes {
            let idx = idx % len;
            let value = value & bits.max_value();
            list.set(idx, value).unwrap();
            model[usize::try_from(idx).unwrap()] = value;
        }
        for (idx, want) in model.iter().enumerate() {
            prop_assert_eq!(list.get(idx as u64).unwrap(), *want);
        }
        let back = StatusList::from_json(&list.to_json(), &Limits::default()).unwrap();
        prop_assert_eq!(back.bits(), bits);
        prop_assert_eq!(back.as_bytes(), list.as_bytes());
        // A partial last byte comes back as extra entries, all 0.
        prop_assert!(back.len() >= len);
        prop_assert!(back.len() - len < u64::from(8 / bits.as_u8()));
        for idx in 0..back.len() {
            let want = model.get(usize::try_from(idx).unwrap()).copied().unwrap_or(0);
            prop_assert_eq!(back.get(idx).unwrap(), want);
        }
    }

    /// Arbitrary `lst` bytes never panic: a list or a typed error.
    #[test]
    fn arbitrary_lst_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = StatusList::from_lst(Bits::Two, &b64::encode(&bytes), &Limits::default());
    }
}
