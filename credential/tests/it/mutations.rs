//! Property tests: `SdJwt::parse` + `verify` never panic on damaged or hostile input, and never
//! accept a mutated presentation: garbage is refused with a typed error.
//!
//! - `mutated_compact_presentations_are_rejected`: a valid SD-JWT+KB with byte flips, inserts,
//!   deletes, replaced bytes, swapped, duplicated or dropped `~` segments and truncation. Only
//!   a mutation that leaves the string unchanged may verify; the one tolerated difference is
//!   surrounding whitespace, which `SdJwt::parse` trims before anything else (the claims must
//!   then be the original's).
//! - `mutated_json_presentations_never_change_the_result`: the flattened JSON serialization,
//!   whose outer JSON is not signed (whitespace and member order may change); whatever verifies
//!   must verify to the original's claims, disclosures and key binding.
//! - `signed_hostile_structures_never_panic`: payloads and disclosures with random `_sd`,
//!   `...`, reserved names and shapes, *signed by the trusted issuer*, so disclosure processing
//!   itself is exercised, not just the signature check.
//! - `arbitrary_text_never_panics`.
//!
//! Case counts are bounded so the file runs in a few seconds; failures are not persisted (turn
//! a failure into a named regression test instead).

use std::sync::LazyLock;

use credential::b64;
use credential::jose::{sign_compact, Alg, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, Disclosure, KeyBinding, PathSegment, RngSalts, SdJwt, SdJwtBuilder,
    TypPolicy, VerifiedSdJwt, VerifyError, VerifyOptions, SD_JWT_VC_RESERVED,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Map, Value};

const NOW: i64 = 1_750_000_000;
const NONCE: &str = "mut-nonce-7f3a";
const AUD: &str = "https://bank.example.cn";

struct Fixture {
    issuer: SigningKey,
    compact: String,
    json: String,
    verified: VerifiedSdJwt,
}

fn options() -> VerifyOptions {
    let mut options = VerifyOptions::new(
        NOW,
        KeyBinding::Required {
            nonce: NONCE.into(),
            aud: AUD.into(),
            max_age: 300,
        },
    );
    options.typ = TypPolicy::OneOf(vec!["dc+sd-jwt".into()]);
    options.reserved_claims = SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect();
    options
}

fn run(
    text: &str,
    issuer: &SigningKey,
    options: &VerifyOptions,
) -> Result<VerifiedSdJwt, VerifyError> {
    SdJwt::parse(text, &options.limits)?.verify(issuer.public_jwk(), options)
}

/// An EdDSA issuer, an ES256 holder, nested and array-element disclosures with decoys; the
/// presentation discloses given_name, address.locality and nationalities[1].
static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
    let issuer = SigningKey::generate(Alg::EdDsa, &mut rng);
    let holder = SigningKey::generate(Alg::Es256, &mut rng);
    let claims = json!({
        "iss": "https://id.example.gov.cn",
        "iat": NOW - 3600,
        "exp": NOW + 3600,
        "vct": "urn:cn:citizen-id:high:1",
        "cnf": {"jwk": holder.public_jwk().to_bare_value()},
        "given_name": "Mei",
        "family_name": "Li",
        "address": {"locality": "Chengdu", "region": "Sichuan"},
        "nationalities": ["CN", "MO", "HK"],
    });
    let Value::Object(claims) = claims else {
        unreachable!("a json object literal")
    };
    let nationality = |i| {
        ClaimPath(vec![
            PathSegment::Key("nationalities".into()),
            PathSegment::Index(i),
        ])
    };
    let mut builder = SdJwtBuilder::new(claims).typ("dc+sd-jwt").decoys(1, 2);
    for path in [
        ClaimPath::keys(["given_name"]),
        ClaimPath::keys(["family_name"]),
        ClaimPath::keys(["address"]),
        ClaimPath::keys(["address", "locality"]),
        ClaimPath::keys(["address", "region"]),
        nationality(0),
        nationality(1),
        nationality(2),
    ] {
        builder = builder.disclosable(&path);
    }
    let issued = builder
        .issue(&issuer, &mut RngSalts(&mut rng))
        .expect("valid issuance");
    let parsed = SdJwt::parse(&issued.to_compact(), &Default::default()).expect("issued parses");
    let presentation = parsed
        .select(&[
            ClaimPath::keys(["given_name"]),
            ClaimPath::keys(["address", "locality"]),
            nationality(1),
        ])
        .expect("selection");
    let compact = add_key_binding(&presentation, &holder, NONCE, AUD, NOW);
    let verified = run(&compact, &issuer, &options()).expect("the fixture verifies");
    assert_eq!(verified.claims["given_name"], "Mei");
    assert_eq!(verified.claims["address"], json!({"locality": "Chengdu"}));
    assert_eq!(verified.claims["nationalities"], json!(["MO"]));
    let json = flattened(&compact);
    let from_json = run(&json, &issuer, &options()).expect("the json form verifies");
    assert_eq!(from_json.claims, verified.claims);
    Fixture {
        issuer,
        compact,
        json,
        verified,
    }
});

