//! `cargo bench -p credential --bench verify`: SD-JWT verification of a hotel-desk presentation
//! against the two raw ES256 signature verifications it contains.
//!
//! The presentation: ES256 issuer and holder keys, 14 selectively disclosable claims (7 top
//! level, 4 address members, 3 age thresholds) plus decoys, 3 disclosed, with a KB-JWT.

use credential::citizen::BASIC_CLAIMS;
use credential::jose::{Alg, Jws, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, KeyBinding, RngSalts, SdJwt, SdJwtBuilder, VerifyOptions,
};
use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::SeedableRng;
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn hotel_presentation() -> (String, SigningKey) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let issuer = SigningKey::generate(Alg::Es256, &mut rng);
    let holder = SigningKey::generate(Alg::Es256, &mut rng);
    let claims = json!({
        "vct": "urn:cn:citizen-id:basic:1",
        "iss": "https://bureau.example.cn",
        "iat": NOW - 86_400, "exp": NOW + 86_400 * 365,
        "cnf": {"jwk": holder.public_jwk().to_bare_value()},
        "status": {"status_list": {"idx": 412_345, "uri": "https://bureau.example.cn/status/0"}},
        "family_name": "王", "given_name": "小明", "birthdate": "1990-03-07", "sex": 1,
        "nationality": "CN", "id_number": "11010519900307123X",
        "address": {"street_address": "长安街1号", "locality": "东城区", "region": "北京市", "country": "CN"},
        "age_equal_or_over": {"16": true, "18": true, "60": false},
    });
    let mut builder = SdJwtBuilder::new(claims.as_object().cloned().unwrap_or_default())
        .typ("dc+sd-jwt")
        .decoys(1, 4);
    // The top-level claims one by one; the age thresholds and the address member by member.
    let top_level = BASIC_CLAIMS
        .into_iter()
        .filter(|c| *c != "age_equal_or_over");
    for path in top_level.chain([
        "address.street_address",
        "address.locality",
        "address.region",
        "address.country",
        "age_equal_or_over.16",
        "age_equal_or_over.18",
        "age_equal_or_over.60",
        "address",
    ]) {
        builder = builder.disclosable(&ClaimPath::parse_dotted(path));
    }
    let issued = builder
        .issue(&issuer, &mut RngSalts(&mut rng))
        .unwrap_or_else(|e| panic!("issue: {e}"));
    let sd_jwt =
        SdJwt::parse(&issued.to_compact(), &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let selected = sd_jwt
        .select(&[
            ClaimPath::parse_dotted("family_name"),
            ClaimPath::parse_dotted("given_name"),
            ClaimPath::parse_dotted("id_number"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let presentation =
        add_key_binding(&selected, &holder, "n-8f2c1e", "https://hotel.example", NOW);
    (presentation, issuer)
}

fn bench(c: &mut Criterion) {
    let (presentation, issuer) = hotel_presentation();
    eprintln!("hotel presentation: {} bytes", presentation.len());
    let key = issuer.public_jwk().clone();
    let options = VerifyOptions::new(
        NOW,
        KeyBinding::Required {
            nonce: "n-8f2c1e".into(),
            aud: "https://hotel.example".into(),
            max_age: 300,
        },
    );
    let parsed = SdJwt::parse(&presentation, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    parsed
        .verify(&key, &options)
        .unwrap_or_else(|e| panic!("{e}"));

    c.bench_function("sd_jwt_verify_hotel_presentation", |b| {
        b.iter(|| {
            let parsed = SdJwt::parse(std::hint::black_box(&presentation), &Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            parsed
                .verify(&key, &options)
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });

    let issuer_jws = parsed.jws().clone();
    let kb = Jws::parse(parsed.kb_jwt().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let holder = parsed
        .holder_view()
        .ok()
        .and_then(|v| v.claims.get("cnf").and_then(|c| c.get("jwk")).cloned())
        .and_then(|j| credential::jose::PublicJwk::from_value(&j).ok())
        .unwrap_or_else(|| panic!("holder key"));
    c.bench_function("two_raw_es256_verifications", |b| {
        b.iter(|| {
            issuer_jws.verify(&key).unwrap_or_else(|e| panic!("{e}"));
            kb.verify(&holder).unwrap_or_else(|e| panic!("{e}"));
        })
    });
}

// criterion_group! defines an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
criterion_main!(group::benches);
