//! Real keys, real credentials, real status-list tokens: everything the library and CLI tests
//! verify is issued here with `credential::citizen::issue` from `examples/claims/*.json`.

use std::path::PathBuf;

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::{add_key_binding, ClaimPath, SdJwt};
use credential::status_list::{Bits, StatusList, StatusListToken, StatusReference};
use rand_chacha::rand_core::SeedableRng;
use verifier::Policy;

/// The issuer identifier (`iss` / `issuer`).
pub const ISSUER: &str = "https://citizen-id.example";
/// Issuance time: 2026-01-01T00:00:00Z (already a day boundary, so it survives truncation).
pub const IAT: i64 = 1_767_225_600;
/// Expiry: 2031-01-01T00:00:00Z.
pub const EXP: i64 = 1_924_992_000;
/// Verification time: 2026-03-01T00:00:00Z.
pub const NOW: i64 = 1_772_323_200;
/// The hotel's nonce and audience.
pub const NONCE: &str = "n-8f2c1e";
pub const AUD: &str = "https://hotel.example";
/// The shard's status list URI (the token's `sub`).
pub const STATUS_URI: &str = "https://citizen-id.example/status/3";
/// The credential's index in that list.
pub const IDX: u64 = 37;
/// Entries in the test lists (2 bits each).
pub const LIST_LEN: u64 = 1024;

/// Both forms, for loops.
pub const FORMATS: [Format; 2] = [Format::DcSdJwt, Format::VcSdJwt];

/// An issuer key and a holder key of one algorithm, from a fixed seed.
pub struct Keys {
    pub issuer: SigningKey,
    pub holder: SigningKey,
}

impl Keys {
    pub fn new(alg: Alg) -> Keys {
        let seed = match alg {
            Alg::Es256 => 1,
            _ => 2,
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        Keys {
            issuer: SigningKey::generate(alg, &mut rng),
            holder: SigningKey::generate(alg, &mut rng),
        }
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn claims(level: Level) -> CitizenClaims {
    let file = match level {
        Level::Basic => "examples/claims/citizen-basic.json",
        _ => "examples/claims/citizen-high.json",
    };
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    CitizenClaims::from_json(&text, level).unwrap()
}

/// What to issue.
#[derive(Clone)]
pub struct Spec {
    pub level: Level,
    pub format: Format,
    pub status: Option<(String, u64)>,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl Spec {
    pub fn new(level: Level, format: Format) -> Spec {
        Spec {
            level,
            format,
            status: Some((STATUS_URI.into(), IDX)),
            issued_at: IAT,
            expires_at: EXP,
        }
    }
}

/// A compact credential `<jwt>~<disclosures>~`, every claim disclosable.
pub fn credential(keys: &Keys, spec: &Spec) -> String {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let claims = claims(spec.level);
    let status = spec.status.as_ref().map(|(uri, idx)| StatusReference {
        idx: *idx,
        uri: uri.clone(),
    });
    let request = IssueRequest {
        claims: &claims,
        level: spec.level,
        format: spec.format,
        issuer: ISSUER,
        holder: keys.holder.public_jwk(),
        status: status.as_ref(),
        issued_at: spec.issued_at,
        expires_at: spec.expires_at,
    };
    issue(&request, &keys.issuer, &mut rng).unwrap()
}

/// The claim paths of `names` in this form (`credentialSubject.` in front for vc+sd-jwt).
pub fn paths(format: Format, names: &[&str]) -> Vec<ClaimPath> {
    let prefix = match format {
        Format::VcSdJwt => "credentialSubject.",
        _ => "",
    };
    names
        .iter()
        .map(|n| ClaimPath::parse_dotted(&format!("{prefix}{n}")))
        .collect()
}

/// The disclosures for `names`, without a KB-JWT: `<jwt>~<d>~...~`.
pub fn select(credential: &str, format: Format, names: &[&str]) -> String {
    SdJwt::parse(credential, &Default::default())
        .unwrap()
        .select(&paths(format, names))
        .unwrap()
}

/// A presentation of `names` with a KB-JWT for `nonce` and `aud`, made at `iat`.
pub fn present_at(
    credential: &str,
    keys: &Keys,
    format: Format,
    names: &[&str],
    nonce: &str,
    aud: &str,
    iat: i64,
) -> String {
    add_key_binding(
        &select(credential, format, names),
        &keys.holder,
        nonce,
        aud,
        iat,
    )
}

/// The hotel presentation: family name, given name and ID number, for the hotel's nonce, at
/// `NOW - 10`.
pub fn hotel_presentation(credential: &str, keys: &Keys, format: Format) -> String {
    present_at(credential, keys, format, HOTEL_CLAIMS, NONCE, AUD, NOW - 10)
}

pub const HOTEL_CLAIMS: &[&str] = &["family_name", "given_name", "id_number"];

/// A signed `statuslist+jwt` for `uri`, 2-bit entries, with `entries` set.
pub fn status_token(
    issuer: &SigningKey,
    uri: &str,
    iat: i64,
    exp: Option<i64>,
    entries: &[(u64, u8)],
) -> String {
    let mut list = StatusList::new(Bits::Two, LIST_LEN).unwrap();
    for (idx, value) in entries {
        list.set(*idx, *value).unwrap();
    }
    StatusListToken {
        sub: uri.to_owned(),
        iat,
        exp,
        ttl: std::num::NonZeroU64::new(43_200),
        iss: Some(ISSUER.to_owned()),
        status_list: list,
    }
    .sign(issuer)
}

/// The hotel: basic is enough; name and ID number required.
pub fn hotel_policy() -> Policy {
    Policy::from_toml(
        "name = \"hotel\"\nmin_level = \"basic\"\nrequired_claims = [\"family_name\", \"given_name\", \"id_number\"]\n",
    )
    .unwrap()
}

/// The bank: high level only, revocation state at most 4 hours old.
pub fn bank_policy() -> Policy {
    Policy::from_toml(
        "name = \"bank\"\nmin_level = \"high\"\nrequired_claims = [\"family_name\", \"given_name\", \"id_number\"]\nmax_status_age_seconds = 14400\n",
    )
    .unwrap()
}