/// The flattened JSON serialization (RFC 9901 section 8.1) of a compact SD-JWT+KB.
fn flattened(compact: &str) -> String {
    let segments: Vec<&str> = compact.split('~').collect();
    let jwt: Vec<&str> = segments[0].split('.').collect();
    let (kb, disclosures) = segments[1..].split_last().expect("kb segment");
    json!({
        "protected": jwt[0],
        "payload": jwt[1],
        "signature": jwt[2],
        "header": {"disclosures": disclosures, "kb_jwt": kb},
    })
    .to_string()
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Replace(Index, u8),
    SwapSegments(Index, Index),
    DuplicateSegment(Index, Index),
    DropSegment(Index),
    Truncate(Index),
}

/// Bytes worth inserting: separators, JSON and base64url characters, whitespace, and any byte.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"~.{}[]\",: \n\tAQWaz09-_=+/".to_vec()),
        any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::DuplicateSegment(a, b)),
        any::<Index>().prop_map(Mutation::DropSegment),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// Applies the mutations in order. Byte-level results that are not UTF-8 are read lossily
/// (a caller holding bytes would have to do the same to call `SdJwt::parse`).
fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        match m {
            Mutation::FlipBit(i, bit) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Insert(i, b) => {
                let i = i.index(bytes.len() + 1);
                bytes.insert(i, *b);
            }
            Mutation::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Replace(i, b) if !bytes.is_empty() => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
            Mutation::SwapSegments(..)
            | Mutation::DuplicateSegment(..)
            | Mutation::DropSegment(_) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut segments: Vec<&str> = text.split('~').collect();
                match m {
                    Mutation::SwapSegments(a, b) => {
                        let (a, b) = (a.index(segments.len()), b.index(segments.len()));
                        segments.swap(a, b);
                    }
                    Mutation::DuplicateSegment(from, to) => {
                        let from = segments[from.index(segments.len())];
                        segments.insert(to.index(segments.len() + 1), from);
                    }
                    Mutation::DropSegment(i) => {
                        segments.remove(i.index(segments.len()));
                    }
                    _ => unreachable!("matched above"),
                }
                bytes = segments.join("~").into_bytes();
            }
            // A byte mutation of an empty input.
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn same_result(a: &VerifiedSdJwt, b: &VerifiedSdJwt) -> bool {
    a.claims == b.claims
        && a.disclosed == b.disclosed
        && a.key_binding == b.key_binding
        && a.holder_key == b.holder_key
        && a.issuer_key == b.issuer_key
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_compact_presentations_are_rejected(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let fixture = &*FIXTURE;
        let mutated = apply(&fixture.compact, &mutations);
        match run(&mutated, &fixture.issuer, &options()) {
            Ok(verified) => {
                prop_assert!(
                    mutated.trim() == fixture.compact,
                    "accepted a mutated presentation: {mutations:?}\n{mutated:?}"
                );
                prop_assert!(same_result(&verified, &fixture.verified));
            }
            Err(e) => prop_assert!(
                mutated != fixture.compact,
                "the unmutated presentation was rejected: {e}"
            ),
        }
    }

    #[test]
    fn mutated_json_presentations_never_change_the_result(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let fixture = &*FIXTURE;
        let mutated = apply(&fixture.json, &mutations);
        if let Ok(verified) = run(&mutated, &fixture.issuer, &options()) {
            prop_assert!(
                same_result(&verified, &fixture.verified),
                "a mutated json presentation verified to other contents: {mutated:?}"
            );
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,512}", bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let fixture = &*FIXTURE;
        let _ = run(&text, &fixture.issuer, &options());
        let _ = run(&String::from_utf8_lossy(&bytes), &fixture.issuer, &options());
    }
}

