//! One test per rejection path of `SdJwt::parse` + `SdJwt::verify` (each bad input its own), each
//! asserting the exact [`VerifyError`] variant and its [`VerifyError::code`].
//!
//! Every input is built here from real credentials issued with real keys (seeded ChaCha20), and
//! attacks that the builder cannot express are hand-crafted JWTs signed with real keys, so the
//! check under test is the one that fails and not an earlier one. Each hand-crafted shape has a
//! positive control that verifies when the attack is left out.

use credential::b64;
use credential::jose::{sign_compact, Alg, JoseError, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, Disclosure, Issued, IssuerKeys, KeyBinding, Limits, PathSegment,
    RngSalts, SdAlg, SdJwt, SdJwtBuilder, TypPolicy, VerifiedSdJwt, VerifyError, VerifyOptions,
    SD_JWT_VC_RESERVED,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The verifier's clock in every test, seconds since the epoch.
const NOW: i64 = 1_750_000_000;
/// When the credentials were issued, and when they expire.
const ISSUED_AT: i64 = NOW - 86_400;
const EXPIRES: i64 = NOW + 365 * 86_400;
const NONCE: &str = "n-0S6_WzA2Mj";
const AUD: &str = "https://hotel.example.cn/verifier";
const ISSUER: &str = "https://id.example.gov.cn";
const VCT: &str = "urn:cn:citizen-id:basic:1";
/// The KB-JWT freshness window the tests require.
const MAX_AGE: i64 = 300;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The issuer's ES256 key.
fn issuer() -> SigningKey {
    SigningKey::generate(Alg::Es256, &mut rng(1))
}

/// The holder's EdDSA key (the credential's `cnf.jwk`).
fn holder() -> SigningKey {
    SigningKey::generate(Alg::EdDsa, &mut rng(2))
}

/// Somebody else: an attacker's key of each type.
fn stranger(alg: Alg) -> SigningKey {
    SigningKey::generate(alg, &mut rng(3))
}

/// A fresh 128-bit salt.
fn salt(seed: u64) -> String {
    let mut bytes = [0u8; 16];
    rng(seed).fill_bytes(&mut bytes);
    b64::encode(bytes)
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The plain claims of a citizen-ID credential bound to `holder`.
fn base_claims() -> Map<String, Value> {
    obj(json!({
        "iss": ISSUER,
        "iat": ISSUED_AT,
        "exp": EXPIRES,
        "vct": VCT,
        "cnf": {"jwk": holder().public_jwk().to_bare_value()},
        "given_name": "Wei",
        "family_name": "Zhang",
        "birthdate": "1990-05-17",
        "address": {"locality": "Hangzhou", "country": "CN"},
        "nationalities": ["CN", "HK"],
    }))
}

/// The disclosable paths of the standard credential.
fn standard_paths() -> Vec<ClaimPath> {
    vec![
        ClaimPath::keys(["given_name"]),
        ClaimPath::keys(["family_name"]),
        ClaimPath::keys(["birthdate"]),
        ClaimPath::keys(["address"]),
        ClaimPath::keys(["address", "locality"]),
        ClaimPath(vec![
            PathSegment::Key("nationalities".into()),
            PathSegment::Index(0),
        ]),
        ClaimPath(vec![
            PathSegment::Key("nationalities".into()),
            PathSegment::Index(1),
        ]),
    ]
}

/// Issues `claims` as a `dc+sd-jwt` with the given disclosable paths and 1-3 decoys per object.
fn issue_with(claims: Map<String, Value>, paths: &[ClaimPath], typ: &str, seed: u64) -> Issued {
    let mut builder = SdJwtBuilder::new(claims).typ(typ).decoys(1, 3);
    for path in paths {
        builder = builder.disclosable(path);
    }
    let mut salts_rng = rng(seed);
    builder
        .issue(&issuer(), &mut RngSalts(&mut salts_rng))
        .expect("valid issuance")
}

/// The standard credential.
fn standard() -> Issued {
    issue_with(base_claims(), &standard_paths(), "dc+sd-jwt", 10)
}

/// `<jwt>~<d>~...~` for the given disclosure texts.
fn sd_jwt(jwt: &str, disclosures: &[&str]) -> String {
    let mut out = format!("{jwt}~");
    for d in disclosures {
        out.push_str(d);
        out.push('~');
    }
    out
}

/// The holder binds `presentation` (ending in `~`) for the test verifier at `iat`.
fn bind_at(presentation: &str, iat: i64) -> String {
    add_key_binding(presentation, &holder(), NONCE, AUD, iat)
}

fn bind(presentation: &str) -> String {
    bind_at(presentation, NOW)
}

/// The texts of the disclosures at `indexes` of an issued credential.
fn pick<'a>(issued: &'a Issued, indexes: &[usize]) -> Vec<&'a str> {
    indexes
        .iter()
        .map(|&i| issued.disclosures[i].as_str())
        .collect()
}

/// The index of the disclosure of the top-level claim `name`.
fn index_of(issued: &Issued, name: &str) -> usize {
    issued
        .disclosures
        .iter()
        .position(|d| d.name() == Some(name))
        .unwrap_or_else(|| panic!("no disclosure for {name}"))
}

/// A standard presentation disclosing given_name and family_name, bound at NOW.
fn standard_presentation() -> String {
    let issued = standard();
    let picked = pick(
        &issued,
        &[
            index_of(&issued, "given_name"),
            index_of(&issued, "family_name"),
        ],
    );
    bind(&sd_jwt(&issued.jwt, &picked))
}

fn required() -> KeyBinding {
    KeyBinding::Required {
        nonce: NONCE.into(),
        aud: AUD.into(),
        max_age: MAX_AGE,
    }
}

/// The SD-JWT VC profile: `dc+sd-jwt` only, reserved claims never disclosed, key binding
/// required, 60 s skew, both algorithms.
fn vc_options() -> VerifyOptions {
    let mut options = VerifyOptions::new(NOW, required());
    options.typ = TypPolicy::OneOf(vec!["dc+sd-jwt".into()]);
    options.reserved_claims = SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect();
    options
}

/// A plain RFC 9901 verifier (any credential `typ`), key binding required.
fn generic_options() -> VerifyOptions {
    VerifyOptions::new(NOW, required())
}

fn check<K: IssuerKeys + ?Sized>(
    text: &str,
    keys: &K,
    options: &VerifyOptions,
) -> Result<VerifiedSdJwt, VerifyError> {
    SdJwt::parse(text, &options.limits)?.verify(keys, options)
}

/// Verifies with the issuer's key under the SD-JWT VC profile.
fn verify(text: &str) -> Result<VerifiedSdJwt, VerifyError> {
    check(text, issuer().public_jwk(), &vc_options())
}

#[track_caller]
fn assert_rejected(result: Result<VerifiedSdJwt, VerifyError>, expected: VerifyError, code: &str) {
    match result {
        Ok(v) => panic!("accepted, expected {expected:?}; claims {:?}", v.claims),
        Err(e) => {
            assert_eq!(e, expected);
            assert_eq!(e.code(), code);
        }
    }
}

#[track_caller]
fn assert_accepted(result: Result<VerifiedSdJwt, VerifyError>) -> VerifiedSdJwt {
    result.unwrap_or_else(|e| panic!("rejected: {e:?}"))
}

/// Signs a hand-crafted JWT with a real key; `alg` comes from the key, `kid` is the key's.
fn sign_jwt(header: Value, payload: &Value, key: &SigningKey) -> String {
    let mut header = obj(header);
    header
        .entry("kid")
        .or_insert_with(|| Value::String(key.kid().to_owned()));
    sign_compact(header, payload.to_string().as_bytes(), key)
}

