//! Typed citizen-ID claims, validated for a level.
//!
//! [`CitizenClaims`] is the issuer's input: the claims a bureau enrolment (or a claims file for
//! `issuer sign`) supplies, checked once, at the edge. It cannot hold an invalid value: every
//! text follows the text rule, `id_number` has a valid check character, `birthdate` and `sex`
//! agree with `id_number`, and the high-only claims are present exactly when the level is high.
//!
//! The input format is ours, so it denies unknown members (at every depth) and duplicate keys,
//! and it refuses the computed claim `age_equal_or_over`, which
//! [`CitizenClaims::disclosable_claims`] adds at issuance from the issuance date.
//!
//! Input JSON (a basic citizen; the high level adds `address`, `ethnicity`, `portrait`,
//! `id_card`):
//!
//! ```json
//! {
//!   "family_name": "李", "given_name": "雪梅", "birthdate": "1992-05-17", "sex": 2,
//!   "nationality": "CN", "id_number": "110105199205179985"
//! }
//! ```
//!
//! Parsing is by hand rather than through `serde` derive: serde's messages echo the offending
//! value (`invalid type: string "李", expected ...`), and claim values must never reach an error.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use time::{Date, Month};

use super::value::{
    format_date, is_country_code, is_text, parse_date, parse_json_strict, JsonError,
    COUNTRY_EXPECTED, DATE_EXPECTED, TEXT_EXPECTED,
};
use super::{ClaimsError, IdNumber, Level, Portrait, Sex};

/// The `age_equal_or_over` thresholds the issuer computes: 16 (labour and civil capacity by own
/// income), 18 (majority), 60 (senior concessions).
pub const AGE_THRESHOLDS: [u8; 3] = [16, 18, 60];

/// The personal claims of every citizen-ID credential, as top-level payload members (dc form) or
/// `credentialSubject` members (vc form). Each one is selectively disclosable.
pub const BASIC_CLAIMS: [&str; 7] = [
    "family_name",
    "given_name",
    "birthdate",
    "sex",
    "nationality",
    "id_number",
    "age_equal_or_over",
];

/// The personal claims only a high credential carries, each selectively disclosable.
pub const HIGH_ONLY_CLAIMS: [&str; 4] = ["address", "ethnicity", "portrait", "id_card"];

/// The members of `address` (OpenID Connect Core 5.1.1 names), each selectively disclosable.
pub const ADDRESS_MEMBERS: [&str; 6] = [
    "formatted",
    "street_address",
    "locality",
    "region",
    "postal_code",
    "country",
];

/// The members of `id_card`, each selectively disclosable.
pub const ID_CARD_MEMBERS: [&str; 2] = ["issuing_authority", "valid_until"];

/// The `id_card.valid_until` value of a card without an end date ("长期", issued from age 46).
pub const LONG_TERM: &str = "long-term";

/// Largest claims JSON text [`CitizenClaims::from_json`] parses: 128 KiB, room for the largest
/// portrait and the other claims.
pub const MAX_CLAIMS_JSON_BYTES: usize = 128 * 1024;

const AGE_CLAIM: &str = "age_equal_or_over";
const ID_NUMBER_EXPECTED: &str = "an 18-character resident identity number as a json string";
const SEX_EXPECTED: &str = "the iso/iec 5218 code 1 (male) or 2 (female) as a json integer";
const OBJECT_EXPECTED: &str = "a json object";
const VALIDITY_EXPECTED: &str = "a calendar date YYYY-MM-DD or \"long-term\"";

/// Whether an ID card has an end date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CardValidity {
    /// Valid through this date (inclusive); serialised `YYYY-MM-DD`.
    Until(Date),
    /// No end date ("长期"); serialised as the string [`LONG_TERM`].
    LongTerm,
}

/// The physical ID card the high enrolment read.
#[derive(Clone, PartialEq, Eq)]
pub struct IdCard {
    issuing_authority: String,
    valid_until: CardValidity,
}

impl IdCard {
    /// The issuing public-security bureau as printed on the card ("签发机关").
    pub fn issuing_authority(&self) -> &str {
        &self.issuing_authority
    }

    /// The card's end of validity.
    pub fn valid_until(&self) -> CardValidity {
        self.valid_until
    }

