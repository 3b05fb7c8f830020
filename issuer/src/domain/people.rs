//! The people and systems the issuer knows: officers and registered messaging platforms, as
//! listed.

use serde::Serialize;

/// An officer as listed.
#[derive(Debug, Clone, Serialize)]
pub struct OfficerInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// Unix time.
    pub created_at: i64,
}

/// A registered messaging platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformInfo {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Thumbprint of its key (the attestation's `kid`).
    pub kid: String,
    /// Unix time.
    pub created_at: i64,
}
