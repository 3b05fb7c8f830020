//! The verifier's integration tests, built as one binary (`it`): the library on real
//! credentials (`library`) and the real `verifier` binary (`cli`).

// `allow-unwrap-in-tests` covers `#[test]` functions only; the helpers here are test code too,
// and a panic is how they report a broken fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod fixtures;
mod library;
