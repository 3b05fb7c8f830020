//! The hotel-desk presentation shared by `benches/verify.rs` and `examples/verify_loop.rs`:
//! ES256 issuer and holder keys, a real citizen-ID credential from `credential::citizen::issue`
//! (`dc+sd-jwt`, basic or high level; a basic one has 10 disclosable claims: the 6 personal
//! claims, the `age_equal_or_over` object and its 3 keys; a high one adds `address` and its 6
//! members, `ethnicity`, `portrait` and `id_card` with its 2 members; decoys pad the `_sd` arrays
//! to their fixed sizes), 3 of them disclosed (`family_name`, `given_name`, `id_number`), a
//! KB-JWT, and a status-list token for the credential's shard in the verifier's status store.

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, Jws, PublicJwk, SigningKey};
use credential::sd_jwt::{
    add_key_binding, ClaimPath, KeyBinding, SdJwt, TypPolicy, VerifyOptions, SD_JWT_VC_RESERVED,
};
use credential::status_list::{Bits, StatusList, StatusListToken, StatusReference};
use rand_chacha::rand_core::SeedableRng;
use verifier::{Policy, StatusStore, TrustStore, TrustedKey, Verifier};

pub const ISSUER: &str = "https://citizen-id.example";
pub const STATUS_URI: &str = "https://citizen-id.example/status/3";
pub const IAT: i64 = 1_767_225_600; // 2026-01-01
pub const EXP: i64 = 1_924_992_000; // 2031-01-01
pub const NOW: i64 = 1_772_323_200; // 2026-03-01
pub const NONCE: &str = "n-8f2c1e";
pub const AUD: &str = "https://hotel.example";

/// Everything the bench and the example need: the verifier, the presentation, and the keys.
// The bench and the example each read some of the fields.
#[allow(dead_code)]
pub struct Fixture {
    pub verifier: Verifier,
    pub presentation: String,
    pub issuer: PublicJwk,
    pub holder: PublicJwk,
    /// Disclosures in the issued credential.
    pub issued_disclosures: usize,
    /// The holder's key, to bind the selection to other nonces.
    pub holder_key: SigningKey,
    /// The presentation without its KB-JWT: `<jwt>~<3 disclosures>~`.
    pub selected: String,
    /// The shard's `statuslist+jwt`, as the verifier CLI reads it.
    pub status_token: String,
}

/// The hotel presentation of a credential of `level` (`examples/claims/citizen-basic.json` or
/// `citizen-high.json`).
pub fn fixture_at(level: Level) -> Fixture {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let issuer = SigningKey::generate(Alg::Es256, &mut rng);
    let holder = SigningKey::generate(Alg::Es256, &mut rng);
    let path = match level {
        Level::High => concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/claims/citizen-high.json"
        ),
        _ => concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/claims/citizen-basic.json"
        ),
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let claims = CitizenClaims::from_json(&text, level).unwrap_or_else(|e| panic!("{e}"));
    let status = StatusReference {
        idx: 412_771,
        uri: STATUS_URI.into(),
    };
    let request = IssueRequest {
        claims: &claims,
        level,
        format: Format::DcSdJwt,
        issuer: ISSUER,
        holder: holder.public_jwk(),
        status: Some(&status),
        issued_at: IAT,
        expires_at: EXP,
    };
    let credential = issue(&request, &issuer, &mut rng).unwrap_or_else(|e| panic!("{e}"));
    let parsed = SdJwt::parse(&credential, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let issued_disclosures = parsed.disclosures().len();
    let selected = parsed
        .select(&[
            ClaimPath::keys(["family_name"]),
            ClaimPath::keys(["given_name"]),
            ClaimPath::keys(["id_number"]),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    let presentation = add_key_binding(&selected, &holder, NONCE, AUD, NOW - 5);

    // The shard's list: 2^20 two-bit entries, a few revoked, this one valid.
    let mut list = StatusList::new(Bits::Two, 1 << 20).unwrap_or_else(|e| panic!("{e}"));
    for idx in [3, 412_770, 412_772, 900_000] {
        list.set(idx, 1).unwrap_or_else(|e| panic!("{e}"));
    }
    let token = StatusListToken {
        sub: STATUS_URI.into(),
        iat: NOW - 3_600,
        exp: Some(NOW + 86_400),
        ttl: std::num::NonZeroU64::new(43_200),
        iss: Some(ISSUER.to_owned()),
        status_list: list,
    }
    .sign(&issuer);

    let mut trust = TrustStore::new();
    trust.add(TrustedKey::new(issuer.public_jwk().clone()));
    let mut store = StatusStore::new();
    store
        .add_token(&token, &trust, NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::from_toml(
        "name = \"hotel\"\nrequired_claims = [\"family_name\", \"given_name\", \"id_number\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        verifier: Verifier::new(trust, store, policy),
        presentation,
        issuer: issuer.public_jwk().clone(),
        holder: holder.public_jwk().clone(),
        issued_disclosures,
        holder_key: holder,
        selected,
        status_token: token,
    }
}

/// The `SdJwt::verify` options the verifier uses for this presentation: both citizen-ID `typ`
/// values, the SD-JWT VC reserved claims, and key binding to the hotel's nonce and audience.
pub fn sd_jwt_options() -> VerifyOptions {
    VerifyOptions {
        typ: TypPolicy::OneOf(vec!["dc+sd-jwt".into(), "vc+sd-jwt".into()]),
        reserved_claims: SD_JWT_VC_RESERVED.iter().map(|s| (*s).to_owned()).collect(),
        ..VerifyOptions::new(
            NOW,
            KeyBinding::Required {
                nonce: NONCE.into(),
                aud: AUD.into(),
                max_age: 300,
            },
        )
    }
}

/// The two signed parts of the parsed presentation: the issuer's JWS and the KB-JWT.
pub fn signed_parts(parsed: &SdJwt) -> (Jws, Jws) {
    let kb = Jws::parse(parsed.kb_jwt().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    (parsed.jws().clone(), kb)
}

/// The two raw ES256 signature verifications the presentation contains.
pub fn verify_raw_pair(f: &Fixture, (issuer_jws, kb): &(Jws, Jws)) {
    std::hint::black_box(issuer_jws)
        .verify(&f.issuer)
        .unwrap_or_else(|e| panic!("{e}"));
    std::hint::black_box(kb)
        .verify(&f.holder)
        .unwrap_or_else(|e| panic!("{e}"));
}