/// A JWT with an arbitrary header (any `alg`) and the given signature bytes.
fn raw_jwt(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload.to_string()),
        b64::encode(signature)
    )
}

/// HMAC-SHA-256 (RFC 2104), for the algorithm-confusion attack.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The issuer's payload for a hand-crafted credential: the base plain claims (iss, iat, exp,
/// vct, cnf) plus `extra`, with `_sd_alg: sha-256`.
fn crafted_payload(extra: Value) -> Value {
    let mut payload = obj(json!({
        "iss": ISSUER,
        "iat": ISSUED_AT,
        "exp": EXPIRES,
        "vct": VCT,
        "cnf": {"jwk": holder().public_jwk().to_bare_value()},
        "_sd_alg": "sha-256",
    }));
    payload.extend(obj(extra));
    Value::Object(payload)
}

/// A hand-crafted credential: `payload` signed by the real issuer key as `dc+sd-jwt`, the given
/// disclosures, and a valid KB-JWT over all of it.
fn crafted(payload: &Value, disclosures: &[&str]) -> String {
    let jwt = sign_jwt(json!({"typ": "dc+sd-jwt"}), payload, &issuer());
    bind(&sd_jwt(&jwt, disclosures))
}

fn property(name: &str, value: Value, seed: u64) -> Disclosure {
    Disclosure::property(salt(seed), name, value)
}

fn element(value: Value, seed: u64) -> Disclosure {
    Disclosure::element(salt(seed), value)
}

// ---------------------------------------------------------------------------------------------
// Positive controls: the fixtures verify, so each rejection below is caused by its attack.
// ---------------------------------------------------------------------------------------------

#[test]
fn control_standard_presentation_verifies() {
    let verified = assert_accepted(verify(&standard_presentation()));
    assert_eq!(verified.claims["given_name"], "Wei");
    assert_eq!(verified.claims["family_name"], "Zhang");
    assert!(verified.claims.get("birthdate").is_none());
    assert!(verified.claims.get("address").is_none());
    assert_eq!(verified.claims["nationalities"], json!([]));
    let kb = verified.key_binding.expect("kb verified");
    assert_eq!(
        (kb.nonce.as_str(), kb.aud.as_str(), kb.iat),
        (NONCE, AUD, NOW)
    );
}

#[test]
fn control_full_disclosure_verifies() {
    let issued = standard();
    let all: Vec<&str> = issued.disclosures.iter().map(Disclosure::as_str).collect();
    let verified = assert_accepted(verify(&bind(&sd_jwt(&issued.jwt, &all))));
    assert_eq!(verified.claims, base_claims());
}

#[test]
fn control_crafted_credential_verifies() {
    let d = property("given_name", json!("Wei"), 100);
    let e = element(json!("CN"), 101);
    let payload = crafted_payload(json!({
        "_sd": [d.digest()],
        "nationalities": [{"...": e.digest()}],
    }));
    let verified = assert_accepted(verify(&crafted(&payload, &[d.as_str(), e.as_str()])));
    assert_eq!(verified.claims["given_name"], "Wei");
    assert_eq!(verified.claims["nationalities"], json!(["CN"]));
}

// ---------------------------------------------------------------------------------------------
// alg
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_alg_none() {
    let issued = standard();
    let payload: Value = serde_json::from_slice(
        &b64::decode(issued.jwt.split('.').nth(1).expect("payload part")).expect("base64url"),
    )
    .expect("json payload");
    // The same payload, unsigned, and a holder binding to it.
    let jwt = raw_jwt(&json!({"alg": "none", "typ": "dc+sd-jwt"}), &payload, b"");
    let text = bind(&sd_jwt(&jwt, &pick(&issued, &[0])));
    assert_rejected(
        verify(&text),
        VerifyError::Jose(JoseError::AlgNone),
        "alg_none",
    );
    // Spelling does not matter.
    let jwt = raw_jwt(&json!({"alg": "None", "typ": "dc+sd-jwt"}), &payload, b"");
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::Jose(JoseError::AlgNone),
        "alg_none",
    );
}

#[test]
fn rejects_hs256_keyed_with_the_issuer_public_key() {
    // The classic algorithm-confusion attack: HMAC keyed with the issuer's public JWK.
    let payload = crafted_payload(json!({"given_name": "Mallory"}));
    let header = json!({"alg": "HS256", "typ": "dc+sd-jwt", "kid": issuer().kid()});
    let signing_input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(payload.to_string())
    );
    let secret = issuer().public_jwk().to_value().to_string();
    let mac = hmac_sha256(secret.as_bytes(), signing_input.as_bytes());
    let jwt = format!("{signing_input}.{}", b64::encode(mac));
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::Jose(JoseError::UnsupportedAlg {
            alg: "HS256".into(),
        }),
        "unsupported_alg",
    );
}

#[test]
fn rejects_unlisted_alg_rs256() {
    let payload = crafted_payload(json!({}));
    let jwt = raw_jwt(
        &json!({"alg": "RS256", "typ": "dc+sd-jwt"}),
        &payload,
        &[0x5a; 256],
    );
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::Jose(JoseError::UnsupportedAlg {
            alg: "RS256".into(),
        }),
        "unsupported_alg",
    );
}

#[test]
fn rejects_alg_not_on_the_verifier_allow_list() {
    // A real EdDSA credential from a trusted EdDSA key, at a verifier that allows ES256 only.
    let ed_issuer = SigningKey::generate(Alg::EdDsa, &mut rng(50));
    let mut salts_rng = rng(51);
    let issued = SdJwtBuilder::new(base_claims())
        .typ("dc+sd-jwt")
        .disclosable(&ClaimPath::keys(["given_name"]))
        .issue(&ed_issuer, &mut RngSalts(&mut salts_rng))
        .expect("valid issuance");
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    // Control: it verifies when EdDSA is allowed.
    assert_accepted(check(&text, ed_issuer.public_jwk(), &vc_options()));
    let mut options = vc_options();
    options.allowed_algs = vec![Alg::Es256];
    assert_rejected(
        check(&text, ed_issuer.public_jwk(), &options),
        VerifyError::AlgNotAllowed { alg: Alg::EdDsa },
        "alg_not_allowed",
    );
}

// ---------------------------------------------------------------------------------------------
// typ
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_kb_jwt_offered_as_credential() {
    // The holder's real KB-JWT, and one signed by the issuer key, offered as the issuer JWT to
    // a generic verifier that accepts any credential typ.
    let presentation = standard_presentation();
    let kb = presentation.rsplit('~').next().expect("kb-jwt");
    let mut options = generic_options();
    options.key_binding = KeyBinding::NotRequired;
    assert_rejected(
        check(&format!("{kb}~"), holder().public_jwk(), &options),
        VerifyError::WrongTyp {
            found: Some("kb+jwt".into()),
        },
        "wrong_typ",
    );
    for typ in ["kb+jwt", "application/kb+jwt", "KB+JWT"] {
        let payload = crafted_payload(json!({"nonce": NONCE, "aud": AUD}));
        let jwt = sign_jwt(json!({ "typ": typ }), &payload, &issuer());
        assert_rejected(
            check(
                &bind(&sd_jwt(&jwt, &[])),
                issuer().public_jwk(),
                &generic_options(),
            ),
            VerifyError::WrongTyp {
                found: Some(typ.into()),
            },
            "wrong_typ",
        );
    }
}

