//! Integration tests of the issuer: real SQLite in temporary directories (and PostgreSQL when
//! `ISSUER_TEST_DATABASE_URL` is set: the shared suite and the replica tests), the real axum server on
//! 127.0.0.1:0, the real binary for restarts, real keys. One binary (`tests/it`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod at_rest;
mod citizen_hold;
mod client;
mod data_dir;
mod flows;
mod handlers;
mod hold_lifecycle;
mod holder;
mod hsm;
mod limits;
mod logs;
mod metrics;
mod no_echo;
mod nonce;
mod openapi;
mod ops;
mod pg_tls;
mod refresh;
mod replicas;
mod restart;
mod schema;
mod sign;
mod store_suite;
mod withdraw;
