//! The issuer's domain: its records, closed vocabularies and the rules on them, with no storage
//! or HTTP. It imports nothing else of the crate; `store`, `service`, `server` and the command
//! line all build on it. Time comes from a [`clock::Clock`] the issuer is given.
//!
//! Here: assurance levels, credential formats, the four credential configurations
//! (OpenID4VCI 1.0 section 12.2.4), officer roles and status values. Beside it: audit events
//! ([`audit`]), the clock ([`clock`]), signing-key vocabularies and withdrawals ([`keys`]), officers and platforms
//! ([`people`]), what the issuer refuses and why ([`refusal`]), and status-change records and status-list rules ([`status`]).

use std::fmt;

/// For a vocabulary enum with `ALL` and `as_str` (its stored name): `parse`, the inverse of
/// `as_str` over `ALL`, and `Display` as the stored name.
macro_rules! stored_names {
    ($t:ident) => {
        impl $t {
            /// Parses a stored name; `None` when it is not one of `ALL`.
            pub fn parse(text: &str) -> Option<$t> {
                $t::ALL.into_iter().find(|v| v.as_str() == text)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod audit;
pub mod clock;
pub mod keys;
pub mod people;
pub mod refusal;
pub mod status;

pub use credential::citizen::{Format, Level};

/// One of the four credential configurations: a level in a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigId {
    /// Assurance level.
    pub level: Level,
    /// Payload form.
    pub format: Format,
}

impl ConfigId {
    /// All four, in metadata order.
    pub const ALL: [ConfigId; 4] = [
        ConfigId::new(Level::Basic, Format::DcSdJwt),
        ConfigId::new(Level::Basic, Format::VcSdJwt),
        ConfigId::new(Level::High, Format::DcSdJwt),
        ConfigId::new(Level::High, Format::VcSdJwt),
    ];

    /// Builds one.
    pub const fn new(level: Level, format: Format) -> ConfigId {
        ConfigId { level, format }
    }

    /// The `credential_configuration_id`.
    pub fn as_str(self) -> &'static str {
        match (self.level, self.format) {
            (Level::Basic, Format::DcSdJwt) => "citizen_id_basic_dc_sd_jwt",
            (Level::Basic, Format::VcSdJwt) => "citizen_id_basic_vc_sd_jwt",
            (Level::High, Format::DcSdJwt) => "citizen_id_high_dc_sd_jwt",
            (Level::High, Format::VcSdJwt) => "citizen_id_high_vc_sd_jwt",
            // Both enums are non_exhaustive; a new variant gets an id when it is supported.
            _ => "unsupported",
        }
    }

    /// Parses a `credential_configuration_id`; `None` when unknown.
    pub fn parse(text: &str) -> Option<ConfigId> {
        ConfigId::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The configurations an enrolment at `level` is offered: both formats of that level.
    pub fn for_level(level: Level) -> [ConfigId; 2] {
        [
            ConfigId::new(level, Format::DcSdJwt),
            ConfigId::new(level, Format::VcSdJwt),
        ]
    }
}

impl fmt::Display for ConfigId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An officer's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// May enrol citizens.
    Officer,
    /// May also change credential status and manage keys.
    Admin,
}

impl Role {
    /// Stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "officer" => Some(Role::Officer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A status-list value (Token Status List section 7.1, two bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0x00 VALID.
    Valid,
    /// 0x01 INVALID: revoked, final.
    Revoked,
    /// 0x02 SUSPENDED: may be reinstated.
    Suspended,
}

impl Status {
    /// The two-bit value.
    pub fn bits(self) -> u8 {
        match self {
            Status::Valid => 0,
            Status::Revoked => 1,
            Status::Suspended => 2,
        }
    }

    /// From the stored value.
    pub fn from_bits(bits: i64) -> Option<Status> {
        match bits {
            0 => Some(Status::Valid),
            1 => Some(Status::Revoked),
            2 => Some(Status::Suspended),
            _ => None,
        }
    }

    /// Name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Revoked => "revoked",
            Status::Suspended => "suspended",
        }
    }
}

/// A status change an admin asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// Valid or suspended → revoked (final).
    Revoke,
    /// Valid → suspended.
    Suspend,
    /// Suspended → valid.
    Reinstate,
}

impl StatusAction {
    /// Name in URLs, commands and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusAction::Revoke => "revoke",
            StatusAction::Suspend => "suspend",
            StatusAction::Reinstate => "reinstate",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<StatusAction> {
        match text {
            "revoke" => Some(StatusAction::Revoke),
            "suspend" => Some(StatusAction::Suspend),
            "reinstate" => Some(StatusAction::Reinstate),
            _ => None,
        }
    }

    /// The status after the action, from `from`; `None` when the transition is not allowed
    /// (revocation is final; only a suspended credential is reinstated).
    pub fn apply(self, from: Status) -> Option<Status> {
        match (self, from) {
            (_, Status::Revoked) => None,
            (StatusAction::Revoke, _) => Some(Status::Revoked),
            (StatusAction::Suspend, Status::Valid) => Some(Status::Suspended),
            (StatusAction::Reinstate, Status::Suspended) => Some(Status::Valid),
            _ => None,
        }
    }
}

/// Seconds since the Unix epoch, by the system clock. The service reads its
/// [`crate::service::Issuer::now`] instead, so that tests can set the time.
pub fn now() -> i64 {
    use clock::Clock as _;
    clock::SystemClock.now()
}