#[test]
fn rejects_status_list_token_offered_as_credential() {
    let payload = json!({
        "sub": "https://id.example.gov.cn/statuslists/1",
        "iat": NOW - 60,
        "exp": NOW + 86_400,
        "ttl": 43_200,
        "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"},
    });
    let token = sign_jwt(json!({"typ": "statuslist+jwt"}), &payload, &issuer());
    let mut options = generic_options();
    options.key_binding = KeyBinding::NotRequired;
    assert_rejected(
        check(&format!("{token}~"), issuer().public_jwk(), &options),
        VerifyError::WrongTyp {
            found: Some("statuslist+jwt".into()),
        },
        "wrong_typ",
    );
}

#[test]
fn rejects_vc_sd_jwt_when_only_dc_sd_jwt_accepted() {
    let issued = issue_with(base_claims(), &standard_paths(), "vc+sd-jwt", 11);
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    // Control: a generic verifier accepts it.
    assert_accepted(check(&text, issuer().public_jwk(), &generic_options()));
    assert_rejected(
        verify(&text),
        VerifyError::WrongTyp {
            found: Some("vc+sd-jwt".into()),
        },
        "wrong_typ",
    );
}

#[test]
fn rejects_missing_typ_when_a_typ_is_required() {
    let payload = crafted_payload(json!({}));
    let jwt = sign_compact(
        obj(json!({"kid": issuer().kid()})),
        payload.to_string().as_bytes(),
        &issuer(),
    );
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::WrongTyp { found: None },
        "wrong_typ",
    );
}

// ---------------------------------------------------------------------------------------------
// Disclosures and digests
// ---------------------------------------------------------------------------------------------

/// Every text that differs from `d` in exactly one character of the base64url alphabet.
fn one_char_variants(d: &str) -> impl Iterator<Item = String> + '_ {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..d.len()).flat_map(move |i| {
        ALPHABET
            .iter()
            .filter(move |c| d.as_bytes()[i] != **c)
            .map(move |c| {
                let mut bytes = d.as_bytes().to_vec();
                bytes[i] = *c;
                String::from_utf8(bytes).expect("ascii")
            })
    })
}

#[test]
fn rejects_tampered_disclosure_as_digest_not_found() {
    // One character changed, and still a well-formed disclosure of the same claim with another
    // value: the holder re-binds it, so only the digest check can catch it.
    let issued = standard();
    let original = &issued.disclosures[index_of(&issued, "birthdate")];
    let tampered = one_char_variants(original.as_str())
        .find(|t| {
            Disclosure::parse(t, SdAlg::Sha256)
                .is_ok_and(|d| d.name() == Some("birthdate") && d.value() != original.value())
        })
        .expect("a one-character change that keeps the disclosure well-formed");
    let text = bind(&sd_jwt(&issued.jwt, &[&tampered]));
    assert_rejected(
        verify(&text),
        VerifyError::DigestNotFound,
        "digest_not_found",
    );
}

#[test]
fn rejects_tampered_disclosure_as_malformed() {
    let issued = standard();
    let original = issued.disclosures[0].as_str();
    // 'W' encodes the leading '['; 'X' turns it into '_': no longer JSON.
    assert!(original.starts_with('W'));
    let not_json = format!("X{}", &original[1..]);
    assert_rejected(
        verify(&bind(&sd_jwt(&issued.jwt, &[&not_json]))),
        VerifyError::MalformedDisclosure { reason: "not json" },
        "malformed_disclosure",
    );
    // A character outside the base64url alphabet.
    let not_b64 = format!("{}+{}", &original[..5], &original[6..]);
    assert_rejected(
        verify(&bind(&sd_jwt(&issued.jwt, &[&not_b64]))),
        VerifyError::MalformedDisclosure {
            reason: "not base64url",
        },
        "malformed_disclosure",
    );
}

#[test]
fn rejects_malformed_disclosure_shapes() {
    let encode = |v: Value| b64::encode(v.to_string());
    for (bad, reason) in [
        (json!({"salt": "x"}), "not a json array"),
        (json!(["only-salt"]), "not two or three elements"),
        (json!(["s", "a", 1, 2]), "not two or three elements"),
        (json!([1, "given_name", "x"]), "salt is not a string"),
        (json!(["s", 7, "x"]), "claim name is not a string"),
    ] {
        let d = encode(bad);
        // Referenced from a signed payload: only the shape is wrong.
        let payload = crafted_payload(json!({"_sd": [SdAlg::Sha256.digest(&d)]}));
        assert_rejected(
            verify(&crafted(&payload, &[&d])),
            VerifyError::MalformedDisclosure { reason },
            "malformed_disclosure",
        );
    }
}

#[test]
fn rejects_disclosure_whose_digest_is_absent() {
    let issued = standard();
    // A well-formed disclosure the issuer never made.
    let forged = property("age_equal_or_over_18", json!(true), 200);
    let text = bind(&sd_jwt(&issued.jwt, &[forged.as_str()]));
    assert_rejected(
        verify(&text),
        VerifyError::DigestNotFound,
        "digest_not_found",
    );
    // A real disclosure spliced in from another credential of the same issuer.
    let other = issue_with(base_claims(), &standard_paths(), "dc+sd-jwt", 12);
    let spliced = other.disclosures[index_of(&other, "given_name")].as_str();
    let text = bind(&sd_jwt(&issued.jwt, &[spliced]));
    assert_rejected(
        verify(&text),
        VerifyError::DigestNotFound,
        "digest_not_found",
    );
}

