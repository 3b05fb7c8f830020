//! The assurance level of a citizen-ID credential and the credential type that carries it.
//!
//! The level is a property of the credential's *type*: `vct` in the `dc+sd-jwt` form, the `type`
//! array in the `vc+sd-jwt` form. Both are always disclosed. A verifier reads the level from
//! there and never from a selectively disclosable claim.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `vct` of the basic credential.
pub const VCT_BASIC: &str = "urn:cn:citizen-id:basic:1";
/// The `vct` of the high credential. High extends basic (SD-JWT VC type metadata `extends`).
pub const VCT_HIGH: &str = "urn:cn:citizen-id:high:1";

/// An assurance level. Ordered: `Level::High > Level::Basic`, so a relying party's minimum is a
/// comparison (`level >= Level::Basic`).
///
/// Serialises as `"basic"` / `"high"` (for configuration files, never inside a credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Level {
    /// "Lightweight edition": proofed remotely by liveness and face match against the bureau's
    /// portrait.
    Basic,
    /// "Upgraded edition": proofed in person by a bureau officer who read the physical ID card.
    High,
}

impl Level {
    /// Both levels, lowest first.
    pub const ALL: [Level; 2] = [Level::Basic, Level::High];

    /// The credential type of this level: the SD-JWT VC `vct`, which is also the level entry of
    /// the W3C `type` array.
    pub fn vct(self) -> &'static str {
        match self {
            Level::Basic => VCT_BASIC,
            Level::High => VCT_HIGH,
        }
    }

    /// The short name: `basic` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Basic => "basic",
            Level::High => "high",
        }
    }

    /// The level a `vct` names.
    ///
    /// # Errors
    /// [`LevelError::UnknownVct`] for anything but the two citizen-ID types (exact match).
    pub fn from_vct(vct: &str) -> Result<Level, LevelError> {
        match vct {
            VCT_BASIC => Ok(Level::Basic),
            VCT_HIGH => Ok(Level::High),
            _ => Err(LevelError::UnknownVct),
        }
    }

    /// The level named by the entries of a W3C `type` array: exactly one entry must be one of the
    /// two citizen-ID types; other entries (`VerifiableCredential`, `CitizenIdCredential`) are
    /// ignored here.
    ///
    /// # Errors
    /// [`LevelError::NoLevelType`] when no entry names a level; [`LevelError::SeveralLevelTypes`]
    /// when more than one does.
    pub fn from_vc_types<'a>(
        types: impl IntoIterator<Item = &'a str>,
    ) -> Result<Level, LevelError> {
        let mut found = None;
        for entry in types {
            if let Ok(level) = Level::from_vct(entry) {
                if found.replace(level).is_some() {
                    return Err(LevelError::SeveralLevelTypes);
                }
            }
        }
        found.ok_or(LevelError::NoLevelType)
    }

    /// Parses the short name `basic` or `high` (lowercase, exact).
    ///
    /// # Errors
    /// [`LevelError::UnknownName`] for anything else.
    pub fn parse(name: &str) -> Result<Level, LevelError> {
        match name {
            "basic" => Ok(Level::Basic),
            "high" => Ok(Level::High),
            _ => Err(LevelError::UnknownName),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = LevelError;
    /// Accepts the short name or the `vct`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::parse(s).or_else(|_| Level::from_vct(s).map_err(|_| LevelError::UnknownName))
    }
}

/// A text does not name a citizen-ID level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LevelError {
    /// The `vct` is not one of the citizen-ID types.
    #[error("vct is not a citizen-id type")]
    UnknownVct,
    /// The name is neither `basic` nor `high`.
    #[error("level must be basic or high")]
    UnknownName,
    /// No entry of the `type` array is a citizen-ID type.
    #[error("type array names no citizen-id level")]
    NoLevelType,
    /// More than one entry of the `type` array is a citizen-ID type.
    #[error("type array names more than one citizen-id level")]
    SeveralLevelTypes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vct_round_trip() {
        for level in Level::ALL {
            assert_eq!(Level::from_vct(level.vct()), Ok(level));
            assert_eq!(Level::parse(level.as_str()), Ok(level));
            assert_eq!(level.to_string().parse::<Level>(), Ok(level));
            assert_eq!(level.vct().parse::<Level>(), Ok(level));
        }
        assert_eq!(Level::Basic.vct(), "urn:cn:citizen-id:basic:1");
        assert_eq!(Level::High.vct(), "urn:cn:citizen-id:high:1");
    }

    #[test]
    fn rejects_other_names() {
        assert_eq!(
            Level::from_vct("urn:cn:citizen-id:high:2"),
            Err(LevelError::UnknownVct)
        );
        assert_eq!(
            Level::from_vct("URN:CN:CITIZEN-ID:HIGH:1"),
            Err(LevelError::UnknownVct)
        );
        assert_eq!(Level::from_vct("high"), Err(LevelError::UnknownVct));
        assert_eq!(Level::parse("High"), Err(LevelError::UnknownName));
        assert_eq!(Level::parse(VCT_HIGH), Err(LevelError::UnknownName));
        assert_eq!("medium".parse::<Level>(), Err(LevelError::UnknownName));
    }

    #[test]
    fn high_outranks_basic() {
        assert!(Level::High > Level::Basic);
        assert_eq!(Level::ALL.iter().max(), Some(&Level::High));
        assert!(Level::Basic >= Level::Basic);
    }

    #[test]
    fn level_from_vc_types() {
        let t = ["VerifiableCredential", "CitizenIdCredential", VCT_HIGH];
        assert_eq!(Level::from_vc_types(t), Ok(Level::High));
        assert_eq!(
            Level::from_vc_types(["VerifiableCredential", "CitizenIdCredential"]),
            Err(LevelError::NoLevelType)
        );
        assert_eq!(
            Level::from_vc_types([VCT_BASIC, VCT_HIGH]),
            Err(LevelError::SeveralLevelTypes)
        );
        assert_eq!(
            Level::from_vc_types([VCT_BASIC, VCT_BASIC]),
            Err(LevelError::SeveralLevelTypes)
        );
    }

    #[test]
    fn serde_short_names() {
        assert_eq!(serde_json::to_string(&Level::High).unwrap(), "\"high\"");
        assert_eq!(
            serde_json::from_str::<Level>("\"basic\"").unwrap(),
            Level::Basic
        );
        assert!(serde_json::from_str::<Level>("\"urn:cn:citizen-id:basic:1\"").is_err());
    }
}
