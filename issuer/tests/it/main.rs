//! Integration tests of the issuer: real SQLite in temporary directories, the real axum server on
//! 127.0.0.1:0, the real binary for restarts, real keys. One binary (`tests/it`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod client;
mod flows;
mod handlers;
mod refresh;
mod restart;