#[test]
fn rejects_same_digest_twice_in_sd() {
    let d = property("given_name", json!("Wei"), 300);
    let payload = crafted_payload(json!({"_sd": [d.digest(), d.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[d.as_str()])),
        VerifyError::DuplicateDigest,
        "duplicate_digest",
    );
    // Also when the disclosure is withheld.
    assert_rejected(
        verify(&crafted(&payload, &[])),
        VerifyError::DuplicateDigest,
        "duplicate_digest",
    );
}

#[test]
fn rejects_same_digest_in_sd_and_in_an_array() {
    // An element disclosure referenced both from an array and from `_sd`.
    let e = element(json!("CN"), 301);
    let payload = crafted_payload(json!({
        "_sd": [e.digest()],
        "nationalities": [{"...": e.digest()}],
    }));
    assert_rejected(
        verify(&crafted(&payload, &[e.as_str()])),
        VerifyError::DuplicateDigest,
        "duplicate_digest",
    );
    // A property disclosure's digest also placed in an array, disclosure withheld.
    let d = property("given_name", json!("Wei"), 302);
    let payload = crafted_payload(json!({
        "_sd": [d.digest()],
        "nationalities": [{"...": d.digest()}],
    }));
    assert_rejected(
        verify(&crafted(&payload, &[])),
        VerifyError::DuplicateDigest,
        "duplicate_digest",
    );
}

#[test]
fn rejects_same_digest_in_payload_and_in_a_disclosed_value() {
    let inner = property("locality", json!("Hangzhou"), 303);
    let outer = property("address", json!({"_sd": [inner.digest()]}), 304);
    let payload = crafted_payload(json!({"_sd": [outer.digest(), inner.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[outer.as_str(), inner.as_str()])),
        VerifyError::DuplicateDigest,
        "duplicate_digest",
    );
}

#[test]
fn rejects_same_disclosure_sent_twice() {
    let issued = standard();
    let d = issued.disclosures[index_of(&issued, "given_name")].as_str();
    assert_rejected(
        verify(&bind(&sd_jwt(&issued.jwt, &[d, d]))),
        VerifyError::DisclosureReused,
        "disclosure_reused",
    );
}

#[test]
fn rejects_disclosure_named_sd_or_ellipsis() {
    for name in ["_sd", "..."] {
        let d = property(name, json!(["x"]), 310);
        let payload = crafted_payload(json!({"_sd": [d.digest()]}));
        assert_rejected(
            verify(&crafted(&payload, &[d.as_str()])),
            VerifyError::ReservedClaimDisclosed { name: name.into() },
            "reserved_claim_disclosed",
        );
    }
}

#[test]
fn rejects_disclosed_claim_colliding_with_plain_claim() {
    let d = property("given_name", json!("Mallory"), 320);
    let payload = crafted_payload(json!({"given_name": "Wei", "_sd": [d.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[d.as_str()])),
        VerifyError::ClaimCollision {
            name: "given_name".into(),
        },
        "claim_collision",
    );
    // Two disclosures of the same name in one object.
    let a = property("given_name", json!("Wei"), 321);
    let b = property("given_name", json!("Mallory"), 322);
    let payload = crafted_payload(json!({"_sd": [a.digest(), b.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[a.as_str(), b.as_str()])),
        VerifyError::ClaimCollision {
            name: "given_name".into(),
        },
        "claim_collision",
    );
    // A disclosed `cnf` colliding with the plain one, at a generic verifier.
    let d = property(
        "cnf",
        json!({"jwk": stranger(Alg::EdDsa).public_jwk().to_bare_value()}),
        323,
    );
    let payload = crafted_payload(json!({"_sd": [d.digest()]}));
    assert_rejected(
        check(
            &crafted(&payload, &[d.as_str()]),
            issuer().public_jwk(),
            &generic_options(),
        ),
        VerifyError::ClaimCollision { name: "cnf".into() },
        "claim_collision",
    );
}

#[test]
fn rejects_sd_not_an_array() {
    for sd in [json!("abc"), json!({"d": "abc"}), json!(null)] {
        let payload = crafted_payload(json!({ "_sd": sd }));
        assert_rejected(
            verify(&crafted(&payload, &[])),
            VerifyError::SdNotArray,
            "sd_not_array",
        );
    }
    // Nested, inside a disclosed value.
    let d = property("address", json!({"_sd": "abc"}), 330);
    let payload = crafted_payload(json!({"_sd": [d.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[d.as_str()])),
        VerifyError::SdNotArray,
        "sd_not_array",
    );
}

#[test]
fn rejects_sd_containing_a_non_string() {
    let d = property("given_name", json!("Wei"), 331);
    for bad in [
        json!(1),
        json!(null),
        json!([d.digest()]),
        json!({"...": d.digest()}),
    ] {
        let payload = crafted_payload(json!({"_sd": [d.digest(), bad]}));
        assert_rejected(
            verify(&crafted(&payload, &[d.as_str()])),
            VerifyError::SdNotArray,
            "sd_not_array",
        );
    }
}

#[test]
fn rejects_array_element_with_extra_members() {
    let e = element(json!("CN"), 340);
    let payload = crafted_payload(json!({"nationalities": [{"...": e.digest(), "x": 1}]}));
    assert_rejected(
        verify(&crafted(&payload, &[e.as_str()])),
        VerifyError::MalformedArrayElement,
        "malformed_array_element",
    );
    // A non-string digest.
    let payload = crafted_payload(json!({"nationalities": [{"...": 5}]}));
    assert_rejected(
        verify(&crafted(&payload, &[])),
        VerifyError::MalformedArrayElement,
        "malformed_array_element",
    );
}

#[test]
fn rejects_property_disclosure_referenced_from_an_array() {
    let d = property("nationality", json!("CN"), 350);
    let payload = crafted_payload(json!({"nationalities": [{"...": d.digest()}]}));
    assert_rejected(
        verify(&crafted(&payload, &[d.as_str()])),
        VerifyError::DisclosureKindMismatch,
        "disclosure_kind_mismatch",
    );
}

#[test]
fn rejects_element_disclosure_referenced_from_sd() {
    let e = element(json!("CN"), 351);
    let payload = crafted_payload(json!({"_sd": [e.digest()]}));
    assert_rejected(
        verify(&crafted(&payload, &[e.as_str()])),
        VerifyError::DisclosureKindMismatch,
        "disclosure_kind_mismatch",
    );
}

#[test]
fn rejects_unsupported_sd_alg() {
    let d = property("given_name", json!("Wei"), 360);
    for sd_alg in [json!("sha-512"), json!("SHA-256"), json!("md5"), json!(256)] {
        let payload = crafted_payload(json!({"_sd_alg": sd_alg, "_sd": [d.digest()]}));
        assert_rejected(
            verify(&crafted(&payload, &[d.as_str()])),
            VerifyError::UnsupportedSdAlg,
            "unsupported_sd_alg",
        );
    }
}

#[test]
fn rejects_reserved_claims_disclosed() {
    // The builder lets an issuer mark them disclosable; the SD-JWT VC verifier refuses them.
    let mut claims = base_claims();
    claims.insert("nbf".into(), json!(ISSUED_AT));
    claims.insert("vct#integrity".into(), json!("sha256-abc"));
    claims.insert(
        "status".into(),
        json!({"status_list": {"idx": 7, "uri": "https://id.example.gov.cn/statuslists/1"}}),
    );
    for (seed, name) in (20..).zip(SD_JWT_VC_RESERVED) {
        let issued = issue_with(
            claims.clone(),
            &[ClaimPath::keys([name])],
            "dc+sd-jwt",
            seed,
        );
        let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
        assert_rejected(
            verify(&text),
            VerifyError::ReservedClaimDisclosed { name: name.into() },
            "reserved_claim_disclosed",
        );
    }
}

#[test]
fn reserved_names_are_only_reserved_at_top_level() {
    // Control for the test above: `iss` inside an object is an ordinary claim.
    let mut claims = base_claims();
    claims.insert(
        "employer".into(),
        json!({"iss": "ACME", "name": "ACME Ltd"}),
    );
    let issued = issue_with(
        claims,
        &[ClaimPath::keys(["employer", "iss"])],
        "dc+sd-jwt",
        30,
    );
    let verified = assert_accepted(verify(&bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])))));
    assert_eq!(verified.claims["employer"]["iss"], "ACME");
}

// ---------------------------------------------------------------------------------------------
// Key binding
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_missing_kb_jwt_when_required() {
    let issued = standard();
    let text = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    assert_rejected(
        verify(&text),
        VerifyError::KeyBindingMissing,
        "key_binding_missing",
    );
    // Control: a policy without key binding accepts it.
    let mut options = vc_options();
    options.key_binding = KeyBinding::NotRequired;
    assert_accepted(check(&text, issuer().public_jwk(), &options));
}

#[test]
fn rejects_stripped_kb_jwt() {
    let presentation = standard_presentation();
    let stripped = &presentation[..=presentation.rfind('~').expect("a tilde")];
    assert!(stripped.len() < presentation.len());
    assert_rejected(
        verify(stripped),
        VerifyError::KeyBindingMissing,
        "key_binding_missing",
    );
}

#[test]
fn rejects_kb_wrong_nonce() {
    let issued = standard();
    let text = add_key_binding(
        &sd_jwt(&issued.jwt, &pick(&issued, &[0])),
        &holder(),
        "replayed-nonce",
        AUD,
        NOW,
    );
    assert_rejected(verify(&text), VerifyError::NonceMismatch, "nonce_mismatch");
}

#[test]
fn rejects_kb_wrong_aud() {
    let issued = standard();
    let text = add_key_binding(
        &sd_jwt(&issued.jwt, &pick(&issued, &[0])),
        &holder(),
        NONCE,
        "https://other-verifier.example",
        NOW,
    );
    assert_rejected(
        verify(&text),
        VerifyError::AudienceMismatch,
        "audience_mismatch",
    );
}

#[test]
fn rejects_kb_stale_iat_and_accepts_the_boundary() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    let skew = vc_options().clock_skew;
    let oldest = NOW - MAX_AGE - skew;
    assert_accepted(verify(&bind_at(&presentation, oldest)));
    assert_rejected(
        verify(&bind_at(&presentation, oldest - 1)),
        VerifyError::KbStale,
        "kb_stale",
    );
}