    /// Whether the card is valid on `day` (the end date itself included).
    pub fn is_valid_on(&self, day: Date) -> bool {
        match self.valid_until {
            CardValidity::Until(end) => day <= end,
            CardValidity::LongTerm => true,
        }
    }

    fn to_value(&self) -> Value {
        let valid_until = match self.valid_until {
            CardValidity::Until(date) => format_date(date),
            CardValidity::LongTerm => LONG_TERM.to_owned(),
        };
        let mut map = Map::new();
        map.insert(
            "issuing_authority".into(),
            self.issuing_authority.clone().into(),
        );
        map.insert("valid_until".into(), valid_until.into());
        Value::Object(map)
    }
}

/// A postal address with the OpenID Connect Core 5.1.1 member names. `street_address`,
/// `locality`, `region` and `country` are required; `formatted` and `postal_code` are optional
/// (the ID card prints no postcode).
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    formatted: Option<String>,
    street_address: String,
    locality: String,
    region: String,
    postal_code: Option<String>,
    country: String,
}

impl Address {
    /// The full address as one text, as the ID card prints it ("住址").
    pub fn formatted(&self) -> Option<&str> {
        self.formatted.as_deref()
    }
    /// Street, number, building and flat.
    pub fn street_address(&self) -> &str {
        &self.street_address
    }
    /// City district or county.
    pub fn locality(&self) -> &str {
        &self.locality
    }
    /// Province, autonomous region or municipality.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The postcode.
    pub fn postal_code(&self) -> Option<&str> {
        self.postal_code.as_deref()
    }
    /// ISO 3166-1 alpha-2 country code.
    pub fn country(&self) -> &str {
        &self.country
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(formatted) = &self.formatted {
            map.insert("formatted".into(), formatted.clone().into());
        }
        map.insert("street_address".into(), self.street_address.clone().into());
        map.insert("locality".into(), self.locality.clone().into());
        map.insert("region".into(), self.region.clone().into());
        if let Some(postal_code) = &self.postal_code {
            map.insert("postal_code".into(), postal_code.clone().into());
        }
        map.insert("country".into(), self.country.clone().into());
        Value::Object(map)
    }
}

/// The claims only a high credential carries; all four are required at that level.
#[derive(Clone, PartialEq, Eq)]
pub struct HighClaims {
    address: Address,
    ethnicity: String,
    portrait: Portrait,
    id_card: IdCard,
}

impl HighClaims {
    /// The registered address.
    pub fn address(&self) -> &Address {
        &self.address
    }
    /// The ethnic group as printed on the card ("民族", e.g. `汉`).
    pub fn ethnicity(&self) -> &str {
        &self.ethnicity
    }
    /// The portrait.
    pub fn portrait(&self) -> &Portrait {
        &self.portrait
    }
    /// The card read at enrolment.
    pub fn id_card(&self) -> &IdCard {
        &self.id_card
    }
}

/// The claims of one citizen, validated for one [`Level`].
///
/// `Debug` shows only the level and the masked id number; `Serialize` writes the input form
/// ([`CitizenClaims::to_value`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CitizenClaims {
    family_name: String,
    given_name: String,
    birthdate: Date,
    sex: Sex,
    nationality: String,
    id_number: IdNumber,
    high: Option<HighClaims>,
}

impl CitizenClaims {
    /// Parses and validates claims JSON text for `level`. The size is checked before parsing.
    ///
    /// # Errors
    /// [`ClaimsError::InputTooLarge`] over [`MAX_CLAIMS_JSON_BYTES`],
    /// [`ClaimsError::MalformedJson`], [`ClaimsError::DuplicateKey`], then as
    /// [`CitizenClaims::from_value`].
    pub fn from_json(text: &str, level: Level) -> Result<CitizenClaims, ClaimsError> {
        if text.len() > MAX_CLAIMS_JSON_BYTES {
            return Err(ClaimsError::InputTooLarge {
                bytes: text.len(),
                max: MAX_CLAIMS_JSON_BYTES,
            });
        }
        let value = parse_json_strict(text).map_err(|e| match e {
            JsonError::Malformed { line, column } => ClaimsError::MalformedJson { line, column },
            JsonError::DuplicateKey { line, column } => ClaimsError::DuplicateKey { line, column },
        })?;
        CitizenClaims::from_value(&value, level)
    }

