//! The issuer's test setup: the shared kit (`testkit`: the issuer on loopback, the
//! PostgreSQL test databases, claims and attestation fixtures, the OpenID4VCI client steps),
//! and what only these tests use: verifying an issued credential two ways, and running a test
//! on both storage backends.

use credential::b64;
use credential::jose::{Jws, PublicJwk, SigningKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use testkit::postgres::{fresh_postgres_database, postgres_base_url, PG_GATE};
pub use testkit::*;

/// Enrols citizen `serial` at the high level and redeems the offer in `wallet`.
pub async fn redeemed(t: &TestIssuer, wallet: &Wallet, serial: u32) -> Redeemed {
    let offer = t.enrol_high(&high_claims(serial)).await;
    wallet.redeem_offer(&offer).await
}

/// An issuer on `backend`, the wallet of citizen `serial` and its redeemed offer.
pub async fn redeemed_on(backend: Backend, serial: u32) -> (TestIssuer, Wallet, Redeemed) {
    let t = TestIssuer::start_on(backend).await.unwrap();
    let wallet = Wallet::new(serial.into());
    let grant = redeemed(&t, &wallet, serial).await;
    (t, wallet, grant)
}

/// An error answer: HTTP `status`, the OAuth `error` code `code`, and an `error_description`
/// that contains `text`.
pub fn assert_refused(answer: (u16, &Value), status: u16, code: &str, text: &str) {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(text), "{body}");
}

/// The URL in the first line `issuer serve` prints (`issuer listening on URL`).
pub fn listening_url(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> String {
    let first = lines.next().unwrap().unwrap();
    first
        .strip_prefix("issuer listening on ")
        .unwrap()
        .to_owned()
}

/// Runs the `issuer` binary with `args`, logging warnings only.
pub fn issuer_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_issuer"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Verifies an issued SD-JWT against the issuer's published keys; returns the JWT payload and
/// the disclosed claims by name.
pub async fn verify_sd_jwt(
    http: &reqwest::Client,
    issuer: &str,
    sd_jwt: &str,
) -> (Value, Map<String, Value>) {
    let meta: Value =
        testkit::http::get_json(http, &format!("{issuer}/.well-known/jwt-vc-issuer")).await;
    let mut parts = sd_jwt.split('~');
    let jwt = Jws::parse(parts.next().unwrap()).unwrap();
    let kid = jwt.header().kid.clone().unwrap();
    let jwk = meta["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("signing key published");
    let mut jwk = jwk.clone();
    jwk.as_object_mut().unwrap().remove("use");
    let key = PublicJwk::from_value(&jwk).unwrap();
    jwt.verify(&key).expect("credential signature verifies");
    // The full RFC 9901 verification of the shared engine: signature, every disclosure digest
    // referenced exactly once, times, cnf.
    use credential::sd_jwt::{KeyBinding, Limits, SdJwt, VerifyOptions};
    let parsed = SdJwt::parse(sd_jwt, &Limits::default()).expect("sd-jwt parses");
    let verified = parsed
        .verify(&key, &VerifyOptions::new(now(), KeyBinding::NotRequired))
        .expect("sd-jwt verifies");
    assert!(verified.holder_key.is_some());
    let payload: Value = serde_json::from_slice(jwt.payload()).unwrap();
    let disclosures: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    let mut referenced = payload.to_string();
    let mut disclosed = Map::new();
    for d in &disclosures {
        let arr: Value = serde_json::from_slice(&b64::decode(d).unwrap()).unwrap();
        referenced.push_str(&arr[2].to_string());
        disclosed.insert(arr[1].as_str().unwrap().to_owned(), arr[2].clone());
    }
    for d in &disclosures {
        let digest = b64::encode(Sha256::digest(d.as_bytes()));
        assert_eq!(
            referenced.matches(&digest).count(),
            1,
            "each disclosure digest is referenced once"
        );
    }
    (payload, disclosed)
}

/// Verifies an issued credential the way a relying party does, with the `verifier` crate:
/// trust from `/.well-known/jwt-vc-issuer`, revocation state from the status-list token the
/// credential points at, and a presentation of `claims` with a KB-JWT by `holder`.
pub async fn verify_with_verifier(
    http: &reqwest::Client,
    issuer: &str,
    sd_jwt: &str,
    holder: &SigningKey,
    claims: &[&str],
) -> Result<verifier::VerifiedPresentation, verifier::VerifierError> {
    use credential::sd_jwt::{add_key_binding, ClaimPath, Limits, SdJwt};
    let meta = testkit::http::get_text(http, &format!("{issuer}/.well-known/jwt-vc-issuer")).await;
    let trust = verifier::TrustStore::from_json(&meta).unwrap();
    let parsed = SdJwt::parse(sd_jwt, &Limits::default()).unwrap();
    let payload: Value = serde_json::from_slice(
        Jws::parse(sd_jwt.split('~').next().unwrap())
            .unwrap()
            .payload(),
    )
    .unwrap();
    let status_uri = match payload["status"]["status_list"]["uri"].as_str() {
        Some(uri) => uri.to_owned(),
        None => payload["credentialStatus"][0]["statusListCredential"]
            .as_str()
            .unwrap()
            .trim_end_matches("/revocation")
            .to_owned(),
    };
    let token = testkit::http::get_text(http, &status_uri).await;
    let mut status = verifier::StatusStore::new();
    assert_eq!(status.add_token(&token, &trust, now()).unwrap(), status_uri);
    let policy = verifier::Policy {
        required_claims: claims.iter().map(|c| ClaimPath::parse_dotted(c)).collect(),
        ..Default::default()
    };
    // The W3C form keeps the claims inside `credentialSubject`.
    let requested: Vec<ClaimPath> = claims
        .iter()
        .map(|c| match payload.get("credentialSubject") {
            Some(_) => ClaimPath::parse_dotted(&format!("credentialSubject.{c}")),
            None => ClaimPath::parse_dotted(c),
        })
        .collect();
    let presentation = parsed.select(&requested).unwrap();
    let presentation = add_key_binding(
        &presentation,
        holder,
        "n-issuer-test",
        "https://rp.example",
        now(),
    );
    verifier::Verifier::new(trust, status, policy).verify(
        &presentation,
        "n-issuer-test",
        "https://rp.example",
        now(),
    )
}

/// Runs each named `async fn NAME(backend: Backend)` test on SQLite (`sqlite::NAME`) and on
/// PostgreSQL (`postgres::NAME`, skipped with a message when no server is configured unless
/// `CI_REQUIRE_POSTGRES=1`).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::client::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let _gate = $crate::client::PG_GATE.read().await;
                    if $crate::client::postgres_base_url().is_some() {
                        super::$name($crate::client::Backend::Postgres).await;
                    }
                }
            )*
        }
    };
}