#[test]
fn rejects_kb_future_iat_and_accepts_the_boundary() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    let latest = NOW + vc_options().clock_skew;
    assert_accepted(verify(&bind_at(&presentation, latest)));
    assert_rejected(
        verify(&bind_at(&presentation, latest + 1)),
        VerifyError::KbIssuedInFuture,
        "kb_issued_in_future",
    );
}

#[test]
fn rejects_kb_wrong_sd_hash() {
    // The KB-JWT was made for given_name + family_name; family_name is then removed.
    let issued = standard();
    let given = issued.disclosures[index_of(&issued, "given_name")].as_str();
    let family = issued.disclosures[index_of(&issued, "family_name")].as_str();
    let bound = bind(&sd_jwt(&issued.jwt, &[given, family]));
    let kb = bound.rsplit('~').next().expect("kb-jwt");
    let cut = format!("{}{kb}", sd_jwt(&issued.jwt, &[given]));
    assert_rejected(
        verify(&cut),
        VerifyError::SdHashMismatch,
        "sd_hash_mismatch",
    );
    // Reordered disclosures are another presentation, too.
    let swapped = format!("{}{kb}", sd_jwt(&issued.jwt, &[family, given]));
    assert_rejected(
        verify(&swapped),
        VerifyError::SdHashMismatch,
        "sd_hash_mismatch",
    );
    // A KB-JWT lifted from a presentation of another credential.
    let other = issue_with(base_claims(), &standard_paths(), "dc+sd-jwt", 13);
    let other_bound = bind(&sd_jwt(&other.jwt, &pick(&other, &[0])));
    let other_kb = other_bound.rsplit('~').next().expect("kb-jwt");
    let lifted = format!("{}{other_kb}", sd_jwt(&issued.jwt, &[given]));
    assert_rejected(
        verify(&lifted),
        VerifyError::SdHashMismatch,
        "sd_hash_mismatch",
    );
}

#[test]
fn rejects_kb_signed_by_a_key_other_than_cnf() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    for alg in Alg::ALL {
        // A valid signature, by the wrong key.
        let thief = stranger(alg);
        let text = add_key_binding(&presentation, &thief, NONCE, AUD, NOW);
        let kb = text.rsplit('~').next().expect("kb-jwt");
        credential::jose::Jws::parse(kb)
            .expect("kb parses")
            .verify(thief.public_jwk())
            .expect("valid for the thief's key");
        assert_rejected(verify(&text), VerifyError::KbSignature, "kb_signature");
    }
}

/// KB-JWT claims that are right for `presentation` at the test verifier.
fn kb_claims(presentation: &str) -> Value {
    json!({
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": SdAlg::Sha256.digest(presentation),
    })
}

#[test]
fn rejects_kb_wrong_typ() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    let claims = kb_claims(&presentation);
    // Control: the hand-made KB-JWT verifies with the right typ.
    let good = sign_compact(
        obj(json!({"typ": "kb+jwt"})),
        claims.to_string().as_bytes(),
        &holder(),
    );
    assert_accepted(verify(&format!("{presentation}{good}")));
    for header in [
        json!({"typ": "JWT"}),
        json!({}),
        json!({"typ": "dc+sd-jwt"}),
    ] {
        let kb = sign_compact(obj(header), claims.to_string().as_bytes(), &holder());
        assert_rejected(
            verify(&format!("{presentation}{kb}")),
            VerifyError::KbWrongTyp,
            "kb_wrong_typ",
        );
    }
}

#[test]
fn rejects_kb_alg_none() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    let kb = raw_jwt(
        &json!({"alg": "none", "typ": "kb+jwt"}),
        &kb_claims(&presentation),
        b"",
    );
    assert_rejected(
        verify(&format!("{presentation}{kb}")),
        VerifyError::KbJose(JoseError::AlgNone),
        "kb_malformed",
    );
}

#[test]
fn rejects_kb_hs256() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    let header = json!({"alg": "HS256", "typ": "kb+jwt"});
    let claims = kb_claims(&presentation);
    let signing_input = format!(
        "{}.{}",
        b64::encode(header.to_string()),
        b64::encode(claims.to_string())
    );
    let secret = holder().public_jwk().to_bare_value().to_string();
    let mac = hmac_sha256(secret.as_bytes(), signing_input.as_bytes());
    let kb = format!("{signing_input}.{}", b64::encode(mac));
    assert_rejected(
        verify(&format!("{presentation}{kb}")),
        VerifyError::KbJose(JoseError::UnsupportedAlg {
            alg: "HS256".into(),
        }),
        "kb_malformed",
    );
}

#[test]
fn rejects_kb_alg_not_on_the_verifier_allow_list() {
    // ES256 issuer, EdDSA holder, a verifier that allows ES256 only: the issuer JWT passes and
    // the KB-JWT is refused, with a KB-JWT error (not the issuer's AlgNotAllowed).
    let mut options = vc_options();
    options.allowed_algs = vec![Alg::Es256];
    assert_rejected(
        check(&standard_presentation(), issuer().public_jwk(), &options),
        VerifyError::KbJose(JoseError::UnsupportedAlg {
            alg: "EdDSA".into(),
        }),
        "kb_malformed",
    );
}

#[test]
fn rejects_kb_missing_or_malformed_claims() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    for (name, patch) in [
        ("nonce", json!({"nonce": null})),
        ("aud", json!({"aud": [AUD]})),
        ("sd_hash", json!({"sd_hash": 1})),
        ("iat", json!({"iat": "now"})),
    ] {
        let mut claims = obj(kb_claims(&presentation));
        for (k, v) in obj(patch) {
            if v.is_null() {
                claims.remove(&k);
            } else {
                claims.insert(k, v);
            }
        }
        let kb = sign_compact(
            obj(json!({"typ": "kb+jwt"})),
            Value::Object(claims).to_string().as_bytes(),
            &holder(),
        );
        assert_rejected(
            verify(&format!("{presentation}{kb}")),
            VerifyError::KbClaim { name },
            "kb_claim",
        );
    }
}

#[test]
fn rejects_kb_required_without_cnf() {
    let mut claims = base_claims();
    claims.remove("cnf");
    let issued = issue_with(claims, &standard_paths(), "dc+sd-jwt", 40);
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    assert_rejected(
        verify(&text),
        VerifyError::MissingHolderKey,
        "missing_holder_key",
    );
    // `cnf` without a `jwk` (a bare key id) is no usable holder key either.
    let mut claims = base_claims();
    claims.insert("cnf".into(), json!({"kid": holder().kid()}));
    let issued = issue_with(claims, &standard_paths(), "dc+sd-jwt", 41);
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    assert_rejected(
        verify(&text),
        VerifyError::MissingHolderKey,
        "missing_holder_key",
    );
}