    /// Validates claims for `level`.
    ///
    /// The checks run in this order, and the first failure is returned: the value is an object;
    /// each member is known ([`ClaimsError::UnknownClaim`]), not computed
    /// ([`ClaimsError::ComputedClaim`]) and allowed at the level
    /// ([`ClaimsError::ClaimNotAllowed`]); `family_name`, `given_name`, `birthdate`, `sex`,
    /// `nationality`, `id_number` are present ([`ClaimsError::MissingClaim`]) and well-formed
    /// ([`ClaimsError::InvalidClaimValue`], [`ClaimsError::InvalidIdNumber`]); `birthdate` and
    /// `sex` agree with `id_number` ([`ClaimsError::BirthdateMismatch`],
    /// [`ClaimsError::SexMismatch`]); at high, `address`, `ethnicity`, `portrait`, `id_card` are
    /// present and well-formed (portrait errors: [`ClaimsError::PortraitTooLarge`],
    /// [`ClaimsError::PortraitNotJpeg`]).
    ///
    /// # Errors
    /// [`ClaimsError::NotAnObject`] and every variant named above.
    pub fn from_value(value: &Value, level: Level) -> Result<CitizenClaims, ClaimsError> {
        let obj = value.as_object().ok_or(ClaimsError::NotAnObject)?;
        for key in obj.keys() {
            if key == AGE_CLAIM {
                return Err(ClaimsError::ComputedClaim { name: AGE_CLAIM });
            }
            if let Some(&name) = HIGH_ONLY_CLAIMS.iter().find(|&&n| n == key) {
                if level < Level::High {
                    return Err(ClaimsError::ClaimNotAllowed { name, level });
                }
            } else if !BASIC_CLAIMS.contains(&key.as_str()) {
                return Err(unknown("", key));
            }
        }

        let family_name = text(required(obj, "family_name")?, "family_name")?;
        let given_name = text(required(obj, "given_name")?, "given_name")?;
        let birthdate = date(required(obj, "birthdate")?, "birthdate")?;
        let sex = required(obj, "sex")?
            .as_u64()
            .and_then(Sex::from_iso5218)
            .ok_or(ClaimsError::InvalidClaimValue {
                name: "sex",
                expected: SEX_EXPECTED,
            })?;
        let nationality = country(required(obj, "nationality")?, "nationality")?;
        let id_number = match required(obj, "id_number")? {
            Value::String(s) => IdNumber::parse(s)?,
            _ => {
                return Err(ClaimsError::InvalidClaimValue {
                    name: "id_number",
                    expected: ID_NUMBER_EXPECTED,
                })
            }
        };
        if birthdate != id_number.birth_date() {
            return Err(ClaimsError::BirthdateMismatch);
        }
        if sex != id_number.sex() {
            return Err(ClaimsError::SexMismatch);
        }

        let high = match level {
            Level::Basic => None,
            Level::High => Some(HighClaims {
                address: address(required(obj, "address")?)?,
                ethnicity: text(required(obj, "ethnicity")?, "ethnicity")?,
                portrait: match required(obj, "portrait")? {
                    Value::String(s) => Portrait::from_data_url(s)?,
                    _ => {
                        return Err(ClaimsError::InvalidClaimValue {
                            name: "portrait",
                            expected: "a data url string",
                        })
                    }
                },
                id_card: id_card(required(obj, "id_card")?)?,
            }),
        };

        Ok(CitizenClaims {
            family_name,
            given_name,
            birthdate,
            sex,
            nationality,
            id_number,
            high,
        })
    }

    /// The level these claims were validated for: high exactly when the high-only claims are
    /// present.
    pub fn level(&self) -> Level {
        if self.high.is_some() {
            Level::High
        } else {
            Level::Basic
        }
    }

