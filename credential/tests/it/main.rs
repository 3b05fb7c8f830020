//! The crate's integration tests, built as one binary (`it`).

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers here are test code too,
// and a panic is how they report a broken vector or fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod citizen_issue;
mod compact_v2;
mod fuzz_regressions;
mod mutations;
mod oid4vci_examples;
mod rejections;
mod rfc9901_examples;
mod schemas;
mod status_list;
mod support;
