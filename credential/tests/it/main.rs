//! Integration tests of the `credential` crate, built as one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mutations;
mod rejections;
mod rfc9901_examples;