// ---------------------------------------------------------------------------------------------
// Validity period and clock skew
// ---------------------------------------------------------------------------------------------

/// A credential with these time claims, presented and bound at `now`, verified at `now`.
fn verify_times_at(times: Value, now: i64) -> Result<VerifiedSdJwt, VerifyError> {
    let mut claims = base_claims();
    claims.extend(obj(times));
    let issued = issue_with(claims, &standard_paths(), "dc+sd-jwt", 60);
    let text = bind_at(&sd_jwt(&issued.jwt, &pick(&issued, &[0])), now);
    let mut options = vc_options();
    options.now = now;
    check(&text, issuer().public_jwk(), &options)
}

#[test]
fn rejects_expired_credential() {
    assert_rejected(
        verify_times_at(json!({"exp": NOW - 3600}), NOW),
        VerifyError::Expired,
        "expired",
    );
}

#[test]
fn exp_skew_boundary() {
    let skew = vc_options().clock_skew;
    let exp = NOW - 1000;
    assert_accepted(verify_times_at(json!({ "exp": exp }), exp + skew));
    assert_rejected(
        verify_times_at(json!({ "exp": exp }), exp + skew + 1),
        VerifyError::Expired,
        "expired",
    );
}

#[test]
fn rejects_not_yet_valid_credential() {
    assert_rejected(
        verify_times_at(json!({"nbf": NOW + 3600}), NOW),
        VerifyError::NotYetValid,
        "not_yet_valid",
    );
}

#[test]
fn nbf_skew_boundary() {
    let skew = vc_options().clock_skew;
    let nbf = NOW + 1000;
    assert_accepted(verify_times_at(json!({ "nbf": nbf }), nbf - skew));
    assert_rejected(
        verify_times_at(json!({ "nbf": nbf }), nbf - skew - 1),
        VerifyError::NotYetValid,
        "not_yet_valid",
    );
}

#[test]
fn rejects_credential_issued_in_the_future() {
    assert_rejected(
        verify_times_at(json!({"iat": NOW + 3600}), NOW),
        VerifyError::IssuedInFuture,
        "issued_in_future",
    );
}

#[test]
fn iat_skew_boundary() {
    let skew = vc_options().clock_skew;
    let iat = NOW + 1000;
    assert_accepted(verify_times_at(json!({ "iat": iat }), iat - skew));
    assert_rejected(
        verify_times_at(json!({ "iat": iat }), iat - skew - 1),
        VerifyError::IssuedInFuture,
        "issued_in_future",
    );
}

#[test]
fn rejects_non_numeric_time_claims() {
    for name in ["exp", "nbf", "iat"] {
        assert_rejected(
            verify_times_at(json!({ name: "2030-01-01" }), NOW),
            VerifyError::InvalidTimeClaim { name },
            "invalid_time_claim",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Issuer key and signature
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_unknown_issuer_kid() {
    let text = standard_presentation();
    // A key set that trusts two other issuers, not this one.
    let others = [
        SigningKey::generate(Alg::Es256, &mut rng(70))
            .public_jwk()
            .clone(),
        SigningKey::generate(Alg::EdDsa, &mut rng(71))
            .public_jwk()
            .clone(),
    ];
    assert_rejected(
        check(&text, &others[..], &vc_options()),
        VerifyError::UnknownIssuerKey,
        "unknown_issuer_key",
    );
    // Control: with the issuer added, the set finds it by kid.
    let mut trusted = others.to_vec();
    trusted.push(issuer().public_jwk().clone());
    assert_accepted(check(&text, &trusted[..], &vc_options()));
}

#[test]
fn rejects_issuer_jwt_without_kid_against_a_key_set() {
    let payload = crafted_payload(json!({}));
    let jwt = sign_compact(
        obj(json!({"typ": "dc+sd-jwt"})),
        payload.to_string().as_bytes(),
        &issuer(),
    );
    let text = bind(&sd_jwt(&jwt, &[]));
    let trusted = [
        issuer().public_jwk().clone(),
        stranger(Alg::Es256).public_jwk().clone(),
    ];
    assert_rejected(
        check(&text, &trusted[..], &vc_options()),
        VerifyError::UnknownIssuerKey,
        "unknown_issuer_key",
    );
}

#[test]
fn rejects_credential_signed_by_a_different_key() {
    // Verified against a single trusted key that did not sign it.
    let text = standard_presentation();
    let other = SigningKey::generate(Alg::Es256, &mut rng(72));
    assert_rejected(
        check(&text, other.public_jwk(), &vc_options()),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
    // An attacker's key claiming the trusted key's kid.
    let thief = stranger(Alg::Es256);
    let payload = crafted_payload(json!({"given_name": "Mallory"}));
    let jwt = sign_jwt(
        json!({"typ": "dc+sd-jwt", "kid": issuer().kid()}),
        &payload,
        &thief,
    );
    let trusted = [issuer().public_jwk().clone()];
    assert_rejected(
        check(&bind(&sd_jwt(&jwt, &[])), &trusted[..], &vc_options()),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
    // The same, with an EdDSA key under an ES256 kid.
    let thief = stranger(Alg::EdDsa);
    let jwt = sign_jwt(
        json!({"typ": "dc+sd-jwt", "kid": issuer().kid()}),
        &payload,
        &thief,
    );
    assert_rejected(
        check(&bind(&sd_jwt(&jwt, &[])), &trusted[..], &vc_options()),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
}

#[test]
fn rejects_bad_issuer_signature() {
    let issued = standard();
    let mut parts: Vec<String> = issued.jwt.split('.').map(str::to_owned).collect();
    // Change one byte of the payload (the type's version), keep it valid JSON, re-encode.
    let payload = b64::decode(&parts[1]).expect("base64url");
    let text = String::from_utf8(payload).expect("utf-8");
    assert!(text.contains("\"vct\":\"urn:cn:citizen-id:basic:1\""));
    let flipped = text.replace("citizen-id:basic:1", "citizen-id:basic:2");
    parts[1] = b64::encode(flipped);
    let jwt = parts.join(".");
    let text = bind(&sd_jwt(&jwt, &pick(&issued, &[0])));
    assert_rejected(
        verify(&text),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
    // One bit of the signature flipped.
    let mut parts: Vec<String> = issued.jwt.split('.').map(str::to_owned).collect();
    let mut signature = b64::decode(&parts[2]).expect("base64url");
    signature[10] ^= 0x01;
    parts[2] = b64::encode(signature);
    let text = bind(&sd_jwt(&parts.join("."), &pick(&issued, &[0])));
    assert_rejected(
        verify(&text),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_input_over_max_bytes() {
    let text = standard_presentation();
    let mut options = vc_options();
    options.limits.max_bytes = text.len();
    assert_accepted(check(&text, issuer().public_jwk(), &options));
    options.limits.max_bytes = text.len() - 1;
    assert_rejected(
        check(&text, issuer().public_jwk(), &options),
        VerifyError::TooLarge {
            size: text.len(),
            limit: text.len() - 1,
        },
        "too_large",
    );
}

#[test]
fn rejects_more_disclosures_than_max_disclosures() {
    let issued = standard();
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0, 1, 2])));
    let mut options = vc_options();
    options.limits.max_disclosures = 3;
    assert_accepted(check(&text, issuer().public_jwk(), &options));
    options.limits.max_disclosures = 2;
    assert_rejected(
        check(&text, issuer().public_jwk(), &options),
        VerifyError::TooManyDisclosures { count: 3, limit: 2 },
        "too_many_disclosures",
    );
}

/// `{"n": {"n": ... {"n": "end"}}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!("end"), |inner, _| json!({ "n": inner }))
}

#[test]
fn rejects_payload_nested_past_max_depth() {
    let limit = Limits::default().max_depth;
    let mut claims = base_claims();
    claims.insert("deep".into(), nested(limit));
    let issued = issue_with(claims, &standard_paths(), "dc+sd-jwt", 80);
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    assert_rejected(verify(&text), VerifyError::TooDeep { limit }, "too_deep");
    // Control: one level less fits (the payload object itself is the first level).
    let mut claims = base_claims();
    claims.insert("deep".into(), nested(limit - 1));
    let issued = issue_with(claims, &standard_paths(), "dc+sd-jwt", 81);
    assert_accepted(verify(&bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])))));
}