/// Turns a stream of random bytes into decisions; past its end every decision is 0.
struct Choices<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Choices<'_> {
    fn below(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        usize::from(b) % n.max(1)
    }
}

/// Claim names that matter to processing: reserved, colliding and ordinary.
const NAMES: [&str; 9] = [
    "_sd",
    "...",
    "_sd_alg",
    "iss",
    "cnf",
    "given_name",
    "x",
    "address",
    "",
];

fn digest_or_junk(c: &mut Choices<'_>, digests: &[String]) -> Value {
    match c.below(6) {
        0..=3 if !digests.is_empty() => Value::String(digests[c.below(digests.len())].clone()),
        4 => json!(7),
        _ => Value::String(b64::encode([c.below(256) as u8; 32])),
    }
}

/// A random JSON value that may hold `_sd` arrays and `{"...": d}` elements pointing at
/// `digests`, duplicates, wrong shapes and reserved names.
fn hostile(c: &mut Choices<'_>, depth: usize, digests: &[String]) -> Value {
    let kinds = if depth >= 4 { 4 } else { 7 };
    match c.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(c.below(2) == 1),
        2 => json!(c.below(1000)),
        3 => Value::String(NAMES[c.below(NAMES.len())].to_owned()),
        4 | 6 => {
            let mut map = Map::new();
            for _ in 0..c.below(4) {
                let name = NAMES[c.below(NAMES.len())];
                map.insert(name.to_owned(), hostile(c, depth + 1, digests));
            }
            if c.below(3) > 0 {
                let sd = (0..c.below(4))
                    .map(|_| digest_or_junk(c, digests))
                    .collect();
                map.insert("_sd".into(), Value::Array(sd));
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..c.below(4))
                .map(|_| match c.below(4) {
                    0 => json!({"...": digest_or_junk(c, digests)}),
                    1 => json!({"...": digest_or_junk(c, digests), "x": 1}),
                    _ => hostile(c, depth + 1, digests),
                })
                .collect(),
        ),
    }
}

