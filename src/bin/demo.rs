//! `cargo run --release --bin demo`: the citizen-ID story end to end on embedded defaults.
//!
//! The bureau issues a basic and a high credential, the citizen's wallet presents only what is
//! asked, a hotel verifies a basic credential offline, a bank rejects basic and accepts high,
//! the bureau revokes, and the hotel, with the new status list, rejects.

use std::process::ExitCode;

use credential::citizen::{issue, CitizenClaims, Format, IssueRequest, Level};
use credential::jose::{Alg, SigningKey};
use credential::sd_jwt::ClaimPath;
use credential::status_list::{Bits, StatusList, StatusListToken, StatusReference};
use rand_core::OsRng;
use verifier::{Policy, StatusStore, TrustStore, TrustedKey, Verifier};

const ISSUER: &str = "https://bureau.example.cn";
const BASIC_CLAIMS: &str = include_str!("../../examples/claims/citizen-basic.json");
const HIGH_CLAIMS: &str = include_str!("../../examples/claims/citizen-high.json");
const HOTEL: &str = include_str!("../../verifier/profiles/hotel.toml");
const BANK: &str = include_str!("../../verifier/profiles/bank.toml");

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn step(text: &str) {
    println!("\n== {text}");
}

fn run() -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut rng = OsRng;

    step("The bureau generates its signing key");
    let bureau = SigningKey::generate(Alg::Es256, &mut rng);
    println!("issuer {ISSUER}, key id {}", bureau.kid());

    step("The bureau issues Li Xuemei a basic credential (remote face match) and a high one (in person)");
    let holder_basic = SigningKey::generate(Alg::Es256, &mut rng);
    let holder_high = SigningKey::generate(Alg::Es256, &mut rng);
    let shard_uri = format!("{ISSUER}/status/0");
    let basic_ref = StatusReference {
        idx: 98_304,
        uri: shard_uri.clone(),
    };
    let high_ref = StatusReference {
        idx: 412_771,
        uri: shard_uri.clone(),
    };
    let basic_claims = CitizenClaims::from_json(BASIC_CLAIMS, Level::Basic)?;
    let high_claims = CitizenClaims::from_json(HIGH_CLAIMS, Level::High)?;
    let basic = issue(
        &IssueRequest {
            claims: &basic_claims,
            level: Level::Basic,
            format: Format::DcSdJwt,
            issuer: ISSUER,
            holder: holder_basic.public_jwk(),
            status: Some(&basic_ref),
            issued_at: now,
            expires_at: now + 365 * 86_400,
        },
        &bureau,
        &mut rng,
    )?;
    let high = issue(
        &IssueRequest {
            claims: &high_claims,
            level: Level::High,
            format: Format::DcSdJwt,
            issuer: ISSUER,
            holder: holder_high.public_jwk(),
            status: Some(&high_ref),
            issued_at: now,
            expires_at: now + 365 * 86_400,
        },
        &bureau,
        &mut rng,
    )?;
    println!(
        "basic credential: {} bytes; high credential: {} bytes",
        basic.len(),
        high.len()
    );

    step("The bureau publishes its status list (2 bits per entry, 2^20 entries)");
    let mut list = StatusList::new(Bits::Two, 1 << 20)?;
    let token = status_token(&shard_uri, &list, now, &bureau);
    println!("status list token: {} bytes", token.len());

    step("The hotel syncs the bureau's key and status list, then goes offline");
    let mut trust = TrustStore::new();
    trust.add(TrustedKey::new(bureau.public_jwk().clone()));
    let mut status = StatusStore::new();
    status.add_token(&token, &trust, now)?;
    let hotel = Verifier::new(trust.clone(), status.clone(), Policy::from_toml(HOTEL)?);
    let bank = Verifier::new(trust.clone(), status, Policy::from_toml(BANK)?);

    step("At the hotel desk: the wallet discloses name and ID number only");
    let nonce = "hotel-n-1";
    let hotel_aud = "https://hotel.example";
    let presentation = wallet::present(
        &basic,
        &holder_basic,
        &paths(&["family_name", "given_name", "id_number"]),
        nonce,
        hotel_aud,
        now,
    )?;
    println!("presentation: {} bytes", presentation.len());
    let verified = hotel.verify(&presentation, nonce, hotel_aud, now)?;
    println!(
        "hotel: accepted {} ({}) from {}",
        verified.credential_type.as_deref().unwrap_or("?"),
        verified.level.map(|l| l.as_str()).unwrap_or("?"),
        verified.issuer
    );
    for path in &verified.disclosed {
        println!("  disclosed {path}");
    }
    println!("  not disclosed: birthdate, sex, nationality, age_equal_or_over");

    step("At the bank: a basic credential is not enough");
    let bank_aud = "https://bank.example";
    let bank_claims = [
        "family_name",
        "given_name",
        "id_number",
        "birthdate",
        "address",
    ];
    let answer = wallet::present(
        &basic,
        &holder_basic,
        &paths(&bank_claims[..4]),
        "bank-n-1",
        bank_aud,
        now,
    )?;
    match bank.verify(&answer, "bank-n-1", bank_aud, now) {
        Ok(_) => anyhow::bail!("the bank accepted a basic credential"),
        Err(e) => println!("bank: rejected ({}): {e}", e.code()),
    }
    let answer = wallet::present(
        &high,
        &holder_high,
        &paths(&bank_claims),
        "bank-n-2",
        bank_aud,
        now,
    )?;
    let verified = bank.verify(&answer, "bank-n-2", bank_aud, now)?;
    println!(
        "bank: accepted the high credential ({} claims disclosed)",
        verified.disclosed.len()
    );

    step("Li Xuemei reports her phone lost: the bureau revokes the basic credential");
    list.set(basic_ref.idx, 1)?;
    let token = status_token(&shard_uri, &list, now + 60, &bureau);
    let mut status = StatusStore::new();
    status.add_token(&token, &trust, now + 60)?;
    let hotel = Verifier::new(trust, status, Policy::from_toml(HOTEL)?);
    let presentation = wallet::present(
        &basic,
        &holder_basic,
        &paths(&["family_name", "given_name", "id_number"]),
        "hotel-n-2",
        hotel_aud,
        now + 60,
    )?;
    match hotel.verify(&presentation, "hotel-n-2", hotel_aud, now + 60) {
        Ok(_) => anyhow::bail!("the hotel accepted a revoked credential"),
        Err(e) => println!("hotel, after syncing: rejected ({}): {e}", e.code()),
    }
    println!("\nThe story ran end to end.");
    Ok(())
}

fn paths(names: &[&str]) -> Vec<ClaimPath> {
    names.iter().map(|n| ClaimPath::parse_dotted(n)).collect()
}

fn status_token(uri: &str, list: &StatusList, now: i64, key: &SigningKey) -> String {
    StatusListToken {
        sub: uri.to_owned(),
        iat: now,
        exp: Some(now + 86_400),
        ttl: std::num::NonZeroU64::new(3_600),
        iss: Some(ISSUER.to_owned()),
        status_list: list.clone(),
    }
    .sign(key)
}
