//! The verifier's integration tests, built as one binary (`it`): the library on real
//! credentials (`library`), the real `verifier` binary (`cli`), trust-bundle checks against
//! hand-built bundles (`bundle`), and the offline journey (pin, sync, verify) against a real
//! issuer on 127.0.0.1:0 (`sync`), and delta sync with every bad delta refused (`delta`).

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers here are test code too,
// and a panic is how they report a broken fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod bundle;
mod cli;
mod delta;
mod fixtures;
mod keys;
mod library;
mod status_issuer;
mod sync;
