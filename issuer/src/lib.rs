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
//! The library holds the logic ([`service::Issuer`] and its `impl` blocks in [`enrol`],
//! [`oid4vci`], [`status`], [`trust`]); [`server`] maps HTTP onto it; the `issuer` binary
//! (`src/cli`) parses arguments and calls the same operations. Storage ([`store`]) is a
//! domain-level interface with two backends: SQLite ([`db`]: one writer thread committing in
//! durable groups) and PostgreSQL ([`store::postgres`]: a connection pool, row locks and unique
//! keys so that replicas behave as one issuer).

pub mod audit;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod files;
pub mod keys;
pub mod qr;
pub mod secret;
pub mod server;
pub mod service;
pub mod status_changes;
pub mod store;

pub use error::ApiError;
pub use service::Issuer;