/// `true` when no object in `value` has a `_sd` member.
fn free_of_sd(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.contains_key("_sd") && map.values().all(free_of_sd),
        Value::Array(items) => items.iter().all(free_of_sd),
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn signed_hostile_structures_never_panic(choices in prop::collection::vec(any::<u8>(), 0..400)) {
        let fixture = &*FIXTURE;
        let mut c = Choices { bytes: &choices, pos: 0 };
        // A pool of disclosures; each may point at the ones made before it.
        let mut pool: Vec<Disclosure> = Vec::new();
        for i in 0..c.below(7) {
            let digests: Vec<String> = pool.iter().map(|d| d.digest().to_owned()).collect();
            let value = hostile(&mut c, 1, &digests);
            let salt = format!("salt-{i}");
            pool.push(if c.below(3) == 0 {
                Disclosure::element(salt, value)
            } else {
                Disclosure::property(salt, NAMES[c.below(NAMES.len())], value)
            });
        }
        let digests: Vec<String> = pool.iter().map(|d| d.digest().to_owned()).collect();
        let mut payload = match hostile(&mut c, 0, &digests) {
            Value::Object(map) => map,
            other => {
                let mut map = Map::new();
                map.insert("v".into(), other);
                map
            }
        };
        let mut sd: Vec<Value> = (0..c.below(5)).map(|_| digest_or_junk(&mut c, &digests)).collect();
        if let Some(Value::Array(existing)) = payload.get("_sd") {
            sd.extend(existing.iter().cloned());
        }
        payload.insert("_sd".into(), Value::Array(sd));
        if c.below(4) == 0 {
            payload.insert("_sd_alg".into(), json!("sha-256"));
        }
        // Which disclosures are sent, in which order, some twice.
        let mut sent: Vec<&str> = Vec::new();
        for d in &pool {
            match c.below(5) {
                0 => {}
                1 => {
                    sent.push(d.as_str());
                    sent.push(d.as_str());
                }
                _ => sent.push(d.as_str()),
            }
        }
        if sent.len() > 1 {
            let (a, b) = (c.below(sent.len()), c.below(sent.len()));
            sent.swap(a, b);
        }
        let mut header = Map::new();
        header.insert("typ".into(), json!("dc+sd-jwt"));
        let jwt = sign_compact(header, Value::Object(payload).to_string().as_bytes(), &fixture.issuer);
        let mut text = format!("{jwt}~");
        for d in &sent {
            text.push_str(d);
            text.push('~');
        }
        let mut options = options();
        options.key_binding = KeyBinding::NotRequired;
        if let Ok(verified) = run(&text, &fixture.issuer, &options) {
            prop_assert!(free_of_sd(&Value::Object(verified.claims.clone())));
            prop_assert!(!verified.claims.contains_key("_sd_alg"));
            prop_assert_eq!(verified.disclosed.len(), sent.len());
            for name in SD_JWT_VC_RESERVED {
                prop_assert!(!verified.disclosed.contains(&ClaimPath::keys([name])));
            }
        }
    }
}

/// A chain of disclosures, each within the per-disclosure depth limit, that nests thousands of
/// levels deep once assembled: 256 disclosures, each `[[...[{"_sd": [next]}]...]]`.
fn deep_chain(issuer: &SigningKey) -> String {
    let limits = credential::sd_jwt::Limits::default();
    let arrays = limits.max_depth - 2;
    let mut chain: Vec<Disclosure> = Vec::new();
    let mut next: Option<String> = None;
    for i in 0..limits.max_disclosures {
        let bottom = match &next {
            Some(digest) => json!({ "_sd": [digest] }),
            None => json!("end"),
        };
        let value = (0..arrays).fold(bottom, |inner, _| json!([inner]));
        let d = Disclosure::property(format!("salt-{i}"), "x", value);
        next = Some(d.digest().to_owned());
        chain.push(d);
    }
    let payload = json!({ "_sd": [next], "iat": NOW - 60 });
    let mut header = Map::new();
    header.insert("typ".into(), json!("dc+sd-jwt"));
    let jwt = sign_compact(header, payload.to_string().as_bytes(), issuer);
    let mut text = format!("{jwt}~");
    for d in chain.iter().rev() {
        text.push_str(d.as_str());
        text.push('~');
    }
    text
}

/// Regression: `SdJwt::holder_view` (and so `select`) overflowed the stack on this input.
#[test]
fn deep_disclosure_chain_is_rejected_not_overflowed() {
    let fixture = &*FIXTURE;
    let text = deep_chain(&fixture.issuer);
    let parsed = SdJwt::parse(&text, &Default::default()).expect("each disclosure within limits");
    let mut options = options();
    options.key_binding = KeyBinding::NotRequired;
    assert!(matches!(
        parsed.verify(fixture.issuer.public_jwk(), &options),
        Err(VerifyError::TooDeep { .. })
    ));
    // The holder's side processes without the verifier's limits; it must not overflow the
    // stack (it did, before holder processing got a depth bound).
    assert!(matches!(
        parsed.holder_view(),
        Err(VerifyError::TooDeep { limit: 128 })
    ));
    assert!(matches!(
        parsed.select(&[ClaimPath::keys(["x"])]),
        Err(VerifyError::TooDeep { .. })
    ));
}
