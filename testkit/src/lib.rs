//! The test kit of the workspace: what the integration tests of `issuer`, `wallet`, `verifier`
//! and the root package set up the same way, written once.
//!
//! - [`TestIssuer`]: a real issuer (SQLite in a temporary directory, or a fresh PostgreSQL
//!   database) served by [`issuer::server::spawn`] on 127.0.0.1:0, with an admin, an officer
//!   and a registered messaging platform;
//! - [`postgres`]: the PostgreSQL test server, one fresh database per test;
//! - [`Platform`]: the messaging platform's key and its face-match attestations;
//! - [`id_number`], [`basic_claims`], [`high_claims`]: claims fixtures;
//! - [`Wallet`]: the OpenID4VCI 1.0 client steps (offer, token, nonce, credential, refresh),
//!   written from the specification, independent of the `wallet` crate;
//! - [`http`]: GET and POST helpers that fail the test on a transport error;
//! - [`now`]: the current time in Unix seconds.
//!
//! Test code: a failed setup step panics and so fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod claims;
pub mod http;
mod oid4vci;
mod platform;
pub mod postgres;
mod server;

pub use claims::{basic_claims, high_claims, id_number, BASIC_EXAMPLE, HIGH_EXAMPLE};
pub use oid4vci::{parse_offer_uri, proof, Redeemed, Wallet, PRE_AUTH};
pub use platform::Platform;
pub use postgres::Backend;
pub use server::{config, Builder, TestIssuer};

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
