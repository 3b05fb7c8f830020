//! The bureau's issuer service: enrolment at two assurance levels, OpenID4VCI 1.0
//! (pre-authorized code flow with `tx_code`, batch issuance), Token Status List, key rotation,
//! the root-signed trust bundle and an append-only audit trail, over SQLite (embedded default)
//! or PostgreSQL (several stateless replicas over one database).
//!
//! ```text
//!  officer ──► /enrol/{basic,high} ──► enrolment + offer ──► offer URI (QR) + tx_code
//!  wallet  ──► /token (code + tx_code) ──► /nonce ──► /credential (proofs) ──► SD-JWTs
//!  admin   ──► /admin/... revoke | suspend | reinstate ──► /status/{shard} (statuslist+jwt)
//!  verifier ◄── /trust-bundle (root-signed: keys + status lists), /.well-known/...
//! ```
//!
//! The library is in layers that import one way (`docs/architecture.md`): [`domain`] (records,
//! vocabularies, rules, [`domain::refusal::Refusal`], the clock), storage ([`store`]: a trait
//! with two backends, SQLite over `store::sqlite::db` with one writer thread committing in durable groups,
//! and PostgreSQL, [`store::postgres`], with a connection pool, row locks and unique keys so
//! that replicas behave as one issuer), [`service`] ([`service::Issuer`] and its `impl` blocks
//! in `service::enrol`, `service::oid4vci`, `service::status`, `service::trust`, ...), and
//! [`server`], which alone maps errors to HTTP. [`metrics`] holds the counters and histograms
//! `/metrics` serves. The `issuer` binary (`src/cli`) parses arguments and calls the same
//! operations.

pub mod config;
pub mod domain;
pub mod error;
pub mod files;
pub mod hsm;
pub mod keys;
pub mod metrics;
pub mod qr;
pub mod secret;
pub mod server;
pub mod service;
pub mod store;

pub use error::IssuerError;
pub use service::Issuer;
