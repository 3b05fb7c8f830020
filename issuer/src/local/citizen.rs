use serde::{Deserialize, Serialize};

/// Assurance level (DESIGN.md "The story").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Proofed remotely with a face-match attestation.
    Basic,
    /// Proofed in person by an officer.
    High,
}

impl Level {
    /// The SD-JWT VC type.
    pub fn vct(self) -> &'static str {
        match self {
            Level::Basic => "urn:cn:citizen-id:basic:1",
            Level::High => "urn:cn:citizen-id:high:1",
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Basic => "basic",
            Level::High => "high",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "basic" => Some(Level::Basic),
            "high" => Some(Level::High),
            _ => None,
        }
    }
}

/// Payload form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// IETF SD-JWT VC.
    DcSdJwt,
    /// W3C VCDM 2.0 secured with SD-JWT.
    VcSdJwt,
}

impl Format {
    /// The `format` / `typ` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DcSdJwt => "dc+sd-jwt",
            Format::VcSdJwt => "vc+sd-jwt",
        }
    }

    /// Parses the `format` value.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "dc+sd-jwt" => Some(Format::DcSdJwt),
            "vc+sd-jwt" => Some(Format::VcSdJwt),
            _ => None,
        }
    }
}

/// An address (each part selectively disclosable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Full address text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street and number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City or county.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Province.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The physical card read at the counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdCard {
    /// Issuing public-security bureau.
    pub issuing_authority: String,
    /// `YYYY-MM-DD`.
    pub valid_until: String,
}

/// A citizen's claims as the bureau submits them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenClaims {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    /// ISO/IEC 5218: 1 male, 2 female, 0 unknown, 9 not applicable.
    pub sex: u8,
    /// ISO 3166-1 alpha-2 nationalities.
    pub nationality: Vec<String>,
    /// 18-character resident ID number.
    pub id_number: String,
    /// High only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// High only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
    /// High only: `data:image/jpeg;base64,...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portrait: Option<String>,
    /// High only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_card: Option<IdCard>,
}

impl std::fmt::Debug for CitizenClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Claim values are personal data: never in logs.
        f.write_str("CitizenClaims(..)")
    }
}

/// A claim failed validation. Names the claim, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A required claim is missing or empty.
    #[error("claim {name} is required at this level")]
    Missing {
        /// Claim name.
        name: &'static str,
    },
    /// A claim is present that this level does not carry.
    #[error("claim {name} is not allowed at this level")]
    NotAllowed {
        /// Claim name.
        name: &'static str,
    },
    /// A claim has the wrong form.
    #[error("claim {name} is invalid: expected {expected}")]
    Invalid {
        /// Claim name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
    },
}

fn valid_date(text: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, fmt).is_ok()
}

/// Checks an 18-character resident ID number (GB 11643-1999): 17 digits and an ISO 7064
/// MOD 11-2 check character.
pub fn valid_id_number(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17]
}

impl CitizenClaims {
    /// Validates the claims for `level`.
    ///
    /// # Errors
    /// The first failing check as a [`ClaimsError`].
    pub fn validate(&self, level: Level) -> Result<(), ClaimsError> {
        for (name, value) in [
            ("family_name", &self.family_name),
            ("given_name", &self.given_name),
        ] {
            if value.trim().is_empty() || value.len() > 200 {
                return Err(ClaimsError::Missing { name });
            }
        }
        if !valid_date(&self.birthdate) {
            return Err(ClaimsError::Invalid {
                name: "birthdate",
                expected: "a date YYYY-MM-DD",
            });
        }
        if ![0, 1, 2, 9].contains(&self.sex) {
            return Err(ClaimsError::Invalid {
                name: "sex",
                expected: "ISO/IEC 5218 code 0, 1, 2 or 9",
            });
        }
        if self.nationality.is_empty()
            || !self
                .nationality
                .iter()
                .all(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ClaimsError::Invalid {
                name: "nationality",
                expected: "ISO 3166-1 alpha-2 codes",
            });
        }
        if !valid_id_number(&self.id_number) {
            return Err(ClaimsError::Invalid {
                name: "id_number",
                expected: "18 characters with a valid check digit",
            });
        }
        match level {
            Level::Basic => {
                for (name, present) in [
                    ("address", self.address.is_some()),
                    ("ethnicity", self.ethnicity.is_some()),
                    ("portrait", self.portrait.is_some()),
                    ("id_card", self.id_card.is_some()),
                ] {
                    if present {
                        return Err(ClaimsError::NotAllowed { name });
                    }
                }
            }
            Level::High => {
                if self.address.is_none() {
                    return Err(ClaimsError::Missing { name: "address" });
                }
                if self.ethnicity.as_deref().is_none_or(str::is_empty) {
                    return Err(ClaimsError::Missing { name: "ethnicity" });
                }
                match &self.portrait {
                    None => return Err(ClaimsError::Missing { name: "portrait" }),
                    Some(p) if !p.starts_with("data:image/jpeg;base64,") || p.len() > 64_000 => {
                        return Err(ClaimsError::Invalid {
                            name: "portrait",
                            expected: "a JPEG data URL under 64 kB",
                        })
                    }
                    Some(_) => {}
                }
                match &self.id_card {
                    None => return Err(ClaimsError::Missing { name: "id_card" }),
                    Some(card) if !valid_date(&card.valid_until) => {
                        return Err(ClaimsError::Invalid {
                            name: "id_card",
                            expected: "valid_until as YYYY-MM-DD",
                        })
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// `age_equal_or_over` for 16, 18 and 60 at `now` (Unix seconds).
    pub fn age_over(&self, now: i64) -> [(u32, bool); 3] {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let today = time::OffsetDateTime::from_unix_timestamp(now)
            .map(|t| t.date())
            .unwrap_or(time::Date::MIN);
        let age = time::Date::parse(&self.birthdate, fmt)
            .map(|b| {
                let mut years = today.year() - b.year();
                if (today.month() as u8, today.day()) < (b.month() as u8, b.day()) {
                    years -= 1;
                }
                years
            })
            .unwrap_or(0);
        [16, 18, 60].map(|n| (n as u32, age >= n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_number_check_digit() {
        assert!(valid_id_number("11010519491231002X"));
        assert!(!valid_id_number("110105194912310021"));
        assert!(!valid_id_number("11010519491231002"));
    }
}
