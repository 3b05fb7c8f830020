//! Integration tests of the verifier: trust-bundle checks against hand-built bundles, and the
//! offline journey (pin, sync, verify) against a real issuer on 127.0.0.1:0 with the real
//! `verifier` binary. One binary (`tests/it`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bundle;
mod sync;