    /// Surname (OpenID `family_name`).
    pub fn family_name(&self) -> &str {
        &self.family_name
    }
    /// Given name (OpenID `given_name`).
    pub fn given_name(&self) -> &str {
        &self.given_name
    }
    /// Date of birth; equal to the one `id_number` encodes.
    pub fn birthdate(&self) -> Date {
        self.birthdate
    }
    /// Sex; equal to the one `id_number` encodes.
    pub fn sex(&self) -> Sex {
        self.sex
    }
    /// Nationality, ISO 3166-1 alpha-2 (`CN`).
    pub fn nationality(&self) -> &str {
        &self.nationality
    }
    /// The resident identity number.
    pub fn id_number(&self) -> &IdNumber {
        &self.id_number
    }
    /// The high-only claims, `Some` exactly at [`Level::High`].
    pub fn high(&self) -> Option<&HighClaims> {
        self.high.as_ref()
    }

    /// Age in whole years on `today` (see [`age_in_years`]); `None` before the birth date.
    pub fn age(&self, today: Date) -> Option<u32> {
        age_in_years(self.birthdate, today)
    }

    /// The `age_equal_or_over` claim on `today`: one entry per [`AGE_THRESHOLDS`] value, keyed
    /// by its decimal digits (`{"16": true, "18": true, "60": false}`). Every entry is `false`
    /// before the birth date.
    pub fn age_over(&self, today: Date) -> BTreeMap<String, bool> {
        let age = self.age(today);
        AGE_THRESHOLDS
            .iter()
            .map(|&t| (t.to_string(), age.is_some_and(|a| a >= u32::from(t))))
            .collect()
    }

    /// The claims in the input form (what [`CitizenClaims::from_value`] accepts), without
    /// `age_equal_or_over`. `from_value(&c.to_value(), c.level())` gives `c` back.
    pub fn to_value(&self) -> Value {
        Value::Object(self.claims_map())
    }

    /// Every personal claim the credential carries, as issued on `today`: the input form plus the
    /// computed `age_equal_or_over`. Each top-level member is selectively disclosable, and so is
    /// each member of `address`, `id_card` and `age_equal_or_over`
    /// (see `docs/credential-format.md`).
    pub fn disclosable_claims(&self, today: Date) -> Map<String, Value> {
        let mut map = self.claims_map();
        let ages = self
            .age_over(today)
            .into_iter()
            .map(|(k, v)| (k, Value::Bool(v)))
            .collect();
        map.insert(AGE_CLAIM.into(), Value::Object(ages));
        map
    }

    fn claims_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("family_name".into(), self.family_name.clone().into());
        map.insert("given_name".into(), self.given_name.clone().into());
        map.insert("birthdate".into(), format_date(self.birthdate).into());
        map.insert("sex".into(), self.sex.iso5218().into());
        map.insert("nationality".into(), self.nationality.clone().into());
        map.insert("id_number".into(), self.id_number.as_str().into());
        if let Some(high) = &self.high {
            map.insert("address".into(), high.address.to_value());
            map.insert("ethnicity".into(), high.ethnicity.clone().into());
            map.insert("portrait".into(), high.portrait.as_data_url().into());
            map.insert("id_card".into(), high.id_card.to_value());
        }
        map
    }
}

impl Serialize for CitizenClaims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.claims_map().serialize(serializer)
    }
}

/// Shows the level and the masked id number only: the rest is personal data.
impl fmt::Debug for CitizenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CitizenClaims")
            .field("level", &self.level())
            .field("id_number", &self.id_number)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for HighClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HighClaims")
            .field("portrait", &self.portrait)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address").finish_non_exhaustive()
    }
}

impl fmt::Debug for IdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCard").finish_non_exhaustive()
    }
}

/// Age in whole years on `today` for someone born on `birthdate`; `None` when `today` is before
/// `birthdate`.
///
/// A birthday counts from its own day: on the 18th birthday the age is 18. Someone born on
/// 29 February has the birthday on 1 March in common years, so the age never runs ahead of the
/// calendar (the cautious reading for age checks, and the common-law rule of Hong Kong and
/// England).
pub fn age_in_years(birthdate: Date, today: Date) -> Option<u32> {
    if today < birthdate {
        return None;
    }
    let birthday = if birthdate.month() == Month::February
        && birthdate.day() == 29
        && !time::util::is_leap_year(today.year())
    {
        (Month::March as u8, 1)
    } else {
        (birthdate.month() as u8, birthdate.day())
    };
    let years = u32::try_from(today.year() - birthdate.year()).ok()?;
    let had_birthday = (today.month() as u8, today.day()) >= birthday;
    // With today >= birthdate, a year count of 0 always has had_birthday; checked anyway.
    if had_birthday {
        Some(years)
    } else {
        years.checked_sub(1)
    }
}

