//! The pieces of the journey: [`bureau::Bureau`] (the issuer service in-process),
//! [`wallet::DemoWallet`] (the citizen's side over HTTP) and [`desk::Desk`] (a relying party).
//!
//! The wallet here is a small client written from OpenID4VCI 1.0 and OpenID4VP 1.0 for the
//! demo and the end-to-end tests; the `wallet` crate is the one a messaging app embeds.

pub mod bureau;
pub mod desk;
pub mod qr;
pub mod wallet;

/// The current time in Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
