//! The test kit of the workspace: what the integration tests of `issuer`, `wallet`, `verifier`
//! and the root package set up the same way, written once.
//!
//! - [`TestIssuer`]: a real issuer (SQLite in a temporary directory, or a fresh PostgreSQL
//!   database) served by [`issuer::server::spawn`] on 127.0.0.1:0, with an admin, an officer
//!   and a registered messaging platform;
//! - [`postgres`]: the PostgreSQL test server, one fresh database per test;
//! - [`Platform`]: the messaging platform's key and its face-match attestations;
//! - [`id_number`], [`basic_claims`], [`high_claims`]: claims fixtures;
//! - [`status_token`]: a signed Token Status List with one entry set or not;
//! - [`Wallet`]: the OpenID4VCI 1.0 client steps (offer, token, nonce, credential, refresh),
//!   written from the specification, independent of the `wallet` crate;
//! - [`cli`]: the command-line tools' shared checks (key generation);
//! - [`http`]: GET and POST helpers that fail the test on a transport error;
//! - [`now`]: the current time in Unix seconds.
//!
//! Test code: a failed setup step panics and so fails the test. The issuer on loopback and
//! the PostgreSQL databases are the default feature `issuer`; the demo, a normal build, uses
//! the fixtures without it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod claims;
pub mod cli;
pub mod http;
mod oid4vci;
mod platform;
#[cfg(feature = "issuer")]
pub mod postgres;
#[cfg(feature = "issuer")]
mod server;
mod status;

pub use claims::{basic_claims, high_claims, id_number, BASIC_EXAMPLE, HIGH_EXAMPLE};
pub use oid4vci::{parse_offer_uri, pre_authorized_code, proof, Redeemed, Wallet, PRE_AUTH};
pub use platform::Platform;
#[cfg(feature = "issuer")]
pub use postgres::Backend;
#[cfg(feature = "issuer")]
pub use server::{config, Builder, TestIssuer};
pub use status::status_token;

/// The JWT payload of an issued SD-JWT (`<jwt>~<disclosures>~`), unverified.
pub fn credential_payload(sd_jwt: &str) -> serde_json::Value {
    let jws = credential::jose::Jws::parse(sd_jwt.split('~').next().unwrap()).unwrap();
    serde_json::from_slice(jws.payload()).unwrap()
}

/// The status entry `(shard, idx)` an issued SD-JWT names (`status.status_list`).
pub fn status_entry(sd_jwt: &str) -> (i64, i64) {
    let p = credential_payload(sd_jwt);
    let s = &p["status"]["status_list"];
    let shard = s["uri"].as_str().unwrap().rsplit('/').next().unwrap();
    (shard.parse().unwrap(), s["idx"].as_i64().unwrap())
}

/// A tx_code that is not `right` (of the same length).
pub fn wrong_tx_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
