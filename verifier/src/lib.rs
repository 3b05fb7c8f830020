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
//! The relying party's side of OpenID4VP 1.0 is data too: [`request`] builds the request (DCQL
//! from the policy, the nonce from an injected CSPRNG) and [`answer`] reads the wallet's
//! `vp_token`; showing QR codes and remembering nonces is the `verifier` binary's job.
//!
//! Offline, both stores come from one root-signed trust bundle ([`bundle`]) and the
//! root-signed deltas applied on it ([`delta`], [`trust_state`]): pin the bureau's root once,
//! verify each synced bundle or delta against it, then build the stores from the state.

pub mod answer;
pub mod bundle;
pub mod delta;
mod envelope;
pub mod policy;
pub mod request;
pub mod status;
pub mod trust;
pub mod trust_state;
pub mod verify;
pub mod withdrawal;

pub use bundle::{BundleError, VerifiedBundle};
pub use delta::{DeltaError, VerifiedDelta};
pub use policy::{Policy, PolicyError, RequestProfile};
pub use status::{StatusError, StatusOutcome, StatusStore};
pub use trust::{KeyLimit, TrustError, TrustStore, TrustedKey, Withdrawal};
pub use trust_state::TrustState;
pub use verify::{Format, VerifiedPresentation, Verifier, VerifierError};
