//! Integration tests of the `credential` crate, built as one binary (ruma `tests/it/main.rs`).

// Test helpers outside `#[test]` functions panic on broken fixtures by design; clippy's
// `allow-unwrap-in-tests` covers only the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod schemas;
