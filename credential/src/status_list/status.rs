use std::fmt;

use super::error::StatusListError;

/// The number of bits each entry of a Status List takes (draft-ietf-oauth-status-list section
/// 4.1 step 1). The set is closed by the specification: 1, 2, 4 or 8, so one entry never spans
/// two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Bits {
    /// One bit per entry: `Valid` and `Invalid` only.
    One,
    /// Two bits per entry: adds `Suspended` and the application-specific 0x03. The citizen-ID
    /// lists use this width.
    Two,
    /// Four bits per entry.
    Four,
    /// Eight bits per entry.
    Eight,
}

impl Bits {
    /// Every width, narrowest first.
    pub const ALL: [Bits; 4] = [Bits::One, Bits::Two, Bits::Four, Bits::Eight];

    /// The width as the number the JSON `bits` member carries (section 4.2).
    pub fn as_u8(self) -> u8 {
        match self {
            Bits::One => 1,
            Bits::Two => 2,
            Bits::Four => 4,
            Bits::Eight => 8,
        }
    }

    /// The largest status value an entry of this width holds: 1, 3, 15 or 255.
    pub fn max_value(self) -> u8 {
        match self {
            Bits::One => 0x01,
            Bits::Two => 0x03,
            Bits::Four => 0x0f,
            Bits::Eight => 0xff,
        }
    }

    /// Parses the JSON `bits` member (section 4.2).
    ///
    /// # Errors
    /// [`StatusListError::UnsupportedBits`] for anything but 1, 2, 4 and 8.
    pub fn from_u64(bits: u64) -> Result<Bits, StatusListError> {
        match bits {
            1 => Ok(Bits::One),
            2 => Ok(Bits::Two),
            4 => Ok(Bits::Four),
            8 => Ok(Bits::Eight),
            _ => Err(StatusListError::UnsupportedBits { bits }),
        }
    }
}

impl TryFrom<u8> for Bits {
    type Error = StatusListError;

    fn try_from(bits: u8) -> Result<Bits, StatusListError> {
        Bits::from_u64(u64::from(bits))
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

/// The status of one Referenced Token, read from its Status List entry
/// (draft-ietf-oauth-status-list section 7.1).
///
/// Build one from a raw entry with [`Status::from_raw`] (every `u8` maps to exactly one
/// variant) and get the raw value back with [`Status::raw`]. The payload of
/// [`Status::ApplicationSpecific`] and [`Status::Reserved`] is the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 0x00 `VALID`: the token is valid, correct or legal.
    Valid,
    /// 0x01 `INVALID`: the token is revoked, annulled, taken back, recalled or cancelled.
    Invalid,
    /// 0x02 `SUSPENDED`: the token is temporarily invalid.
    Suspended,
    /// 0x03 or 0x0C..=0x0F: reserved for application-specific use; the raw value.
    ApplicationSpecific(u8),
    /// Any other value: reserved for future registration; the raw value. Treat as not valid.
    Reserved(u8),
}

impl Status {
    /// The status an entry's raw value denotes.
    pub fn from_raw(value: u8) -> Status {
        match value {
            0x00 => Status::Valid,
            0x01 => Status::Invalid,
            0x02 => Status::Suspended,
            0x03 | 0x0c..=0x0f => Status::ApplicationSpecific(value),
            other => Status::Reserved(other),
        }
    }

    /// The raw entry value.
    pub fn raw(self) -> u8 {
        match self {
            Status::Valid => 0x00,
            Status::Invalid => 0x01,
            Status::Suspended => 0x02,
            Status::ApplicationSpecific(value) | Status::Reserved(value) => value,
        }
    }

    /// Whether the token may be accepted on this status alone: only [`Status::Valid`]. The
    /// token's own checks (`exp` and the rest) still come first (section 8.3).
    pub fn is_valid(self) -> bool {
        self == Status::Valid
    }
}

impl From<u8> for Status {
    fn from(value: u8) -> Status {
        Status::from_raw(value)
    }
}

impl From<Status> for u8 {
    fn from(status: Status) -> u8 {
        status.raw()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Valid => f.write_str("valid"),
            Status::Invalid => f.write_str("invalid"),
            Status::Suspended => f.write_str("suspended"),
            Status::ApplicationSpecific(v) => write!(f, "application-specific (0x{v:02x})"),
            Status::Reserved(v) => write!(f, "reserved (0x{v:02x})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_closed_set() {
        for bits in Bits::ALL {
            assert_eq!(Bits::from_u64(u64::from(bits.as_u8())), Ok(bits));
            assert_eq!(
                u16::from(bits.max_value()) + 1,
                1u16 << bits.as_u8(),
                "{bits}"
            );
        }
        for bad in [0u64, 3, 5, 7, 16, 256, u64::MAX] {
            assert_eq!(
                Bits::from_u64(bad),
                Err(StatusListError::UnsupportedBits { bits: bad })
            );
        }
        assert_eq!(
            Bits::try_from(3u8),
            Err(StatusListError::UnsupportedBits { bits: 3 })
        );
    }

    #[test]
    fn status_values_section_7_1() {
        assert_eq!(Status::from_raw(0), Status::Valid);
        assert_eq!(Status::from_raw(1), Status::Invalid);
        assert_eq!(Status::from_raw(2), Status::Suspended);
        assert_eq!(Status::from_raw(3), Status::ApplicationSpecific(3));
        assert_eq!(Status::from_raw(0x0c), Status::ApplicationSpecific(0x0c));
        assert_eq!(Status::from_raw(0x0f), Status::ApplicationSpecific(0x0f));
        assert_eq!(Status::from_raw(0x04), Status::Reserved(0x04));
        assert_eq!(Status::from_raw(0xff), Status::Reserved(0xff));
        for raw in 0..=u8::MAX {
            assert_eq!(Status::from_raw(raw).raw(), raw);
            assert_eq!(u8::from(Status::from(raw)), raw);
        }
        assert!(Status::Valid.is_valid());
        assert!(!Status::Suspended.is_valid());
        assert_eq!(Status::Invalid.to_string(), "invalid");
    }
}