#[test]
fn rejects_disclosure_value_nested_past_max_depth() {
    let limit = Limits::default().max_depth;
    let mut claims = base_claims();
    claims.insert("deep".into(), nested(limit + 1));
    let issued = issue_with(claims, &[ClaimPath::keys(["deep"])], "dc+sd-jwt", 82);
    // The payload holds only the digest; the depth is in the disclosure.
    let text = bind(&sd_jwt(&issued.jwt, &pick(&issued, &[0])));
    assert_rejected(verify(&text), VerifyError::TooDeep { limit }, "too_deep");
}

#[test]
fn rejects_nesting_past_max_depth_across_recursive_disclosures() {
    // Every level its own disclosure: each is shallow, the assembled claims are not.
    let limit = Limits::default().max_depth;
    let levels = limit + 2;
    let mut claims = base_claims();
    claims.insert("n".into(), nested(levels - 1));
    let paths: Vec<ClaimPath> = (1..=levels)
        .map(|depth| ClaimPath::keys(std::iter::repeat_n("n", depth)))
        .collect();
    let issued = issue_with(claims, &paths, "dc+sd-jwt", 83);
    let all: Vec<&str> = issued.disclosures.iter().map(Disclosure::as_str).collect();
    let text = bind(&sd_jwt(&issued.jwt, &all));
    let parsed = SdJwt::parse(&text, &Limits::default()).expect("each part within limits");
    assert_eq!(parsed.disclosures().len(), levels);
    assert_rejected(verify(&text), VerifyError::TooDeep { limit }, "too_deep");
}

// ---------------------------------------------------------------------------------------------
// Malformed serializations
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_compact_without_tilde() {
    let issued = standard();
    assert_rejected(
        verify(&issued.jwt),
        VerifyError::Malformed {
            reason: "no ~ separator",
        },
        "malformed",
    );
    assert_rejected(
        verify(""),
        VerifyError::Malformed {
            reason: "no ~ separator",
        },
        "malformed",
    );
}

#[test]
fn rejects_empty_disclosure_between_tildes() {
    let issued = standard();
    let d = pick(&issued, &[0, 1]);
    let text = bind(&format!("{}~{}~~{}~", issued.jwt, d[0], d[1]));
    assert_rejected(
        verify(&text),
        VerifyError::Malformed {
            reason: "empty disclosure",
        },
        "malformed",
    );
}

#[test]
fn rejects_issuer_jwt_not_in_three_parts() {
    let issued = standard();
    let mut parts = issued.jwt.split('.');
    let two = format!(
        "{}.{}",
        parts.next().expect("header"),
        parts.next().expect("payload")
    );
    let four = format!("{}.AA", issued.jwt);
    for jwt in [two, four, String::new()] {
        assert_rejected(
            verify(&bind(&sd_jwt(&jwt, &pick(&issued, &[0])))),
            VerifyError::Jose(JoseError::MalformedJws {
                reason: "not three dot-separated parts",
            }),
            "malformed_jwt",
        );
    }
}

#[test]
fn rejects_issuer_payload_not_an_object() {
    for payload in [json!(["iss", ISSUER]), json!("claims"), json!(7)] {
        let jwt = sign_jwt(json!({"typ": "dc+sd-jwt"}), &payload, &issuer());
        assert_rejected(
            verify(&bind(&sd_jwt(&jwt, &[]))),
            VerifyError::PayloadNotObject,
            "payload_not_object",
        );
    }
}

/// The flattened JSON serialization (RFC 9901 section 8.1) of a compact SD-JWT+KB.
fn flattened(compact: &str) -> Map<String, Value> {
    let segments: Vec<&str> = compact.split('~').collect();
    let jwt: Vec<&str> = segments[0].split('.').collect();
    let (kb, disclosures) = segments[1..].split_last().expect("kb segment");
    obj(json!({
        "protected": jwt[0],
        "payload": jwt[1],
        "signature": jwt[2],
        "header": {"disclosures": disclosures, "kb_jwt": kb},
    }))
}

#[test]
fn control_json_serialization_verifies() {
    let compact = standard_presentation();
    let flat = Value::Object(flattened(&compact)).to_string();
    let from_json = assert_accepted(verify(&flat));
    let from_compact = assert_accepted(verify(&compact));
    assert_eq!(from_json.claims, from_compact.claims);
    // The general form, one signature.
    let mut general = flattened(&compact);
    let signature = json!({
        "protected": general.remove("protected"),
        "signature": general.remove("signature"),
        "header": general.remove("header"),
    });
    general.insert("signatures".into(), json!([signature]));
    assert_accepted(verify(&Value::Object(general).to_string()));
}

#[test]
fn rejects_json_serialization_without_payload() {
    let mut flat = flattened(&standard_presentation());
    flat.remove("payload");
    assert_rejected(
        verify(&Value::Object(flat).to_string()),
        VerifyError::Malformed {
            reason: "json serialization member missing or not a string",
        },
        "malformed",
    );
}

#[test]
fn rejects_json_serialization_with_empty_signatures() {
    let mut general = flattened(&standard_presentation());
    general.remove("protected");
    general.remove("signature");
    general.remove("header");
    general.insert("signatures".into(), json!([]));
    assert_rejected(
        verify(&Value::Object(general).to_string()),
        VerifyError::Malformed {
            reason: "signatures is not a non-empty array",
        },
        "malformed",
    );
}

#[test]
fn rejects_json_serialization_with_non_string_disclosures() {
    let mut flat = flattened(&standard_presentation());
    let header = flat
        .get_mut("header")
        .and_then(Value::as_object_mut)
        .expect("header object");
    let first = header["disclosures"][0].clone();
    header.insert("disclosures".into(), json!([first, 42]));
    assert_rejected(
        verify(&Value::Object(flat.clone()).to_string()),
        VerifyError::Malformed {
            reason: "disclosures is not an array of strings",
        },
        "malformed",
    );
    let header = flat
        .get_mut("header")
        .and_then(Value::as_object_mut)
        .expect("header object");
    header.insert("disclosures".into(), json!("WyJz"));
    assert_rejected(
        verify(&Value::Object(flat).to_string()),
        VerifyError::Malformed {
            reason: "disclosures is not an array of strings",
        },
        "malformed",
    );
}

#[test]
fn rejects_json_serialization_with_non_string_kb_jwt() {
    let mut flat = flattened(&standard_presentation());
    flat["header"]["kb_jwt"] = json!({"jwt": "x"});
    assert_rejected(
        verify(&Value::Object(flat).to_string()),
        VerifyError::Malformed {
            reason: "kb_jwt is not a string",
        },
        "malformed",
    );
}

