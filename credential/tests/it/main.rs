//! Integration tests of the `credential` crate, built as one binary (ruma `tests/it/main.rs`).

mod schemas;
