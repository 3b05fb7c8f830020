//! Every rejection path of `VerifiedBundle::verify` and `check_newer`, one test each, with the
//! exact variant; and the retired-key window.

use std::io::Write as _;

use credential::jose::{sign_compact, Alg, SigningKey};
use credential::status_list::{Bits, StatusList, StatusListError, StatusListToken};
use issuer::service::trust::{sign_trust_bundle, BundleContents};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Map, Value};
use verifier::bundle::{BundleError, BundleLimits, Freshness, VerifiedBundle};

const ISS: &str = "https://bureau.example.cn";
const T: i64 = 1_800_000_000;

struct Fx {
    root: SigningKey,
    key: SigningKey,
}

fn fx() -> Fx {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    Fx {
        root: SigningKey::generate(Alg::Es256, &mut rng),
        key: SigningKey::generate(Alg::Es256, &mut rng),
    }
}

fn key_json(k: &SigningKey, state: &str, nb: i64, na: Option<i64>) -> Value {
    json!({"kid": k.kid(), "alg": "ES256", "state": state, "not_before": nb, "not_after": na,
           "last_credential_expiry": na.map(|n| n + 86_400), "jwk": k.public_jwk().to_value()})
}

fn uri(shard: i64) -> String {
    format!("{ISS}/status/{shard}")
}

fn token(key: &SigningKey, sub: &str, iat: i64) -> String {
    let mut list = StatusList::new(Bits::Two, 1024).unwrap();
    list.set(7, 1).unwrap();
    StatusListToken {
        sub: sub.to_owned(),
        iat,
        exp: Some(iat + 86_400),
        ttl: None,
        iss: Some(ISS.into()),
        status_list: list,
    }
    .sign(key)
}

fn bundle_with(f: &Fx, issued_at: i64, lists: &[(i64, String, String)]) -> String {
    let keys = [key_json(&f.key, "active", T - 1000, None)];
    bundle_of(f, issued_at, &keys, lists)
}

/// A bundle signed by the fixture's root with these keys and status lists.
fn bundle_of(f: &Fx, issued_at: i64, keys: &[Value], lists: &[(i64, String, String)]) -> String {
    sign_trust_bundle(
        &f.root,
        &BundleContents {
            iss: ISS,
            issued_at,
            next_update: issued_at + 300,
            keys,
            status_lists: lists,
            status_seq: None,
        },
    )
}

fn bundle(f: &Fx, issued_at: i64) -> String {
    bundle_with(
        f,
        issued_at,
        &[(0, uri(0), token(&f.key, &uri(0), issued_at))],
    )
}

fn verify(f: &Fx, text: &str) -> Result<VerifiedBundle, BundleError> {
    VerifiedBundle::verify(text, f.root.public_jwk(), T + 10, &BundleLimits::default())
}

#[test]
fn good_bundle_gives_trust_and_status() {
    let f = fx();
    let b = verify(&f, &bundle(&f, T)).unwrap();
    assert_eq!(b.iss, ISS);
    assert_eq!(b.keys.len(), 1);
    assert_eq!(b.lists.len(), 1);
    assert_eq!(b.trust_store().keys().len(), 1);
    let status = b.status_store();
    assert_eq!(
        status.lists()[&verifier::status::ListId::new(ISS, uri(0))]
            .list
            .get(7)
            .unwrap(),
        1
    );
}

#[test]
fn signed_by_another_root() {
    let f = fx();
    let other = Fx {
        root: SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(99)),
        key: SigningKey::from_private_jwk(&f.key.to_private_jwk()).unwrap(),
    };
    let err = verify(&f, &bundle(&other, T)).unwrap_err();
    assert!(matches!(err, BundleError::WrongRoot { .. }), "{err:?}");
    assert_eq!(err.code(), "bundle_wrong_root");
}

#[test]
fn truncated() {
    let f = fx();
    let b = bundle(&f, T);
    for cut in [b.len() / 2, b.len() - 10, 20] {
        let err = verify(&f, &b[..cut]).unwrap_err();
        assert_eq!(err, BundleError::Truncated, "cut at {cut}");
    }
}

#[test]
fn corrupted_payload_fails_signature() {
    let f = fx();
    let b = bundle(&f, T);
    let dot = b.find('.').unwrap();
    let mut bytes = b.into_bytes();
    let i = dot + 40;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let err = verify(&f, &String::from_utf8(bytes).unwrap()).unwrap_err();
    assert_eq!(err, BundleError::BadSignature);
}

#[test]
fn not_a_bundle() {
    let f = fx();
    let err = verify(&f, &token(&f.key, &uri(0), T)).unwrap_err();
    assert!(matches!(err, BundleError::WrongTyp { .. }), "{err:?}");
    assert_eq!(
        verify(&f, "%%%.%%%.%%%").unwrap_err().code(),
        "bundle_malformed"
    );
}

#[test]
fn replayed_from_the_past_and_conflicting() {
    let f = fx();
    let old = verify(&f, &bundle(&f, T - 100)).unwrap();
    let new = verify(&f, &bundle(&f, T)).unwrap();
    assert_eq!(new.check_newer(Some(&old)).unwrap(), Freshness::Newer);
    assert_eq!(
        old.check_newer(Some(&new)).unwrap_err(),
        BundleError::Replayed {
            stored: T,
            found: T - 100
        }
    );
    assert_eq!(new.check_newer(Some(&new)).unwrap(), Freshness::Unchanged);
    // Same issued_at, other content (another status token).
    let other = bundle_with(&f, T, &[(1, uri(1), token(&f.key, &uri(1), T))]);
    let other = verify(&f, &other).unwrap();
    assert_eq!(
        other.check_newer(Some(&new)).unwrap_err(),
        BundleError::Conflicting { issued_at: T }
    );
}

