//! Offline verification of citizen-ID presentations for relying parties (a hotel desk, a bank
//! branch): the trust store of issuer keys, the revocation state, and the relying party's
//! policy, all held locally.
//!
//! This library does no I/O and depends on no network or server crate, so it embeds in a
//! kiosk, a phone or a bank's core system. Callers load trust material, status-list tokens and
//! policy files and pass the current time.
//!
//! ```text
//! TrustStore::from_json(jwks | did.json)  ─┐
//! StatusStore::add_token(statuslist+jwt)  ─┼─> Verifier::verify(presentation, nonce, aud, now)
//! Policy::from_toml(policy.toml)          ─┘      -> VerifiedPresentation | VerifierError
//! ```
//!
//! Offline, both stores come from one root-signed trust bundle ([`bundle`]): pin the bureau's
//! root once, verify each synced bundle against it, then build the stores from it.

pub mod bundle;
pub mod policy;
pub mod status;
pub mod trust;
pub mod verify;

pub use bundle::{BundleError, VerifiedBundle};
pub use policy::{Policy, PolicyError};
pub use status::{StatusError, StatusOutcome, StatusStore};
pub use trust::{TrustError, TrustStore, TrustedKey};
pub use verify::{Format, VerifiedPresentation, Verifier, VerifierError};
