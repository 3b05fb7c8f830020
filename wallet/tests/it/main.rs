//! Integration tests of the wallet: SQLite in temporary directories, the real issuer server on
//! 127.0.0.1:0, hostile issuers and verifiers as small axum servers, real keys. One binary.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod cli;
mod dcql;
mod hostile;
mod jar;
mod perf;
mod present;
mod receive;
mod refresh;
mod support;
mod transport;