#[test]
fn issued_in_the_future() {
    let f = fx();
    let err = verify(&f, &bundle(&f, T + 10_000)).unwrap_err();
    assert!(matches!(err, BundleError::IssuedInFuture { .. }), "{err:?}");
}

#[test]
fn status_token_naming_another_list() {
    let f = fx();
    // Shard 1's genuine token placed under shard 0's entry.
    let b = bundle_with(&f, T, &[(0, uri(0), token(&f.key, &uri(1), T))]);
    let err = verify(&f, &b).unwrap_err();
    assert_eq!(
        err,
        BundleError::StatusSubjectMismatch {
            expected: uri(0),
            found: uri(1)
        }
    );
}

#[test]
fn status_token_by_unknown_key() {
    let f = fx();
    let stranger = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(3));
    let b = bundle_with(&f, T, &[(0, uri(0), token(&stranger, &uri(0), T))]);
    let err = verify(&f, &b).unwrap_err();
    assert_eq!(err, BundleError::StatusListKey { uri: uri(0) });
}

#[test]
fn status_token_naming_another_issuer_is_refused() {
    let f = fx();
    for iss in [Some("https://second-issuer.example"), None] {
        let mut list = StatusList::new(Bits::Two, 1024).unwrap();
        list.set(7, 1).unwrap();
        let foreign = StatusListToken {
            sub: uri(0),
            iat: T,
            exp: Some(T + 86_400),
            ttl: None,
            iss: iss.map(str::to_owned),
            status_list: list,
        }
        .sign(&f.key);
        let err = verify(&f, &bundle_with(&f, T, &[(0, uri(0), foreign)])).unwrap_err();
        assert_eq!(
            err,
            BundleError::StatusListIssuer { uri: uri(0) },
            "{iss:?}"
        );
        assert_eq!(err.code(), "status_list_wrong_issuer");
    }
}

#[test]
fn decompression_bomb() {
    let f = fx();
    // 32 MiB of zeros compress to about 32 kB: past the 16 MiB decompression limit.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 32 << 20]).unwrap();
    let lst = credential::b64::encode(z.finish().unwrap());
    let mut header = Map::new();
    header.insert("typ".into(), json!("statuslist+jwt"));
    header.insert("kid".into(), json!(f.key.kid()));
    let payload = json!({"sub": uri(0), "iat": T, "exp": T + 86_400, "iss": ISS,
                         "status_list": {"bits": 1, "lst": lst}});
    let bomb = sign_compact(header, payload.to_string().as_bytes(), &f.key);
    let b = bundle_with(&f, T, &[(0, uri(0), bomb)]);
    let err = verify(&f, &b).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::StatusList {
                source: StatusListError::DecompressionLimit { .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "status_list_decompression_limit");
}

#[test]
fn retired_key_keeps_its_window() {
    use credential::jose::Header;
    use credential::sd_jwt::{IssuerKeys, VerifyError};
    let f = fx();
    let new = SigningKey::generate(Alg::Es256, &mut ChaCha20Rng::seed_from_u64(11));
    let keys = [
        key_json(&f.key, "retired", T - 1000, Some(T - 500)),
        key_json(&new, "active", T - 500, None),
    ];
    let text = bundle_of(&f, T, &keys, &[(0, uri(0), token(&new, &uri(0), T))]);
    let trust = verify(&f, &text).unwrap().trust_store();
    let header = |k: &SigningKey| {
        let mut h = Header::parse(br#"{"alg":"ES256"}"#).unwrap();
        h.kid = Some(k.kid().to_owned());
        h
    };
    let payload = |iat: i64| {
        let mut m = Map::new();
        m.insert("iss".into(), json!(ISS));
        m.insert("iat".into(), json!(iat));
        m.insert("exp".into(), json!(iat + 3_600));
        m
    };
    // Signed inside its window: accepted.
    assert!(trust.issuer_key(&header(&f.key), &payload(T - 700)).is_ok());
    // Inside its window but expiring after the key's last credential expiry (or never): a
    // forgery with the retired key.
    for exp in [Some(T + 100 * 86_400), None] {
        let mut long = payload(T - 700);
        match exp {
            Some(e) => long.insert("exp".into(), json!(e)),
            None => long.remove("exp"),
        };
        assert_eq!(
            trust.issuer_key(&header(&f.key), &long).unwrap_err(),
            VerifyError::IssuerKeyNotValidAtIssuance
        );
        assert!(matches!(
            trust.key_limit(&header(&f.key), &long),
            Some(verifier::KeyLimit::OutlivesKey { .. })
        ));
    }
    // Signed after it was retired: refused.
    assert_eq!(
        trust
            .issuer_key(&header(&f.key), &payload(T - 100))
            .unwrap_err(),
        VerifyError::IssuerKeyNotValidAtIssuance
    );
    assert!(trust.issuer_key(&header(&new), &payload(T - 100)).is_ok());
    // Another issuer's credential with the same key id: unknown.
    let mut other = payload(T - 100);
    other.insert("iss".into(), json!("https://evil.example"));
    assert_eq!(
        trust.issuer_key(&header(&new), &other).unwrap_err(),
        VerifyError::UnknownIssuerKey
    );
}

#[test]
fn key_entry_checked() {
    let f = fx();
    let mut bad = key_json(&f.key, "active", T - 1000, None);
    bad["kid"] = json!("not-the-thumbprint");
    let text = bundle_of(&f, T, &[bad], &[]);
    assert!(matches!(
        verify(&f, &text).unwrap_err(),
        BundleError::InvalidKey { index: 0, .. }
    ));
}
