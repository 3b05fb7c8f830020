//! The pieces of the journey: [`bureau::Bureau`] (the issuer service in-process),
//! [`wallet::DemoWallet`] (the citizen's side over HTTP) and [`desk::Desk`] (a relying party).
//!
//! The wallet here is a thin layer over the `wallet` crate (the one a messaging app embeds):
//! its encrypted store, OpenID4VCI receipt and OpenID4VP answers.

pub mod bureau;
pub mod desk;
pub mod qr;
pub mod wallet;

/// The current time in Unix seconds (the kit's clock, shared with the tests).
pub use testkit::now;