fn required<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, ClaimsError> {
    obj.get(name).ok_or(ClaimsError::MissingClaim { name })
}

fn nested<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<&'a Value, ClaimsError> {
    obj.get(key).ok_or(ClaimsError::MissingClaim { name })
}

fn unknown(prefix: &str, key: &str) -> ClaimsError {
    ClaimsError::UnknownClaim {
        name: format!("{prefix}{key}").chars().take(64).collect(),
    }
}

/// A JSON string that passes `rule`, or `InvalidClaimValue` naming `expected`.
fn string_with(
    value: &Value,
    name: &'static str,
    rule: fn(&str) -> bool,
    expected: &'static str,
) -> Result<String, ClaimsError> {
    match value {
        Value::String(s) if rule(s) => Ok(s.clone()),
        _ => Err(ClaimsError::InvalidClaimValue { name, expected }),
    }
}

fn text(value: &Value, name: &'static str) -> Result<String, ClaimsError> {
    string_with(value, name, is_text, TEXT_EXPECTED)
}

fn optional_text(
    obj: &Map<String, Value>,
    key: &str,
    name: &'static str,
) -> Result<Option<String>, ClaimsError> {
    obj.get(key).map(|v| text(v, name)).transpose()
}

fn date(value: &Value, name: &'static str) -> Result<Date, ClaimsError> {
    value
        .as_str()
        .and_then(parse_date)
        .ok_or(ClaimsError::InvalidClaimValue {
            name,
            expected: DATE_EXPECTED,
        })
}

fn country(value: &Value, name: &'static str) -> Result<String, ClaimsError> {
    string_with(value, name, is_country_code, COUNTRY_EXPECTED)
}

fn object<'a>(value: &'a Value, name: &'static str) -> Result<&'a Map<String, Value>, ClaimsError> {
    value.as_object().ok_or(ClaimsError::InvalidClaimValue {
        name,
        expected: OBJECT_EXPECTED,
    })
}

fn address(value: &Value) -> Result<Address, ClaimsError> {
    let obj = object(value, "address")?;
    if let Some(key) = obj.keys().find(|k| !ADDRESS_MEMBERS.contains(&k.as_str())) {
        return Err(unknown("address.", key));
    }
    Ok(Address {
        formatted: optional_text(obj, "formatted", "address.formatted")?,
        street_address: text(
            nested(obj, "street_address", "address.street_address")?,
            "address.street_address",
        )?,
        locality: text(
            nested(obj, "locality", "address.locality")?,
            "address.locality",
        )?,
        region: text(nested(obj, "region", "address.region")?, "address.region")?,
        postal_code: optional_text(obj, "postal_code", "address.postal_code")?,
        country: country(
            nested(obj, "country", "address.country")?,
            "address.country",
        )?,
    })
}

fn id_card(value: &Value) -> Result<IdCard, ClaimsError> {
    let obj = object(value, "id_card")?;
    if let Some(key) = obj.keys().find(|k| !ID_CARD_MEMBERS.contains(&k.as_str())) {
        return Err(unknown("id_card.", key));
    }
    let issuing_authority = text(
        nested(obj, "issuing_authority", "id_card.issuing_authority")?,
        "id_card.issuing_authority",
    )?;
    let valid_until = match nested(obj, "valid_until", "id_card.valid_until")? {
        Value::String(s) if s == LONG_TERM => CardValidity::LongTerm,
        Value::String(s) => {
            CardValidity::Until(parse_date(s).ok_or(ClaimsError::InvalidClaimValue {
                name: "id_card.valid_until",
                expected: VALIDITY_EXPECTED,
            })?)
        }
        _ => {
            return Err(ClaimsError::InvalidClaimValue {
                name: "id_card.valid_until",
                expected: VALIDITY_EXPECTED,
            })
        }
    };
    Ok(IdCard {
        issuing_authority,
        valid_until,
    })
}

#[cfg(test)]
mod tests;