#[test]
fn rejects_json_serialization_that_is_not_json() {
    let flat = Value::Object(flattened(&standard_presentation())).to_string();
    assert_rejected(
        verify(&flat[..flat.len() - 1]),
        VerifyError::Malformed {
            reason: "json serialization is not a json object",
        },
        "malformed",
    );
}

#[test]
fn rejects_json_serialization_nested_past_max_depth() {
    let mut flat = flattened(&standard_presentation());
    flat.insert("extra".into(), nested(Limits::default().max_depth + 1));
    assert_rejected(
        verify(&Value::Object(flat).to_string()),
        VerifyError::TooDeep {
            limit: Limits::default().max_depth,
        },
        "too_deep",
    );
}

#[test]
fn rejects_json_serialization_with_too_many_disclosures() {
    let issued = standard();
    let flat = Value::Object(flattened(&bind(&sd_jwt(
        &issued.jwt,
        &pick(&issued, &[0, 1, 2]),
    ))))
    .to_string();
    let mut options = vc_options();
    options.limits.max_disclosures = 2;
    assert_rejected(
        check(&flat, issuer().public_jwk(), &options),
        VerifyError::TooManyDisclosures { count: 3, limit: 2 },
        "too_many_disclosures",
    );
}

// ---------------------------------------------------------------------------------------------
// Headers, trust stores and JSON shapes not covered above
// ---------------------------------------------------------------------------------------------

#[test]
fn rejects_issuer_header_with_crit_or_non_string_typ() {
    let payload = crafted_payload(json!({}));
    let jwt = sign_jwt(
        json!({"typ": "dc+sd-jwt", "crit": ["b64"], "b64": false}),
        &payload,
        &issuer(),
    );
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::Jose(JoseError::UnsupportedCrit),
        "malformed_jwt",
    );
    let jwt = sign_jwt(json!({"typ": ["dc+sd-jwt"]}), &payload, &issuer());
    assert_rejected(
        verify(&bind(&sd_jwt(&jwt, &[]))),
        VerifyError::Jose(JoseError::MalformedHeader {
            reason: "typ or kid is not a string",
        }),
        "malformed_jwt",
    );
}

/// A trust store that knows when its one key came into use.
struct RotatedKey {
    key: credential::jose::PublicJwk,
    not_before: i64,
}

impl IssuerKeys for RotatedKey {
    fn issuer_key(
        &self,
        _: &credential::jose::Header,
        payload: &Map<String, Value>,
    ) -> Result<credential::jose::PublicJwk, VerifyError> {
        match payload.get("iat").and_then(Value::as_i64) {
            Some(iat) if iat >= self.not_before => Ok(self.key.clone()),
            _ => Err(VerifyError::IssuerKeyNotValidAtIssuance),
        }
    }
}

#[test]
fn rejects_issuer_key_not_valid_at_issuance() {
    let text = standard_presentation();
    let current = RotatedKey {
        key: issuer().public_jwk().clone(),
        not_before: ISSUED_AT,
    };
    assert_accepted(check(&text, &current, &vc_options()));
    let rotated_in_later = RotatedKey {
        key: issuer().public_jwk().clone(),
        not_before: ISSUED_AT + 1,
    };
    assert_rejected(
        check(&text, &rotated_in_later, &vc_options()),
        VerifyError::IssuerKeyNotValidAtIssuance,
        "issuer_key_not_valid",
    );
}

#[test]
fn rejects_malformed_kb_jwt() {
    let issued = standard();
    let presentation = sd_jwt(&issued.jwt, &pick(&issued, &[0]));
    assert_rejected(
        verify(&format!("{presentation}not-a-jwt")),
        VerifyError::KbJose(JoseError::MalformedJws {
            reason: "not three dot-separated parts",
        }),
        "kb_malformed",
    );
    // Signed by the holder, but the payload is not a JSON object.
    let kb = sign_compact(obj(json!({"typ": "kb+jwt"})), b"[1,2]", &holder());
    assert_rejected(
        verify(&format!("{presentation}{kb}")),
        VerifyError::KbJose(JoseError::MalformedJws {
            reason: "payload is not a json object",
        }),
        "kb_malformed",
    );
}

#[test]
fn rejects_general_json_serialization_without_a_trusted_signature() {
    let issued = standard();
    let disclosures = pick(&issued, &[0, 1]);
    let parts: Vec<&str> = issued.jwt.split('.').collect();
    let (protected, payload, signature) = (parts[0], parts[1], parts[2]);
    // Another signature over the same payload, by a key nobody trusts.
    let signed_by = |key: &SigningKey| {
        let jwt = sign_compact(
            obj(json!({"typ": "dc+sd-jwt", "kid": key.kid()})),
            &b64::decode(payload).expect("base64url"),
            key,
        );
        let parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        (parts[0].clone(), parts[2].clone())
    };
    // The general form: disclosures and a KB-JWT (over the first signature's compact form,
    // RFC 9901 section 8.1) in the first signature's unprotected header.
    let general = |signatures: &[(String, String)]| {
        let (p0, s0) = &signatures[0];
        let kb = bind(&sd_jwt(&format!("{p0}.{payload}.{s0}"), &disclosures));
        let kb = kb.rsplit('~').next().expect("kb-jwt").to_owned();
        let entries: Vec<Value> = signatures
            .iter()
            .enumerate()
            .map(|(i, (p, s))| {
                let mut entry = json!({"protected": p, "signature": s});
                if i == 0 {
                    entry["header"] = json!({"disclosures": disclosures, "kb_jwt": kb});
                }
                entry
            })
            .collect();
        json!({"payload": payload, "signatures": entries}).to_string()
    };
    let trusted = (protected.to_owned(), signature.to_owned());
    let es = signed_by(&stranger(Alg::Es256));
    let ed = signed_by(&stranger(Alg::EdDsa));
    // Control: a trusted signature in any position is found.
    assert_accepted(verify(&general(&[es.clone(), trusted.clone()])));
    assert_accepted(verify(&general(&[trusted, ed.clone()])));
    // With none, the last failure is reported.
    assert_rejected(
        verify(&general(&[es.clone(), ed])),
        VerifyError::IssuerSignature,
        "issuer_signature",
    );
    let others = [stranger(Alg::EdDsa).public_jwk().clone()];
    assert_rejected(
        check(&general(&[es.clone(), es]), &others[..], &vc_options()),
        VerifyError::UnknownIssuerKey,
        "unknown_issuer_key",
    );
}

#[test]
fn rejects_json_serialization_shape_errors() {
    let flat = flattened(&standard_presentation());
    let mut bad_header = flat.clone();
    bad_header.insert("header".into(), json!(["disclosures"]));
    assert_rejected(
        verify(&Value::Object(bad_header).to_string()),
        VerifyError::Malformed {
            reason: "unprotected header is not an object",
        },
        "malformed",
    );
    let general = |signatures: Value| {
        json!({"payload": flat["payload"], "signatures": signatures}).to_string()
    };
    assert_rejected(
        verify(&general(json!(["sig"]))),
        VerifyError::Malformed {
            reason: "signature entry is not an object",
        },
        "malformed",
    );
    let first = json!({"protected": flat["protected"], "signature": flat["signature"]});
    let smuggled = json!({
        "protected": flat["protected"],
        "signature": flat["signature"],
        "header": {"disclosures": flat["header"]["disclosures"]},
    });
    assert_rejected(
        verify(&general(json!([first, smuggled]))),
        VerifyError::Malformed {
            reason: "disclosures or kb_jwt outside the first signature",
        },
        "malformed",
    );
}
