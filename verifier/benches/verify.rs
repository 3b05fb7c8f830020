//! `cargo bench -p verifier --bench verify`: `Verifier::verify` on a hotel-desk presentation
//! against the two raw ES256 signature verifications it contains (the performance target:
//! verify at most 1.15x the raw pair), and a breakdown of the stages in between.
//! The presentation (of a high credential) is described in `hotel/mod.rs`; figures go in
//! `docs/performance.md`.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use credential::jose::PublicJwk;
use credential::sd_jwt::SdJwt;
use criterion::{criterion_group, criterion_main, Criterion};

mod hotel;

use credential::citizen::Level;
use hotel::{fixture_at, sd_jwt_options, signed_parts, verify_raw_pair, AUD, NONCE, NOW};

fn bench(c: &mut Criterion) {
    let f = fixture_at(Level::High);
    let parsed =
        SdJwt::parse(&f.presentation, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "hotel presentation: {} bytes ({} of {} disclosures, top-level _sd of {} digests)",
        f.presentation.len(),
        parsed.disclosures().len(),
        f.issued_disclosures,
        parsed.payload()["_sd"].as_array().map_or(0, Vec::len),
    );
    let verified = f
        .verifier
        .verify(&f.presentation, NONCE, AUD, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.claims["id_number"], "110105199205179985");

    c.bench_function("verifier_verify_hotel_presentation", |b| {
        b.iter(|| {
            f.verifier
                .verify(black_box(&f.presentation), NONCE, AUD, NOW)
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });

    let signed = signed_parts(&parsed);
    c.bench_function("two_raw_es256_verifications", |b| {
        b.iter(|| verify_raw_pair(&f, &signed))
    });
}

/// Where the time beyond the two signatures goes: each stage on its own.
fn breakdown(c: &mut Criterion) {
    let f = fixture_at(Level::High);
    let mut group = c.benchmark_group("breakdown");
    group.bench_function("sd_jwt_parse", |b| {
        b.iter(|| SdJwt::parse(black_box(&f.presentation), &Default::default()))
    });
    let holder = f.holder.to_bare_value();
    group.bench_function("holder_key_from_cnf_jwk", |b| {
        b.iter(|| PublicJwk::from_value(black_box(&holder)))
    });
    let options = sd_jwt_options();
    let parsed =
        SdJwt::parse(&f.presentation, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("sd_jwt_verify_parsed", |b| {
        b.iter(|| black_box(&parsed).verify(&f.verifier.trust, &options))
    });
    group.finish();
}

criterion_group!(benches, bench, breakdown);
criterion_main!(benches);
